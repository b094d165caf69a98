// PKCS#12 files (RFC 7292) as OpenSSL 3 writes them by default: the
// certificates in a PBES2-encrypted safe, the key in a PBES2-shrouded bag,
// and a MAC keyed by the PKCS#12 KDF. The MAC proves the passphrase before
// anything is decrypted; legacy encryptions are refused after it, with the
// command that converts the file.
import { hmac } from "@noble/hashes/hmac.js";
import { sha1 } from "@noble/hashes/legacy.js";
import { sha224, sha256, sha384, sha512 } from "@noble/hashes/sha2.js";
import type * as asn1js from "asn1js";

import { sameBytes } from "../../encoding.js";
import { contextTag, elements, explicit, octets, oid, parseDer, smallInteger } from "./der.js";
import { type IterationBudget, decryptPbes2, iterationBudget, spend } from "./pbes2.js";
import { MAC_KEY, pkcs12Kdf } from "./pkcs12-kdf.js";
import { readOr, refuse } from "./refusal.js";

export interface Pkcs12Contents {
  /** The PKCS#8 DER of the one private key. */
  key: Uint8Array<ArrayBuffer>;
  /** The key's localKeyId attribute, if it has one. */
  keyId: Uint8Array | null;
  /** The X.509 certificates, in the file's order, each with its localKeyId. */
  certificates: { der: Uint8Array<ArrayBuffer>; keyId: Uint8Array | null }[];
}

/** How to turn a legacy file into one this reader takes, for the messages that refuse one. */
const CONVERT_PKCS12 =
  "Convert it with `openssl pkcs12 -legacy -in old.p12 -nodes -out identity.pem && " +
  "openssl pkcs12 -export -in identity.pem -out new.p12 && rm identity.pem` (OpenSSL 3), and use new.p12.";

const WHAT = "the PKCS#12 file";
const UNREADABLE = `${WHAT} is not a readable PKCS#12 (PFX) file.`;
const DATA = "1.2.840.113549.1.7.1";
const ENCRYPTED_DATA = "1.2.840.113549.1.7.6";
const KEY_BAG = "1.2.840.113549.1.12.10.1.1";
const SHROUDED_KEY_BAG = "1.2.840.113549.1.12.10.1.2";
const CERT_BAG = "1.2.840.113549.1.12.10.1.3";
const X509_CERTIFICATE = "1.2.840.113549.1.9.22.1";
const LOCAL_KEY_ID = "1.2.840.113549.1.9.21";
const MAC_HASHES = {
  "1.3.14.3.2.26": sha1,
  "2.16.840.1.101.3.4.2.4": sha224,
  "2.16.840.1.101.3.4.2.1": sha256,
  "2.16.840.1.101.3.4.2.2": sha384,
  "2.16.840.1.101.3.4.2.3": sha512,
};

export function readPkcs12(pfx: Uint8Array<ArrayBuffer>, passphrase: string): Pkcs12Contents {
  const { authSafe, macData } = readOr(UNREADABLE, () => {
    const [version, authSafe, macData] = elements(parseDer(pfx));
    if (smallInteger(version) !== 3) throw new Error("not PKCS#12 version 3");
    return { authSafe: contentOf(authSafe, DATA), macData };
  });
  // One budget for the MAC and every encrypted part: a file cannot multiply its cost by holding many.
  const budget = iterationBudget();
  if (macData) checkMac(macData, authSafe, passphrase, budget);
  // PBES2 inside PKCS#12 takes the password as its UTF-8 bytes, as OpenSSL does (the MAC takes a BMPString).
  const password = new TextEncoder().encode(passphrase);
  const contents: Pkcs12Contents = { key: new Uint8Array(0), keyId: null, certificates: [] };
  let keys = 0;
  try {
    readOr(UNREADABLE, () => {
      for (const safe of elements(parseDer(authSafe))) {
        const encrypted = oid(elements(safe)[0]) === ENCRYPTED_DATA;
        const safeContents = encrypted ? decryptSafe(safe, password, budget) : contentOf(safe, DATA);
        try {
          for (const bag of elements(parseDer(safeContents))) {
            // SafeBag: bagId, [0] EXPLICIT bagValue, bagAttributes OPTIONAL.
            const [bagType, bagValue, attributes] = elements(bag);
            const bagId = oid(bagType);
            const keyId = localKeyId(attributes);
            if (bagId === CERT_BAG) {
              const der = certificateOf(explicit(bagValue!));
              if (der) contents.certificates.push({ der, keyId });
            } else if (bagId === KEY_BAG || bagId === SHROUDED_KEY_BAG) {
              if (++keys > 1) refuse(`${WHAT} holds more than one private key; give a file with one.`);
              contents.key =
                bagId === KEY_BAG
                  ? explicit(bagValue!).valueBeforeDecodeView.slice()
                  : unshroud(bagValue!, password, budget);
              contents.keyId = keyId;
            }
          }
        } finally {
          if (encrypted) safeContents.fill(0);
        }
      }
    });
  } catch (error) {
    contents.key.fill(0);
    throw error;
  } finally {
    password.fill(0);
  }
  if (keys === 0) refuse(`${WHAT} holds no private key.`);
  return contents;
}

