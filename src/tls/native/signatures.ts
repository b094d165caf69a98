// Signature checks for the engine by the runtime's native crypto, through
// node:crypto, which Node (OpenSSL), Deno (Rust crypto crates) and Bun
// (BoringSSL) all provide synchronously, as the engine's call needs. Only
// "valid" is taken: for anything else the engine's own ring code decides.
import { Buffer } from "node:buffer";
import { constants, createHash, createPublicKey, type KeyObject, verify } from "node:crypto";
import { SignatureAlgorithm } from "../wire.js";

interface Algorithm {
  /** The hash, or null for Ed25519 (which hashes itself). */
  hash: "sha256" | "sha384" | "sha512" | null;
  /** The key type and, for EC, the curve that webpki's algorithm requires. */
  key: "ec" | "ed25519" | "rsa";
  curve?: "prime256v1" | "secp384r1";
  pss?: true;
}

/** The engine's signature algorithms (wasm/src/signatures.rs). */
const ALGORITHMS: Record<number, Algorithm> = {
  [SignatureAlgorithm.EcdsaP256Sha256]: { hash: "sha256", key: "ec", curve: "prime256v1" },
  [SignatureAlgorithm.EcdsaP256Sha384]: { hash: "sha384", key: "ec", curve: "prime256v1" },
  [SignatureAlgorithm.EcdsaP384Sha256]: { hash: "sha256", key: "ec", curve: "secp384r1" },
  [SignatureAlgorithm.EcdsaP384Sha384]: { hash: "sha384", key: "ec", curve: "secp384r1" },
  [SignatureAlgorithm.Ed25519]: { hash: null, key: "ed25519" },
  [SignatureAlgorithm.RsaPssSha256]: { hash: "sha256", key: "rsa", pss: true },
  [SignatureAlgorithm.RsaPssSha384]: { hash: "sha384", key: "rsa", pss: true },
  [SignatureAlgorithm.RsaPssSha512]: { hash: "sha512", key: "rsa", pss: true },
  [SignatureAlgorithm.RsaPkcs1Sha256]: { hash: "sha256", key: "rsa" },
  [SignatureAlgorithm.RsaPkcs1Sha384]: { hash: "sha384", key: "rsa" },
  [SignatureAlgorithm.RsaPkcs1Sha512]: { hash: "sha512", key: "rsa" },
};

/** ring's bounds on RSA keys for these algorithms: modulus size, and an odd public exponent in [3, 2^33). */
const RSA_BITS = { min: 2048, max: 8192 };
const RSA_EXPONENT = { min: 3n, limit: 1n << 33n };

/**
 * True if `signature` of `message` is valid under the DER SubjectPublicKeyInfo
 * `spki`, for a key that ring would take for `algorithm`; false otherwise
 * (ring then decides).
 */
export function verifySignature(
  algorithm: number,
  spki: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  const expected = ALGORITHMS[algorithm];
  if (!expected) return false;
  const id = signatureId(algorithm, spki, message, signature);
  if (verified.has(id)) return true;
  const key = publicKey(Buffer.from(spki.buffer, spki.byteOffset, spki.byteLength));
  if (!key || !sameKind(key, expected) || !pointAsRingTakes(spki, expected)) return false;
  let valid: boolean;
  try {
    const withPadding = expected.pss
      ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }
      : key;
    valid = verify(expected.hash, message, withPadding, signature);
  } catch {
    return false;
  }
  if (valid) keep(verified, id, true, VERIFIED_KEPT);
  return valid;
}

/**
 * Valid signatures seen lately: every handshake with a server presents the
 * same certificates, whose signatures need checking only once (in Deno a
 * check is a large part of a cold handshake; see BENCHMARKS.md). Only the
 * handshake's own signature is new.
 */
const verified = new Map<string, true>();
const VERIFIED_KEPT = 1024;

/**
 * Names everything a signature's validity depends on: SHA-256 (collision
 * resistant, as the pins rely on) of the algorithm and the length-prefixed
 * key, message and signature.
 */
function signatureId(algorithm: number, spki: Uint8Array, message: Uint8Array, signature: Uint8Array): string {
  const lengths = Buffer.alloc(13);
  lengths.writeUInt8(algorithm, 0);
  lengths.writeUInt32BE(spki.length, 1);
  lengths.writeUInt32BE(message.length, 5);
  lengths.writeUInt32BE(signature.length, 9);
  return createHash("sha256").update(lengths).update(spki).update(message).update(signature).digest("base64");
}

/** Adds an entry to a bounded map, dropping its oldest entry when full. */
function keep<T>(map: Map<string, T>, id: string, value: T, limit: number): void {
  if (map.size === limit) map.delete(map.keys().next().value!);
  map.set(id, value);
}

/** Keys seen lately, by their DER: the same intermediates and roots sign handshake after handshake. */
const keys = new Map<string, KeyObject | null>();
const KEYS_KEPT = 256;

/** The key of a DER SubjectPublicKeyInfo, or null if the runtime cannot read it. */
function publicKey(spki: Buffer): KeyObject | null {
  const id = spki.toString("latin1");
  let key = keys.get(id);
  if (key === undefined) {
    try {
      key = createPublicKey({ key: spki, format: "der", type: "spki" });
    } catch {
      key = null;
    }
    keep(keys, id, key, KEYS_KEPT);
  }
  return key;
}

/** SPKI sizes of EC keys with an uncompressed point, the only form ring takes (OpenSSL also takes compressed ones). */
const UNCOMPRESSED_EC_SPKI = { prime256v1: { spki: 91, point: 65 }, secp384r1: { spki: 120, point: 97 } };

function pointAsRingTakes(spki: Uint8Array, expected: Algorithm): boolean {
  if (!expected.curve) return true;
  const size = UNCOMPRESSED_EC_SPKI[expected.curve];
  return spki.length === size.spki && spki[size.spki - size.point] === 0x04;
}

function sameKind(key: KeyObject, expected: Algorithm): boolean {
  if (key.asymmetricKeyType !== expected.key) return false;
  const details = key.asymmetricKeyDetails;
  if (expected.curve) return details?.namedCurve === expected.curve;
  if (expected.key === "rsa") {
    const bits = details?.modulusLength ?? 0;
    const exponent = details?.publicExponent ?? 0n;
    return (
      bits >= RSA_BITS.min &&
      bits <= RSA_BITS.max &&
      exponent >= RSA_EXPONENT.min &&
      exponent < RSA_EXPONENT.limit &&
      exponent % 2n === 1n
    );
  }
  return true;
}
