// What the test servers send, shared by the servers (Node) and the tests in any runtime.

/** The body of `/hello`. */
export const HELLO = "hello, pinned world";

/** What `/encoded/...` sends, before its codings: long enough to come in several pieces. */
export const ENCODED_TEXT = `${HELLO}\n`.repeat(5000);

/**
 * Zero bytes in each decompression bomb of the decoding server, which it
 * makes of 256 KB of gzip and 405 bytes of br. Smaller than a GiB, since
 * decoding one takes seconds per runtime; still large enough to show the
 * defects: gzip's chunks are as large as one input chunk expands to, whatever
 * the bomb's size, and br's whole bomb came as one chunk (in Deno, twice its
 * size in memory).
 */
export const BOMBS = { gzip: 256 * 2 ** 20, br: 512 * 2 ** 20 } as const;

/** The decoding server's bomb in `coding` (see test/support/bombs.ts). */
export const bombPath = (coding: keyof typeof BOMBS) => `/zeros/${BOMBS[coding]}/${coding}`;

/** What the WebSocket servers' `/fragments` sends as a text message in three fragments, with a ping between two. */
export const FRAGMENTED_TEXT = "fragmented ✓";
export const FRAGMENTS_PING = "between fragments";
/** What the WebSocket servers' `/ping` pings with, as soon as the connection is open. */
export const PING_PAYLOAD = "are you there?";
/** The binary message `/fragments` sends next, in two fragments: bytes 0, 1, 2, … modulo 251. */
export const FRAGMENTED_BINARY = Uint8Array.from({ length: 3_000 }, (_, index) => index % 251);
/** What the raw WebSocket server's `/big` sends: one binary message of this many bytes. */
export const RAW_BIG_MESSAGE = 2_048;

// The HTTP/2 servers' pattern bodies, and the uploads they check: the byte at each offset is the offset modulo 251.

/**
 * The offset of the first byte of `chunk`, which starts at `offset` of a pattern body, that is not the pattern's, or
 * -1 when all of them are.
 */
export function patternMismatch(chunk: Uint8Array, offset: number): number {
  let expected = offset % 251;
  for (let index = 0; index < chunk.length; index++) {
    if (chunk[index] !== expected) return offset + index;
    expected = expected === 250 ? 0 : expected + 1;
  }
  return -1;
}

/** `length` bytes of the pattern, from `offset`. */
export function patternChunk(offset: number, length: number): Uint8Array<ArrayBuffer> {
  const chunk = new Uint8Array(length);
  let value = offset % 251;
  for (let index = 0; index < length; index++) {
    chunk[index] = value;
    value = value === 250 ? 0 : value + 1;
  }
  return chunk;
}
