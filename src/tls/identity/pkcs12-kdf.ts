// The PKCS#12 key derivation (RFC 7292 appendix B.2), which PKCS#12 files
// still use for their MAC key even when their contents are under PBES2. No
// maintained JS library offers it on its own, and it is this small.
import type { CHash } from "@noble/hashes/utils.js";

/** What the derived bytes are for (RFC 7292 B.3). */
export const MAC_KEY = 3;

/** `length` bytes derived from `password` (a BMPString with its two zero bytes) and `salt`, for purpose `id`. */
export function pkcs12Kdf(
  hash: CHash,
  password: Uint8Array,
  salt: Uint8Array,
  id: number,
  iterations: number,
  length: number,
): Uint8Array {
  const v = hash.blockLen;
  const u = hash.outputLen;
  // I = S || P, each repeated to a whole number of v-byte blocks.
  const salted = repeated(salt, v);
  const passworded = repeated(password, v);
  const input = new Uint8Array(salted.length + passworded.length);
  input.set(salted);
  input.set(passworded, salted.length);
  passworded.fill(0);
  const diversifier = new Uint8Array(v).fill(id);
  const result = new Uint8Array(length);
  const block = new Uint8Array(v);
  for (let done = 0; ; done += u) {
    let digest = hash.create().update(diversifier).update(input).digest();
    for (let round = 1; round < iterations; round++) {
      const next = hash(digest);
      digest.fill(0);
      digest = next;
    }
    result.set(digest.subarray(0, Math.min(u, length - done)), done);
    if (done + u >= length) {
      for (const bytes of [digest, input, block]) bytes.fill(0);
      return result;
    }
    // Each v-byte block of I becomes (I_j + B + 1) mod 2^(8v), B being the digest repeated to v bytes.
    for (let i = 0; i < v; i++) block[i] = digest[i % u]!;
    for (let start = 0; start < input.length; start += v) {
      let carry = 1;
      for (let i = v - 1; i >= 0; i--) {
        carry += input[start + i]! + block[i]!;
        input[start + i] = carry & 0xff;
        carry >>>= 8;
      }
    }
    digest.fill(0);
  }
}

/** `bytes` repeated to fill the fewest whole `v`-byte blocks that hold it (none for no bytes). */
function repeated(bytes: Uint8Array, v: number): Uint8Array {
  const out = new Uint8Array(v * Math.ceil(bytes.length / v));
  for (let i = 0; i < out.length; i++) out[i] = bytes[i % bytes.length]!;
  return out;
}
