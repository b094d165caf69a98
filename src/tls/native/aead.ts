// TLS 1.3 record ciphers for the engine, by the runtime's native crypto
// through node:crypto, which Node, Deno and Bun all provide synchronously:
// ring's portable AES-GCM in wasm decrypts at about a tenth of the speed of
// the runtime's own TLS. A cipher this runtime lacks, or gets wrong, stays
// with ring (checked once per process).
import { Buffer } from "node:buffer";
import { type KeyObject, createCipheriv, createDecipheriv, createSecretKey } from "node:crypto";
import { Cipher } from "../wire.js";

/** A record cipher key, working in place on a record: its bytes, then room for (or the) 16-byte tag. */
export interface NativeAead {
  seal(nonce: Uint8Array, aad: Uint8Array, record: Uint8Array): boolean;
  /** False if the record is not authentic, and then nothing of it is written. */
  open(nonce: Uint8Array, aad: Uint8Array, record: Uint8Array): boolean;
}

/** The engine's ciphers (wasm/src/aead.rs), as node:crypto names them. */
const CIPHERS: Record<number, { name: string; keyLength: number }> = {
  [Cipher.Aes128Gcm]: { name: "aes-128-gcm", keyLength: 16 },
  [Cipher.Aes256Gcm]: { name: "aes-256-gcm", keyLength: 32 },
  [Cipher.Chacha20Poly1305]: { name: "chacha20-poly1305", keyLength: 32 },
};
const TAG_LENGTH = 16;
const NONCE_LENGTH = 12;

/**
 * Each cipher's answer for 16 zero bytes under an all-zero key and nonce, no
 * AAD: ciphertext, then tag (AES-GCM: NIST's GCM test cases 2 and 14;
 * ChaCha20-Poly1305: as OpenSSL computes it, whose keystream is RFC 8439's).
 */
const KNOWN_ANSWERS: Record<number, string> = {
  [Cipher.Aes128Gcm]: "0388dace60b6a392f328c2b971b2fe78ab6e47d42cec13bdf53a67b21257bddf",
  [Cipher.Aes256Gcm]: "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919",
  [Cipher.Chacha20Poly1305]: "9f07e7be5551387a98ba977c732d080dc34a88047320f52aa2c6683ef8084d2f",
};

const working = new Map<number, boolean>();

/**
 * Whether this runtime has `cipher` and gets it right: the known answer
 * sealed, opened again, and refused once its ciphertext or tag is altered.
 */
export function aeadSupported(cipher: number): boolean {
  let works = working.get(cipher);
  if (works === undefined) {
    works = knownAnswerHolds(cipher);
    working.set(cipher, works);
  }
  return works;
}

function knownAnswerHolds(cipher: number): boolean {
  try {
    const aead = aeadCipher(cipher, new Uint8Array(CIPHERS[cipher]?.keyLength ?? 0));
    const [nonce, aad] = [new Uint8Array(NONCE_LENGTH), new Uint8Array(0)];
    const record = new Uint8Array(16 + TAG_LENGTH);
    if (!aead?.seal(nonce, aad, record) || Buffer.from(record).toString("hex") !== KNOWN_ANSWERS[cipher]) return false;
    for (const at of [0, record.length - 1]) {
      const altered = record.slice();
      altered[at]! ^= 1;
      if (aead.open(nonce, aad, altered)) return false;
    }
    return aead.open(nonce, aad, record) && record.subarray(0, 16).every((byte) => byte === 0);
  } catch {
    return false;
  }
}

/**
 * The longest sealed record of `cipher` that the engine seals and opens itself, given the runtime's
 * `smallRecordsInEngine`: ChaCha20-Poly1305 up to that size, AES-GCM never (ring's AES-GCM in wasm has no AES
 * instructions, and loses to node:crypto even on 1 KiB records).
 */
export function aeadInEngineUpTo(cipher: number, smallRecords: number): number {
  return cipher === Cipher.Chacha20Poly1305 ? smallRecords : 0;
}

/** A key of `cipher`, or undefined if it is not one of the engine's. */
export function aeadCipher(cipher: number, key: Uint8Array): NativeAead | undefined {
  const spec = CIPHERS[cipher];
  if (!spec || key.length !== spec.keyLength) return undefined;
  const secret: KeyObject = createSecretKey(Buffer.from(key));
  const options = { authTagLength: TAG_LENGTH };
  return {
    seal(nonce, aad, record) {
      const length = record.length - TAG_LENGTH;
      const encrypting = createCipheriv(spec.name as "aes-128-gcm", secret, nonce, options);
      encrypting.setAAD(aad, { plaintextLength: length });
      const sealed = encrypting.update(record.subarray(0, length));
      // A stream cipher's update gives every byte back; anything else would leave plaintext in the record.
      if (sealed.length !== length || encrypting.final().length !== 0) return false;
      record.set(sealed);
      record.set(encrypting.getAuthTag(), length);
      return true;
    },
    open(nonce, aad, record) {
      const length = record.length - TAG_LENGTH;
      const decrypting = createDecipheriv(spec.name as "aes-128-gcm", secret, nonce, options);
      decrypting.setAAD(aad, { plaintextLength: length });
      decrypting.setAuthTag(record.subarray(length));
      const opened = decrypting.update(record.subarray(0, length));
      try {
        decrypting.final();
      } catch {
        return false; // not authentic: nothing of it is written back
      }
      record.set(opened);
      return true;
    },
  };
}
