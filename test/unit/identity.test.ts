// givenIdentity and readClientIdentity against files OpenSSL 3 wrote (test/unit/fixtures/identity, made by the commands in
// its README) and PKCS#12 files test/support/pkcs12.ts builds with pkijs: every format and key type it
// reads, every refusal with its advice, and that no message, JSON or inspection shows any of a key.
import { readFileSync } from "node:fs";
import { inspect } from "node:util";

import { sha1 } from "@noble/hashes/legacy.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { describe, expect, it } from "vitest";

import { PinnedFetchError } from "../../src/errors.js";
import { givenIdentity } from "../../src/tls/identity/given.js";
import { ClientIdentity, readClientIdentity } from "../../src/tls/identity/identity.js";
import { MAC_KEY, pkcs12Kdf } from "../../src/tls/identity/pkcs12-kdf.js";
import { buildPkcs12 } from "../support/pkcs12.js";

const FIXTURES = new URL("./fixtures/identity/", import.meta.url);
const PASSPHRASE = "correct horse battery staple";
const LABEL = 'clientCertificates["api.example.com"]';

const text = (name: string): string => readFileSync(new URL(name, FIXTURES), "utf8");
const bytes = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(name, FIXTURES)));

/** The DER of each block of a PEM file, in order. */
function pemDers(name: string): Buffer[] {
  return [...text(name).matchAll(/-----BEGIN [A-Z ]+-----([\s\S]*?)-----END/g)].map(([, body]) =>
    Buffer.from(body!.replace(/\s+/g, ""), "base64"),
  );
}

/** The PKCS#8 DER of an unencrypted fixture key (the same key as its other forms). */
const pkcs8 = (key: string): Buffer => pemDers(`${key}.key`)[0]!;
const certificate = (name: string): Buffer => pemDers(`${name}.pem`)[0]!;

/** As pinned-fetch reads an option: its shape checked and copied (givenIdentity), then read. */
function read(given: unknown): ClientIdentity {
  return readClientIdentity(givenIdentity(given, LABEL), LABEL);
}

/** The key DER an identity lends, copied out. */
function lentKey(identity: ClientIdentity): { format: string; der: Buffer } {
  return identity.withKey((format, der) => ({ format, der: Buffer.from(der) }));
}

