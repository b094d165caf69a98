// What kind of key a private key is, whether ring (in the engine) can sign
// with it, and its public half where the key carries one, so that a key that
// is not the certificate's is refused here, with a message, rather than by
// the engine's bare refusal.
import type * as asn1js from "asn1js";

import { sameBytes } from "../../encoding.js";
import { bits, contextTag, elements, explicit, octets, oid, parseDer, smallInteger, unsigned } from "./der.js";
import { readOr, refuse } from "./refusal.js";

/** The private key's DER form, as the engine takes it. */
export type KeyFormat = "pkcs8" | "pkcs1" | "sec1";

/** A key or certificate's public key: its kind as people read it ("RSA 2048", "ECDSA P-256", "Ed25519"), and its numbers. */
export interface PublicKey {
  type: string;
  /** RSA: [n, e]; ECDSA: [point]; Ed25519: [key]; empty when a private key does not carry its public key. */
  parts: Uint8Array[];
}

const RSA = "1.2.840.113549.1.1.1";
const EC = "1.2.840.10045.2.1";
const ED25519 = "1.3.101.112";
const CURVES: Record<string, string> = { "1.2.840.10045.3.1.7": "P-256", "1.3.132.0.34": "P-384" };
/** Keys ring cannot sign with, named for the message that says so. */
const UNSUPPORTED: Record<string, string> = {
  "1.2.840.113549.1.1.10": "an RSA-PSS key (RSASSA-PSS algorithm identifier)",
  "1.3.132.0.35": "ECDSA P-521",
  "1.3.132.0.10": "ECDSA secp256k1",
  "1.3.101.113": "Ed448",
  "1.3.101.110": "X25519 (a key-agreement key)",
  "1.3.101.111": "X448 (a key-agreement key)",
  "1.2.840.10040.4.1": "DSA",
  "1.2.840.10046.2.1": "Diffie-Hellman (a key-agreement key)",
};
const ACCEPTED = "RSA of 2048 to 4096 bits, ECDSA P-256 or P-384, or Ed25519";

/**
 * The public side of a private key in any of its forms; refuses a key ring
 * cannot sign with. `curveHint` is the curve of an EC PARAMETERS block, for
 * a SEC1 key that does not name its own.
 */
export function privateKeyInfo(der: Uint8Array<ArrayBuffer>, format: KeyFormat, curveHint?: string): PublicKey {
  const fields = readOr("the key is not a readable private key.", () => elements(parseDer(der)));
  if (format === "pkcs1") return rsaPrivateKey(fields);
  if (format === "sec1") return ecPrivateKey(fields, curveHint);
  return readOr("the key is not a readable PKCS#8 private key.", () => {
    // OneAsymmetricKey (RFC 5958): version, algorithm, privateKey, [0] attributes, [1] publicKey.
    const [algorithm, parameters] = elements(fields[1]);
    const inner = () => elements(parseDer(octets(fields[2])));
    const type = oid(algorithm);
    if (type === RSA) return rsaPrivateKey(inner());
    if (type === EC) return ecPrivateKey(inner(), oid(parameters));
    if (type === ED25519) {
      const publicKey = fields.slice(3).find((field) => contextTag(field) === 1);
      // A PKCS#8 v1 Ed25519 key (what OpenSSL writes) has no public key: the engine, which derives it, refuses
      // a key that is not the certificate's when it is given the identity.
      return { type: "Ed25519", parts: publicKey ? [implicitBits(publicKey)] : [] };
    }
    return refuse(unsupported(UNSUPPORTED[type] ?? `a key of algorithm ${type}`));
  });
}

/** The public key of a DER SubjectPublicKeyInfo (a certificate's), or null when it is of no kind a key here can be. */
export function spkiInfo(spki: Uint8Array): PublicKey | null {
  const [algorithm, publicKey] = elements(parseDer(spki));
  const [type, parameters] = elements(algorithm);
  const key = bits(publicKey);
  switch (oid(type)) {
    case RSA: {
      const [n, e] = elements(parseDer(key));
      return { type: `RSA ${bitLength(unsigned(n))}`, parts: [unsigned(n), unsigned(e)] };
    }
    case EC: {
      const curve = CURVES[oid(parameters)];
      return curve ? { type: `ECDSA ${curve}`, parts: [key] } : null;
    }
    case ED25519:
      return { type: "Ed25519", parts: [key] };
    default:
      return null;
  }
}

/** Whether a private key's public side is the certificate's: the same kind, and the same numbers where the key has them. */
export function sameKey(key: PublicKey, certificate: PublicKey): boolean {
  return (
    key.type === certificate.type &&
    (key.parts.length === 0 || key.parts.every((part, index) => sameBytes(part, certificate.parts[index]!)))
  );
}

/** The curve an EC PARAMETERS block names. */
export function namedCurve(der: Uint8Array<ArrayBuffer>): string {
  return readOr("the EC PARAMETERS block does not name a curve.", () => oid(parseDer(der)));
}

function rsaPrivateKey(fields: asn1js.AsnType[]): PublicKey {
  // RSAPrivateKey: version, n, e, d, p, q, dP, dQ, qInv.
  return readOr("the key is not a readable RSA private key.", () => {
    if (smallInteger(fields[0]) !== 0 || fields.length !== 9) throw new Error("not a two-prime RSA key");
    const n = unsigned(fields[1]);
    const size = bitLength(n);
    if (size < 2048 || size > 4096) refuse(unsupported(`RSA ${size}`));
    return { type: `RSA ${size}`, parts: [n, unsigned(fields[2])] };
  });
}

function ecPrivateKey(fields: asn1js.AsnType[], curveHint: string | undefined): PublicKey {
  // ECPrivateKey (RFC 5915): version 1, privateKey, [0] parameters, [1] publicKey.
  return readOr("the key is not a readable EC private key.", () => {
    if (smallInteger(fields[0]) !== 1) throw new Error("not an EC private key");
    octets(fields[1]);
    const tagged = (tag: number) => fields.slice(2).find((field) => contextTag(field) === tag);
    const parameters = tagged(0);
    const curveOid = parameters ? oid(explicit(parameters)) : curveHint;
    if (curveOid === undefined) refuse("the EC key names no curve.");
    const curve = CURVES[curveOid];
    if (!curve) refuse(unsupported(UNSUPPORTED[curveOid] ?? `an EC key on curve ${curveOid}`));
    const publicKey = tagged(1);
    return { type: `ECDSA ${curve}`, parts: publicKey ? [bits(explicit(publicKey))] : [] };
  });
}

/** The bytes of an IMPLICIT [n] BIT STRING with no unused bits. */
function implicitBits(value: asn1js.AsnType): Uint8Array {
  const content = new Uint8Array(value.valueBeforeDecodeView).subarray(
    value.idBlock.blockLength + value.lenBlock.blockLength,
  );
  if (content[0] !== 0) throw new Error("not a public key");
  return content.subarray(1);
}

function bitLength(magnitude: Uint8Array): number {
  return (magnitude.length - 1) * 8 + (32 - Math.clz32(magnitude[0]!));
}

function unsupported(what: string): string {
  return `the key is ${what}, which pinned-fetch cannot sign with. It accepts ${ACCEPTED}.`;
}