/** The content of a ContentInfo of type `type`: for data, the OCTET STRING's bytes. */
function contentOf(contentInfo: asn1js.AsnType | undefined, type: string): Uint8Array<ArrayBuffer> {
  const [contentType, content] = elements(contentInfo);
  if (oid(contentType) !== type || contextTag(content!) !== 0) throw new Error("unexpected content type");
  return octets(explicit(content!));
}

/**
 * Verifies the MAC over the authenticated safe. No passphrase is the empty
 * password, which OpenSSL writes as an empty BMPString (two zero bytes) or as
 * no bytes at all: both are tried, as OpenSSL does.
 */
function checkMac(macData: asn1js.AsnType, authSafe: Uint8Array, passphrase: string, budget: IterationBudget): void {
  const { hashOid, digest, salt, iterations } = readOr(`${WHAT} has an unreadable MAC.`, () => {
    const [mac, salt, iterations] = elements(macData);
    const [algorithm, digest] = elements(mac);
    return {
      hashOid: oid(elements(algorithm)[0]),
      digest: octets(digest),
      salt: octets(salt),
      iterations: iterations ? smallInteger(iterations) : 1,
    };
  });
  const hash = MAC_HASHES[hashOid as keyof typeof MAC_HASHES];
  if (!hash) refuse(`${WHAT} has a MAC of a kind pinned-fetch does not read (${hashOid}). ${CONVERT_PKCS12}`);
  const passwords = passphrase === "" ? [new Uint8Array(2), new Uint8Array(0)] : [bmpString(passphrase)];
  const verified = passwords.some((password) => {
    spend(budget, iterations, `the MAC of ${WHAT}`, CONVERT_PKCS12);
    const key = pkcs12Kdf(hash, password, salt, MAC_KEY, iterations, hash.outputLen);
    const expected = hmac(hash, key, authSafe);
    key.fill(0);
    password.fill(0);
    return sameBytes(expected, digest);
  });
  if (!verified) {
    refuse(
      passphrase === ""
        ? `${WHAT} is protected by a passphrase and none was given (its MAC does not verify without one).`
        : `the passphrase of ${WHAT} is wrong (its MAC does not verify).`,
    );
  }
}

/** The decrypted SafeContents of an EncryptedData ContentInfo. */
function decryptSafe(
  contentInfo: asn1js.AsnType,
  password: Uint8Array,
  budget: IterationBudget,
): Uint8Array<ArrayBuffer> {
  const [, content] = elements(contentInfo);
  // EncryptedData: version, EncryptedContentInfo { contentType, algorithm, [0] IMPLICIT encryptedContent }.
  const [, encryptedContentInfo] = elements(explicit(content!));
  const [, algorithm, encrypted] = elements(encryptedContentInfo);
  return decrypted(decryptPbes2(algorithm!, octets(encrypted, 0), password, WHAT, CONVERT_PKCS12, budget));
}

/** The PKCS#8 DER of a pkcs8ShroudedKeyBag's EncryptedPrivateKeyInfo. */
function unshroud(bagValue: asn1js.AsnType, password: Uint8Array, budget: IterationBudget): Uint8Array<ArrayBuffer> {
  const [algorithm, encrypted] = elements(explicit(bagValue));
  return decrypted(decryptPbes2(algorithm!, octets(encrypted), password, `the key in ${WHAT}`, CONVERT_PKCS12, budget));
}

/**
 * Decrypted bytes that must be DER: when they are not, the padding checked out by chance and the passphrase
 * is wrong (only a file without a MAC gets this far with a wrong one).
 */
function decrypted(plaintext: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  try {
    parseDer(plaintext);
    return plaintext;
  } catch {
    plaintext.fill(0);
    return refuse(`the passphrase of ${WHAT} is wrong (it does not decrypt).`);
  }
}

/** The DER of an X.509 certBag's certificate; null for other kinds of certificate. */
function certificateOf(certBag: asn1js.AsnType): Uint8Array<ArrayBuffer> | null {
  const [certId, certValue] = elements(certBag);
  return oid(certId) === X509_CERTIFICATE ? octets(explicit(certValue!)).slice() : null;
}

function localKeyId(attributes: asn1js.AsnType | undefined): Uint8Array | null {
  for (const attribute of attributes ? elements(attributes) : []) {
    const [type, values] = elements(attribute);
    if (oid(type) === LOCAL_KEY_ID) return octets(elements(values)[0]).slice();
  }
  return null;
}

/** A password as the PKCS#12 KDF takes it: UTF-16 big-endian with a closing zero code unit. */
function bmpString(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length * 2 + 2);
  for (let i = 0; i < text.length; i++) {
    bytes[i * 2] = text.charCodeAt(i) >> 8;
    bytes[i * 2 + 1] = text.charCodeAt(i) & 0xff;
  }
  return bytes;
}