describe("readClientIdentity reads", () => {
  // [what, given, key type, key form, the key's fixture, the leaf's fixture, the rest of the chain]
  const cases: [string, () => unknown, string, string, string, string, string[]][] = [
    [
      "RSA 2048, PKCS#8",
      () => ({ cert: text("rsa2048.pem"), key: text("rsa2048.key") }),
      "RSA 2048",
      "pkcs8",
      "rsa2048",
      "rsa2048",
      [],
    ],
    [
      "RSA 4096, PKCS#8",
      () => ({ cert: text("rsa4096.pem"), key: text("rsa4096.key") }),
      "RSA 4096",
      "pkcs8",
      "rsa4096",
      "rsa4096",
      [],
    ],
    [
      "P-256, PKCS#8",
      () => ({ cert: text("p256.pem"), key: text("p256.key") }),
      "ECDSA P-256",
      "pkcs8",
      "p256",
      "p256",
      [],
    ],
    [
      "P-384, PKCS#8",
      () => ({ cert: text("p384.pem"), key: text("p384.key") }),
      "ECDSA P-384",
      "pkcs8",
      "p384",
      "p384",
      [],
    ],
    [
      "Ed25519, PKCS#8",
      () => ({ cert: text("ed25519.pem"), key: text("ed25519.key") }),
      "Ed25519",
      "pkcs8",
      "ed25519",
      "ed25519",
      [],
    ],
    [
      "RSA 2048, PKCS#1",
      () => ({ cert: text("rsa2048.pem"), key: text("rsa2048.pkcs1.key") }),
      "RSA 2048",
      "pkcs1",
      "rsa2048.pkcs1",
      "rsa2048",
      [],
    ],
    [
      "P-256, SEC1",
      () => ({ cert: text("p256.pem"), key: text("p256.sec1.key") }),
      "ECDSA P-256",
      "sec1",
      "p256.sec1",
      "p256",
      [],
    ],
    [
      "P-384, SEC1",
      () => ({ cert: text("p384.pem"), key: text("p384.sec1.key") }),
      "ECDSA P-384",
      "sec1",
      "p384.sec1",
      "p384",
      [],
    ],
    [
      "P-256, SEC1 after EC PARAMETERS (openssl ecparam -genkey)",
      () => ({ cert: text("p256-ecparam.pem"), key: text("p256-ecparam.key") }),
      "ECDSA P-256",
      "sec1",
      "p256-ecparam#1",
      "p256-ecparam",
      [],
    ],
    [
      "RSA 2048, encrypted PKCS#8 (AES-256-CBC, HMAC-SHA256)",
      () => ({ cert: text("rsa2048.pem"), key: text("rsa2048.enc.key"), passphrase: PASSPHRASE }),
      "RSA 2048",
      "pkcs8",
      "rsa2048",
      "rsa2048",
      [],
    ],
    [
      "RSA 4096, encrypted PKCS#8 (AES-256-CBC, HMAC-SHA224)",
      () => ({ cert: text("rsa4096.pem"), key: text("rsa4096.enc.key"), passphrase: PASSPHRASE }),
      "RSA 4096",
      "pkcs8",
      "rsa4096",
      "rsa4096",
      [],
    ],
    [
      "P-256, encrypted PKCS#8 (AES-128-CBC, HMAC-SHA1)",
      () => ({ cert: text("p256.pem"), key: text("p256.enc.key"), passphrase: PASSPHRASE }),
      "ECDSA P-256",
      "pkcs8",
      "p256",
      "p256",
      [],
    ],
    [
      "P-384, encrypted PKCS#8 (AES-192-CBC, HMAC-SHA512)",
      () => ({ cert: text("p384.pem"), key: text("p384.enc.key"), passphrase: PASSPHRASE }),
      "ECDSA P-384",
      "pkcs8",
      "p384",
      "p384",
      [],
    ],
    [
      "Ed25519, encrypted PKCS#8 (AES-256-CBC, HMAC-SHA384)",
      () => ({ cert: text("ed25519.pem"), key: text("ed25519.enc.key"), passphrase: PASSPHRASE }),
      "Ed25519",
      "pkcs8",
      "ed25519",
      "ed25519",
      [],
    ],
    [
      "PEM as bytes, with intermediates after the leaf",
      () => ({
        cert: new TextEncoder().encode(text("p256.pem") + text("intermediate.pem") + text("root.pem")),
        key: readFileSync(new URL("p256.key", FIXTURES)),
      }),
      "ECDSA P-256",
      "pkcs8",
      "p256",
      "p256",
      ["intermediate", "root"],
    ],
    [
      "PEM with CRLF line ends",
      () => ({
        cert: text("rsa2048.pem").replace(/\n/g, "\r\n"),
        key: text("rsa2048.enc.key").replace(/\n/g, "\r\n"),
        passphrase: PASSPHRASE,
      }),
      "RSA 2048",
      "pkcs8",
      "rsa2048",
      "rsa2048",
      [],
    ],
    [
      "one PEM file as both cert and key (what openssl pkcs12 -nodes prints)",
      () => ({ cert: text("rsa2048.identity.pem"), key: text("rsa2048.identity.pem") }),
      "RSA 2048",
      "pkcs8",
      "rsa2048",
      "rsa2048",
      ["intermediate", "root"],
    ],
    [
      "PKCS#12, RSA 2048 with intermediates",
      () => ({ pfx: bytes("rsa2048.p12"), passphrase: PASSPHRASE }),
      "RSA 2048",
      "pkcs8",
      "rsa2048",
      "rsa2048",
      ["intermediate", "root"],
    ],
    [
      "PKCS#12, RSA 4096 with intermediates, as an ArrayBuffer",
      () => ({ pfx: bytes("rsa4096.p12").buffer, passphrase: PASSPHRASE }),
      "RSA 4096",
      "pkcs8",
      "rsa4096",
      "rsa4096",
      ["intermediate", "root"],
    ],
    [
      "PKCS#12, P-256 alone, as a Buffer",
      () => ({ pfx: readFileSync(new URL("p256.p12", FIXTURES)), passphrase: PASSPHRASE }),
      "ECDSA P-256",
      "pkcs8",
      "p256",
      "p256",
      [],
    ],
    [
      "PKCS#12, P-384 with an empty password and no passphrase given",
      () => ({ pfx: bytes("p384.empty.p12") }),
      "ECDSA P-384",
      "pkcs8",
      "p384",
      "p384",
      ["intermediate"],
    ],
    [
      "PKCS#12, P-384 with an empty password given as such",
      () => ({ pfx: bytes("p384.empty.p12"), passphrase: "" }),
      "ECDSA P-384",
      "pkcs8",
      "p384",
      "p384",
      ["intermediate"],
    ],
    [
      "PKCS#12, Ed25519",
      () => ({ pfx: bytes("ed25519.p12"), passphrase: PASSPHRASE }),
      "Ed25519",
      "pkcs8",
      "ed25519",
      "ed25519",
      [],
    ],
    [
      "PKCS#12 without encryption (a plain key bag)",
      () => ({ pfx: bytes("p256.plain.p12"), passphrase: PASSPHRASE }),
      "ECDSA P-256",
      "pkcs8",
      "p256",
      "p256",
      [],
    ],
    [
      "PKCS#12 without a MAC",
      () => ({ pfx: bytes("rsa2048.nomac.p12"), passphrase: PASSPHRASE }),
      "RSA 2048",
      "pkcs8",
      "rsa2048",
      "rsa2048",
      [],
    ],
  ];

  for (const [what, given, keyType, format, key, leaf, rest] of cases) {
    it(what, () => {
      const identity = read(given());
      expect(identity.keyType).toBe(keyType);
      expect(identity.subject).toBe(`CN=client ${leaf}, O=pinned-fetch tests`);
      expect(identity.chain.map((der) => Buffer.from(der))).toEqual([leaf, ...rest].map(certificate));
      const [file, block] = key.split("#");
      expect(lentKey(identity)).toEqual({ format, der: pemDers(`${file}.key`)[Number(block ?? 0)] });
    });
  }
});

