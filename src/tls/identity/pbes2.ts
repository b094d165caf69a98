// PBES2 (RFC 8018) as OpenSSL writes it, in encrypted PKCS#8 keys and in
// PKCS#12 files: PBKDF2 with HMAC-SHA-1/-224/-256/-384/-512, then AES-CBC.
// Older password-based encryptions (PBES1, PKCS#12's own 3DES and RC2) are
// refused with the command that re-encrypts the file.
import { cbc } from "@noble/ciphers/aes.js";
import type * as asn1js from "asn1js";
import { sha1 } from "@noble/hashes/legacy.js";
import { pbkdf2 } from "@noble/hashes/pbkdf2.js";
import { sha224, sha256, sha384, sha512 } from "@noble/hashes/sha2.js";

import { contextTag, elements, octets, oid, smallInteger } from "./der.js";
import { readOr, refuse } from "./refusal.js";

const PBES2 = "1.2.840.113549.1.5.13";
const PBKDF2 = "1.2.840.113549.1.5.12";
const PRFS = {
  "1.2.840.113549.2.7": sha1,
  "1.2.840.113549.2.8": sha224,
  "1.2.840.113549.2.9": sha256,
  "1.2.840.113549.2.10": sha384,
  "1.2.840.113549.2.11": sha512,
};
/** AES-CBC key lengths by OID. */
const AES_CBC: Record<string, number> = {
  "2.16.840.1.101.3.4.1.2": 16,
  "2.16.840.1.101.3.4.1.22": 24,
  "2.16.840.1.101.3.4.1.42": 32,
};
/** The legacy schemes people meet, named for the message that refuses them. */
const LEGACY: Record<string, string> = {
  "1.2.840.113549.1.12.1.1": "pbeWithSHAAnd128BitRC4",
  "1.2.840.113549.1.12.1.2": "pbeWithSHAAnd40BitRC4",
  "1.2.840.113549.1.12.1.3": "pbeWithSHAAnd3-KeyTripleDES-CBC",
  "1.2.840.113549.1.12.1.4": "pbeWithSHAAnd2-KeyTripleDES-CBC",
  "1.2.840.113549.1.12.1.5": "pbeWithSHAAnd128BitRC2-CBC",
  "1.2.840.113549.1.12.1.6": "pbeWithSHAAnd40BitRC2-CBC",
  "1.2.840.113549.1.5.3": "pbeWithMD5AndDES-CBC",
  "1.2.840.113549.1.5.10": "pbeWithSHA1AndDES-CBC",
};
/**
 * PBKDF2 and MAC iterations that reading one identity may cost in all, however many encrypted parts its file
 * holds: far more than any tool writes by default (OpenSSL: 2,048 per part), and the bound on the time a hostile
 * file can take.
 */
const ITERATION_BUDGET = 2_000_000;

/** What is left of one identity's ITERATION_BUDGET. */
export interface IterationBudget {
  left: number;
}

export function iterationBudget(): IterationBudget {
  return { left: ITERATION_BUDGET };
}

/** Takes `iterations` from `budget`; refuses a count below 1 or beyond what is left. */
export function spend(budget: IterationBudget, iterations: number, what: string, convert: string): void {
  if (iterations < 1 || iterations > budget.left) {
    refuse(
      `${what} asks for ${iterations} iterations of its key derivation; pinned-fetch allows 1 to ${ITERATION_BUDGET} ` +
        `for one identity in all. ${convert}`,
    );
  }
  budget.left -= iterations;
}

/**
 * Decrypts `encrypted` under the AlgorithmIdentifier `algorithm` with the
 * password's bytes. `what` names the thing for messages ("the key", "the
 * PKCS#12 file") and `convert` is the sentence that says how to re-encrypt it.
 * A wrong password is refused when the CBC padding does not check out; the
 * caller also refuses it when the plaintext does not parse.
 */
export function decryptPbes2(
  algorithm: asn1js.AsnType,
  encrypted: Uint8Array,
  password: Uint8Array,
  what: string,
  convert: string,
  budget: IterationBudget,
): Uint8Array<ArrayBuffer> {
  const [scheme, parameters] = readOr(`${what} has an unreadable encryption algorithm.`, () => elements(algorithm));
  const schemeOid = readOr(`${what} has an unreadable encryption algorithm.`, () => oid(scheme));
  if (schemeOid !== PBES2) {
    const name = LEGACY[schemeOid] ?? `the encryption ${schemeOid}`;
    refuse(`${what} is encrypted with ${name}, a legacy encryption pinned-fetch does not read. ${convert}`);
  }
  const { salt, iterations, prf, keyLength, iv } = readOr(`${what} has unreadable PBES2 parameters.`, () =>
    pbes2Parameters(parameters, what, convert),
  );
  spend(budget, iterations, what, convert);
  const key = pbkdf2(prf, password, salt, { c: iterations, dkLen: keyLength });
  try {
    return cbc(key, iv).decrypt(encrypted) as Uint8Array<ArrayBuffer>;
  } catch {
    return refuse(`the passphrase of ${what} is wrong (it does not decrypt).`);
  } finally {
    key.fill(0);
  }
}

function pbes2Parameters(parameters: asn1js.AsnType | undefined, what: string, convert: string) {
  const [kdf, cipher] = elements(parameters);
  const [kdfOid, kdfParameters] = elements(kdf);
  const [cipherOid, iv] = elements(cipher);
  if (oid(kdfOid) !== PBKDF2) {
    refuse(`${what} is encrypted with a key derivation other than PBKDF2 (${oid(kdfOid)}). ${convert}`);
  }
  const keyLength = AES_CBC[oid(cipherOid)];
  if (keyLength === undefined)
    refuse(`${what} is encrypted with a cipher other than AES-CBC (${oid(cipherOid)}). ${convert}`);
  // PBKDF2-params: salt (specified), iterationCount, keyLength OPTIONAL, prf DEFAULT hmacWithSHA1.
  const [salt, count, ...rest] = elements(kdfParameters);
  const given = rest.find((field) => contextTag(field) === null && field.idBlock.tagNumber === 2);
  if (given && smallInteger(given) !== keyLength) throw new Error("key length mismatch");
  const prfAlgorithm = rest.find((field) => field.idBlock.tagNumber === 16);
  const prfOid = prfAlgorithm ? oid(elements(prfAlgorithm)[0]) : "1.2.840.113549.2.7";
  const prf = PRFS[prfOid as keyof typeof PRFS];
  if (!prf) refuse(`${what} is encrypted with PBKDF2 under a hash other than SHA-1 or SHA-2 (${prfOid}). ${convert}`);
  const ivBytes = octets(iv);
  if (ivBytes.length !== 16) throw new Error("not an AES IV");
  const iterations = smallInteger(count);
  if (iterations < 1) throw new Error("no iterations");
  return { salt: octets(salt), iterations, prf, keyLength, iv: ivBytes };
}
