// Decompression of response bodies by node:zlib, which Node, Deno and Bun
// all provide: its decoders write at most `chunkSize` bytes at a time, and
// wait for the reader before going on, however far one input chunk expands.
// The web's DecompressionStream does not bound its output everywhere (Deno's
// expands each input chunk whole: 809 bytes of br became one 1 GiB chunk),
// and Node 20's has no brotli. Both sides are node:stream's: Duplex.toWeb,
// in Node and Deno, takes thousands of input chunks while nobody reads the
// output, which would read a body from the network ahead of its reader.
import type { Transform } from "node:stream";
import { stream, zlib } from "./builtins.js";

/** The most bytes a decoder hands on at once: the size of its output buffer. */
const DECODED_PIECE = 64 * 1024;

const DECODERS = {
  gzip: (options) => zlib().createGunzip(options),
  /** zlib-wrapped deflate, as HTTP means it */
  deflate: (options) => zlib().createInflate(options),
  "deflate-raw": (options) => zlib().createInflateRaw(options),
  br: (options) => zlib().createBrotliDecompress(options),
} satisfies Record<string, (options: { chunkSize: number }) => Transform>;

export type Decompression = keyof typeof DECODERS;

/**
 * `input` decompressed, in pieces of at most DECODED_PIECE bytes, with
 * `input` read only as the output is read. The output errors when the
 * decoder or `input` fails; cancelling it cancels `input`.
 */
export function decompress(input: ReadableStream<Uint8Array>, format: Decompression): ReadableStream<Uint8Array> {
  const decoder = DECODERS[format]({ chunkSize: DECODED_PIECE });
  // Errors reach the output through the decoder, which pipeline destroys with them.
  const { pipeline, Readable } = stream();
  pipeline(Readable.fromWeb(input as Parameters<typeof Readable.fromWeb>[0]), decoder, () => {});
  return Readable.toWeb(decoder) as ReadableStream<Uint8Array>;
}
