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