describe("an Ed25519 key in PKCS#8 v2 (RFC 5958), which carries its public key", () => {
  /** ed25519.key as a OneAsymmetricKey v2 with `publicKey` as its [1] public key, in PEM. */
  function v2Key(publicKey: Buffer): string {
    const v1 = pkcs8("ed25519");
    // v1: 30 2e 02 01 00 <algorithm 30 05 ...> <private key 04 22 04 20 ...>; v2 sets the version to 1 and adds
    // [1] IMPLICIT BIT STRING (81 21 00 <key>).
    const body = Buffer.concat([
      Buffer.from([0x02, 0x01, 0x01]),
      v1.subarray(5),
      Buffer.from([0x81, 0x21, 0x00]),
      publicKey,
    ]);
    const der = Buffer.concat([Buffer.from([0x30, body.length]), body]);
    return `-----BEGIN PRIVATE KEY-----\n${der.toString("base64")}\n-----END PRIVATE KEY-----\n`;
  }

  it("is read when the public key is the certificate's", () => {
    // The certificate's SubjectPublicKeyInfo: its fixed prefix, then the 32-byte key.
    const spkiPrefix = Buffer.from("302a300506032b6570032100", "hex");
    const der = certificate("ed25519");
    const at = der.indexOf(spkiPrefix) + spkiPrefix.length;
    const publicKey = der.subarray(at, at + 32);
    const identity = read({ cert: text("ed25519.pem"), key: v2Key(publicKey) });
    expect(identity.keyType).toBe("Ed25519");
    const altered = Buffer.from(publicKey);
    altered[0]! ^= 1;
    expect(() => read({ cert: text("ed25519.pem"), key: v2Key(altered) })).toThrow(
      "the key does not belong to the certificate (CN=client ed25519, O=pinned-fetch tests)",
    );
  });
});

