// TLS 1.3 record ciphers for the engine, by the runtime's native crypto
// through node:crypto, which Node, Deno and Bun all provide synchronously:
// ring's portable AES-GCM in wasm decrypts at about a tenth of the speed of
// the runtime's own TLS. A cipher this runtime lacks, or gets wrong, stays
// with ring (checked once per process).
import { Buffer } from "node:buffer";
import { type KeyObject, createCipheriv, createDecipheriv, createSecretKey } from "node:crypto";

import type { NativeAead } from "./types.js";

/** The engine's cipher numbers (wasm/src/aead.rs). */
const CIPHERS: Record<number, { name: string; keyLength: number }> = {
  1: { name: "aes-128-gcm", keyLength: 16 },
  2: { name: "aes-256-gcm", keyLength: 32 },
  3: { name: "chacha20-poly1305", keyLength: 32 },
};
const TAG_LENGTH = 16;
const NONCE_LENGTH = 12;

const working = new Map<number, boolean>();

/** Whether this runtime has `cipher` and it works: a record sealed, opened, and refused once altered. */
export function aeadSupported(cipher: number): boolean {
  let works = working.get(cipher);
  if (works === undefined) {
    try {
      const aead = aeadCipher(cipher, new Uint8Array(CIPHERS[cipher]?.keyLength ?? 0).fill(7));
      const nonce = new Uint8Array(NONCE_LENGTH).fill(1);
      const aad = new Uint8Array([23, 3, 3, 0, 20]);
      const record = new Uint8Array(4 + TAG_LENGTH).fill(9);
      const altered = aead !== undefined && aead.seal(nonce, aad, record) && record.slice();
      const unchanged = (bytes: Uint8Array) => bytes.subarray(0, 4).every((byte) => byte === 9);
      works = !!altered && !unchanged(altered) && aead!.open(nonce, aad, record) && unchanged(record);
      if (works && altered) {
        altered[altered.length - 1]! ^= 1;
        works = !aead!.open(nonce, aad, altered);
      }
    } catch {
      works = false;
    }
    working.set(cipher, works);
  }
  return works;
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
      encrypting.final();
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