describe("PKCS#12 files built by test/support/pkcs12.ts (pkijs, OpenSSL 3's default format)", () => {
  const cases: [string, string, string, string[], boolean][] = [
    ["P-256 with its intermediate", "p256", "a passphrase", ["p256", "intermediate"], true],
    ["RSA 2048 with an empty password", "rsa2048", "", ["rsa2048"], true],
    ["Ed25519, non-ASCII password", "ed25519", "pässwörd ✓", ["ed25519"], true],
    ["P-384, the leaf last and no localKeyId", "p384", "x", ["intermediate", "root", "p384"], false],
  ];
  for (const [what, key, password, certificates, localKeyId] of cases) {
    it(what, async () => {
      const pfx = await buildPkcs12({
        keyPkcs8Der: pkcs8(key),
        certificateDers: certificates.map(certificate),
        password,
        localKeyId,
      });
      const identity = read({ pfx, ...(password ? { passphrase: password } : {}) });
      expect(identity.subject).toBe(`CN=client ${key}, O=pinned-fetch tests`);
      const leafFirst = [key, ...certificates.filter((name) => name !== key)];
      expect(identity.chain.map((der) => Buffer.from(der))).toEqual(leafFirst.map(certificate));
      expect(lentKey(identity)).toEqual({ format: "pkcs8", der: pkcs8(key) });
      expect(() => read({ pfx, passphrase: `${password}!` })).toThrow(/passphrase of the PKCS#12 file is wrong/);
    });
  }
});

describe("the PKCS#12 key derivation (RFC 7292 appendix B)", () => {
  /** A password as the KDF takes it: UTF-16BE and a closing zero. */
  const bmp = (password: string) => new Uint8Array(Buffer.from(`${password}\0`, "utf16le").swap16());
  const hex = (value: string) => new Uint8Array(Buffer.from(value, "hex"));
  // The vectors OpenSSL's, Bouncy Castle's and wolfSSL's tests share ("smeg", "queeg"; SHA-1).
  const vectors: [string, string, number, number, number, string][] = [
    ["smeg", "0A58CF64530D823F", 1, 1, 24, "8AAAE6297B6CB04642AB5B077851284EB7128F1A2A7FBCA3"],
    ["smeg", "0A58CF64530D823F", 2, 1, 8, "79993DFE048D3B76"],
    ["smeg", "3D83C0E4546AC140", MAC_KEY, 1, 20, "8D967D88F6CAA9D714800AB3D48051D63F73A312"],
    ["queeg", "1682C0FC5B3F7EC5", 1, 1000, 24, "483DD6E919D7DE2E8E648BA8F862F3FBFBDC2BCB2C02957F"],
  ];
  for (const [password, salt, id, iterations, length, expected] of vectors) {
    it(`"${password}", id ${id}, ${iterations} iteration(s), ${length} bytes`, () => {
      expect(Buffer.from(pkcs12Kdf(sha1, bmp(password), hex(salt), id, iterations, length)).toString("hex")).toBe(
        expected.toLowerCase(),
      );
    });
  }

  it("with SHA-256, checked by the MAC of every OpenSSL 3 file above (and one more byte than a block)", () => {
    const derived = pkcs12Kdf(sha256, bmp("smeg"), hex("0A58CF64530D823F"), MAC_KEY, 1, 33);
    expect(derived.length).toBe(33);
    expect(Buffer.from(derived.subarray(0, 32))).toEqual(
      Buffer.from(pkcs12Kdf(sha256, bmp("smeg"), hex("0A58CF64530D823F"), MAC_KEY, 1, 32)),
    );
  });
});

/** What readClientIdentity throws for `given`. */
function refusal(given: unknown): PinnedFetchError {
  try {
    read(given);
  } catch (error) {
    return error as PinnedFetchError;
  }
  throw new Error("the identity was accepted");
}

const CONVERT_PKCS12 =
  "`openssl pkcs12 -legacy -in old.p12 -nodes -out identity.pem && openssl pkcs12 -export -in identity.pem -out new.p12 && rm identity.pem`";
const CONVERT_KEY = "`openssl pkcs8 -topk8 -v2 aes-256-cbc -in old.key -out new.key`";
const ACCEPTED = "It accepts RSA of 2048 to 4096 bits, ECDSA P-256 or P-384, or Ed25519.";

describe("readClientIdentity refuses with ERR_CONFIG", () => {
  const cert = () => text("p256.pem");
  const key = () => text("p256.key");
  const garbageBlock = (label: string) => `-----BEGIN ${label}-----\nAAAA\n-----END ${label}-----\n`;
  const cases: [string, () => unknown, string | RegExp][] = [
    ["not an object", () => "cert.pem", "an identity is { cert, key, passphrase? }"],
    ["an unknown field", () => ({ cert: cert(), key: key(), password: PASSPHRASE }), 'unknown field "password"'],
    ["both pfx and cert", () => ({ pfx: bytes("p256.p12"), cert: cert(), key: key() }), "not both"],
    ["cert without key", () => ({ cert: cert() }), "both cert and key are needed"],
    [
      "a passphrase that is not a string",
      () => ({ cert: cert(), key: key(), passphrase: 1234 }),
      "passphrase must be a string",
    ],
    ["pfx as text", () => ({ pfx: "MIIK..." }), "pfx must be the PKCS#12 file's bytes"],
    ["cert of another type", () => ({ cert: 42, key: key() }), "cert must be PEM text"],
    ["cert too large", () => ({ cert: "x".repeat(2 << 20), key: key() }), /cert is larger than \d+ bytes/],
    ["no PEM certificate", () => ({ cert: key(), key: key() }), "cert holds no PEM certificate (a block that starts"],
    ["a DER certificate", () => ({ cert: certificate("p256"), key: key() }), "openssl x509 -inform DER"],
    [
      "a block that is not base64",
      () => ({ cert: "-----BEGIN CERTIFICATE-----\n*not base64*\n-----END CERTIFICATE-----", key: key() }),
      "cert has a CERTIFICATE block that is not base64",
    ],
    [
      "a certificate that is not X.509",
      () => ({ cert: garbageBlock("CERTIFICATE"), key: key() }),
      "a certificate is not a valid X.509 certificate",
    ],
    ["no key", () => ({ cert: cert(), key: cert() }), "key holds no PEM private key"],
    ["a DER key", () => ({ cert: cert(), key: pkcs8("p256") }), "openssl pkey -inform DER"],
    ["two keys", () => ({ cert: cert(), key: key() + text("rsa2048.key") }), "key holds 2 private keys"],
    ["a key that is not one", () => ({ cert: cert(), key: garbageBlock("PRIVATE KEY") }), "the key is not a readable"],
    [
      "an OpenSSH key",
      () => ({ cert: cert(), key: garbageBlock("OPENSSH PRIVATE KEY") }),
      "key is a OPENSSH PRIVATE KEY block",
    ],
    [
      "an encrypted key without passphrase",
      () => ({ cert: text("rsa2048.pem"), key: text("rsa2048.enc.key") }),
      "the key is encrypted and no passphrase was given",
    ],
    [
      "an encrypted key with a wrong passphrase",
      () => ({ cert: text("rsa2048.pem"), key: text("rsa2048.enc.key"), passphrase: "Tr0ub4dor&3" }),
      "the passphrase of the key is wrong",
    ],
    [
      "legacy PEM encryption",
      () => ({ cert: text("rsa2048.pem"), key: text("rsa2048.legacy-pem.key"), passphrase: PASSPHRASE }),
      `"Proc-Type: 4,ENCRYPTED"), which pinned-fetch does not read. Convert it with ${CONVERT_KEY}`,
    ],
    [
      "PBES1 encryption",
      () => ({ cert: text("rsa2048.pem"), key: text("rsa2048.pbes1.key"), passphrase: PASSPHRASE }),
      `pbeWithSHAAnd3-KeyTripleDES-CBC, a legacy encryption pinned-fetch does not read. Convert it with ${CONVERT_KEY}`,
    ],
    [
      "RSA 1024",
      () => ({ cert: text("rsa1024.pem"), key: text("rsa1024.key") }),
      `the key is RSA 1024, which pinned-fetch cannot sign with. ${ACCEPTED}`,
    ],
    [
      "RSA 4160",
      () => ({ cert: text("rsa4160.pem"), key: text("rsa4160.key") }),
      `the key is RSA 4160, which pinned-fetch cannot sign with. ${ACCEPTED}`,
    ],
    [
      "P-521",
      () => ({ cert: text("p521.pem"), key: text("p521.key") }),
      `the key is ECDSA P-521, which pinned-fetch cannot sign with. ${ACCEPTED}`,
    ],
    [
      "Ed448",
      () => ({ cert: text("ed448.pem"), key: text("ed448.key") }),
      `the key is Ed448, which pinned-fetch cannot sign with. ${ACCEPTED}`,
    ],
    [
      "DSA",
      () => ({ cert: text("dsa.pem"), key: text("dsa.key") }),
      `the key is DSA, which pinned-fetch cannot sign with. ${ACCEPTED}`,
    ],
    [
      "another P-256 certificate's key",
      () => ({ cert: text("p256-other.pem"), key: key() }),
      "the key does not belong to the certificate (CN=client p256-other, O=pinned-fetch tests). Put the certificate of the key first in cert.",
    ],
    [
      "another RSA 2048 certificate's key",
      () => ({ cert: text("rsa2048-other.pem"), key: text("rsa2048.pkcs1.key") }),
      "the key does not belong to the certificate (CN=client rsa2048-other, O=pinned-fetch tests)",
    ],
    [
      "the chain in the wrong order",
      () => ({ cert: text("intermediate.pem") + cert(), key: key() }),
      "the key does not belong to the certificate (CN=identity intermediate, O=pinned-fetch tests)",
    ],
    [
      "an RSA key for an RSA certificate of another size",
      () => ({ cert: text("rsa4096.pem"), key: text("rsa2048.key") }),
      "the key is RSA 2048 but the certificate (CN=client rsa4096, O=pinned-fetch tests) holds RSA 4096",
    ],
    [
      "a P-256 key for an RSA certificate",
      () => ({ cert: text("rsa2048.pem"), key: key() }),
      "the key is ECDSA P-256 but the certificate (CN=client rsa2048, O=pinned-fetch tests) holds RSA 2048",
    ],
    [
      "an Ed25519 key for a P-256 certificate",
      () => ({ cert: cert(), key: text("ed25519.key") }),
      "the key is Ed25519 but the certificate (CN=client p256, O=pinned-fetch tests) holds ECDSA P-256",
    ],
    [
      "a P-256 key for a P-384 certificate",
      () => ({ cert: text("p384.pem"), key: text("p256.sec1.key") }),
      "the key is ECDSA P-256 but the certificate (CN=client p384, O=pinned-fetch tests) holds ECDSA P-384",
    ],
    [
      "a PKCS#12 file with a wrong passphrase",
      () => ({ pfx: bytes("rsa2048.p12"), passphrase: "Tr0ub4dor&3" }),
      "the passphrase of the PKCS#12 file is wrong (its MAC does not verify).",
    ],
    [
      "a PKCS#12 file without its passphrase",
      () => ({ pfx: bytes("rsa2048.p12") }),
      "the PKCS#12 file is protected by a passphrase and none was given",
    ],
    [
      "a PKCS#12 file without a MAC, with a wrong passphrase",
      () => ({ pfx: bytes("rsa2048.nomac.p12"), passphrase: "Tr0ub4dor&3" }),
      "the passphrase of the key in the PKCS#12 file is wrong",
    ],
    [
      "an encrypted key that asks for more PBKDF2 iterations than one identity may cost",
      () => ({ cert: text("p256.pem"), key: text("p256.costly.enc.key"), passphrase: PASSPHRASE }),
      "the key asks for 2000001 iterations of its key derivation; pinned-fetch allows 1 to 2000000 for one identity in all.",
    ],
    [
      "a legacy PKCS#12 file (openssl pkcs12 -legacy)",
      () => ({ pfx: bytes("p256.legacy.p12"), passphrase: PASSPHRASE }),
      `the PKCS#12 file is encrypted with pbeWithSHAAnd40BitRC2-CBC, a legacy encryption pinned-fetch does not read. Convert it with ${CONVERT_PKCS12}`,
    ],
    [
      "a legacy PKCS#12 file (3DES)",
      () => ({ pfx: bytes("p256.3des.p12"), passphrase: PASSPHRASE }),
      `the PKCS#12 file is encrypted with pbeWithSHAAnd3-KeyTripleDES-CBC, a legacy encryption pinned-fetch does not read. Convert it with ${CONVERT_PKCS12}`,
    ],
    [
      "a legacy PKCS#12 file with a wrong passphrase",
      () => ({ pfx: bytes("p256.legacy.p12"), passphrase: "Tr0ub4dor&3" }),
      "the passphrase of the PKCS#12 file is wrong",
    ],
    [
      "bytes that are not PKCS#12",
      () => ({ pfx: new TextEncoder().encode(cert()) }),
      "the PKCS#12 file is not a readable PKCS#12 (PFX) file.",
    ],
    [
      "a truncated PKCS#12 file",
      () => ({ pfx: bytes("p256.p12").subarray(0, 1000), passphrase: PASSPHRASE }),
      "the PKCS#12 file is not a readable PKCS#12 (PFX) file.",
    ],
  ];

  for (const [what, given, message] of cases) {
    it(what, () => {
      const error = refusal(given());
      expect(error).toBeInstanceOf(PinnedFetchError);
      expect(error.code).toBe("ERR_CONFIG");
      expect(error.message.startsWith(`${LABEL}: `)).toBe(true);
      if (typeof message === "string") expect(error.message).toContain(message);
      else expect(error.message).toMatch(message);
      expect(error.cause).toBeUndefined();
      expectNoSecret(error.message, inspect(error, { showHidden: true, depth: null }), JSON.stringify(error));
    });
  }

  it("the conversion commands in the messages are the ones that work with OpenSSL 3.0 (see the fixtures' README)", () => {
    // The README's commands made p256.legacy.p12 and p256.3des.p12; this pins the advice's text to what was run.
    expect(refusal({ pfx: bytes("p256.legacy.p12"), passphrase: PASSPHRASE }).message).toContain(
      "Convert it with `openssl pkcs12 -legacy -in old.p12 -nodes -out identity.pem && openssl pkcs12 -export -in identity.pem -out new.p12 && rm identity.pem` (OpenSSL 3), and use new.p12.",
    );
  });

  it("a PKCS#12 file with a byte changed anywhere: ERR_CONFIG, never another error", () => {
    const original = bytes("p256.p12");
    for (let at = 0; at < original.length; at += 23) {
      const altered = original.slice();
      altered[at]! ^= 0x41;
      const error = refusal({ pfx: altered, passphrase: PASSPHRASE });
      expect(error.code).toBe("ERR_CONFIG");
      expect(error.cause).toBeUndefined();
    }
  });
});

/** Every fixture key's DER, in each form; a message that shows any slice of one leaks it. */
const KEY_DERS = [
  "rsa2048.key",
  "rsa2048.pkcs1.key",
  "rsa4096.key",
  "p256.key",
  "p256.sec1.key",
  "p384.key",
  "ed25519.key",
  "rsa1024.key",
  "p521.key",
  "ed448.key",
].map((name) => pemDers(name)[0]!);

/** Fails if any of `outputs` holds the passphrase, or a 12-byte slice of a key as base64, hex or bytes. */
function expectNoSecret(...outputs: string[]): void {
  for (const output of outputs) {
    expect(output).not.toContain(PASSPHRASE);
    expect(output).not.toContain("Tr0ub4dor&3");
    for (const der of KEY_DERS) {
      // Slices from the middle of the key, where its secret is; base64 of slices aligned to 3 bytes from the
      // start of the DER, as a base64 rendering of the whole key would contain.
      for (let at = 3 * Math.floor(der.length / 6); at < der.length - 12; at += 3 * Math.floor(der.length / 18)) {
        const slice = der.subarray(at, at + 12);
        expect(output).not.toContain(slice.toString("base64"));
        expect(output.toLowerCase()).not.toContain(slice.toString("hex"));
        expect(output).not.toContain(slice.toString("latin1"));
      }
    }
  }
}

describe("an identity shows no key", () => {
  const identities = () => [
    read({ cert: text("rsa2048.pem"), key: text("rsa2048.enc.key"), passphrase: PASSPHRASE }),
    read({ cert: text("p256.pem"), key: text("p256.sec1.key") }),
    read({ pfx: bytes("ed25519.p12"), passphrase: PASSPHRASE }),
  ];

  it("in JSON.stringify and util.inspect", () => {
    for (const identity of identities()) {
      const json = JSON.stringify(identity);
      expect(JSON.parse(json)).toEqual({
        label: identity.label,
        subject: identity.subject,
        keyType: identity.keyType,
        certificates: identity.chain.length,
      });
      expect(inspect(identity)).toBe(
        `ClientIdentity { label: ${JSON.stringify(identity.label)}, subject: ${JSON.stringify(identity.subject)}, keyType: ${JSON.stringify(identity.keyType)}, certificates: ${identity.chain.length} }`,
      );
      expectNoSecret(json, inspect(identity), inspect({ options: { identity } }, { depth: null }));
      expectNoSecret(inspect(identity, { customInspect: false, showHidden: true, depth: null }));
      expect(Reflect.ownKeys(identity).sort()).toEqual(["chain", "keyType", "label", "subject"]);
    }
  });

  it("and lends its key only for the call, wiping the copy after it", () => {
    const identity = read({ cert: text("p256.pem"), key: text("p256.key") });
    let lent: Uint8Array | undefined;
    identity.withKey((_, der) => {
      lent = der;
      expect(Buffer.from(der)).toEqual(pkcs8("p256"));
    });
    expect(lent!.every((byte) => byte === 0)).toBe(true);
    expect(() =>
      identity.withKey((_, der) => {
        lent = der;
        throw new Error("the engine refused it");
      }),
    ).toThrow("the engine refused it");
    expect(lent!.every((byte) => byte === 0)).toBe(true);
    // The identity's own copy is intact.
    expect(lentKey(identity).der).toEqual(pkcs8("p256"));
  });
});

describe("givenIdentity", () => {
  it("copies the option's bytes, so the caller may wipe its own once the options are taken", () => {
    const pfx = bytes("ed25519.p12");
    const cert = new TextEncoder().encode(text("p256.pem"));
    const key = new TextEncoder().encode(text("p256.key"));
    const checked = [givenIdentity({ pfx, passphrase: PASSPHRASE }, LABEL), givenIdentity({ cert, key }, LABEL)];
    for (const wiped of [pfx, cert, key]) wiped.fill(0);
    expect(checked.map((given) => readClientIdentity(given, LABEL).keyType)).toEqual(["Ed25519", "ECDSA P-256"]);
  });
});
