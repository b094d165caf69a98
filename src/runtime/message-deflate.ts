// permessage-deflate's compression (RFC 7692 §7.2) by node:zlib, which Node,
// Deno and Bun all provide, as the ws package does it: each message is
// written to a raw deflate (or inflate) stream and sync-flushed, and the
// 00 00 ff ff that the flush ends with is removed (or appended). The streams
// keep their window from message to message unless no_context_takeover was
// negotiated, when they are reset after each.
import type { DeflateRaw, InflateRaw } from "node:zlib";
import { concatenate } from "../encoding.js";
import { zlib } from "./builtins.js";

/** What the server's answer negotiated (RFC 7692 §7.1), defaults filled in. */
export interface DeflateParams {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  /** The server's LZ77 window, 8 to 15 bits: the window the client inflates with. */
  serverMaxWindowBits: number;
  /** The client's LZ77 window, 8 to 15 bits: the window the client deflates with. */
  clientMaxWindowBits: number;
}

export interface MessageDeflate {
  /** One message compressed, the trailing 00 00 ff ff removed. Messages are compressed one at a time, in order. */
  compress(payload: Uint8Array): Promise<Uint8Array>;
  /**
   * One message decompressed, or null as soon as its output passes `limit`
   * bytes, having decoded no further (the connection is then closed with
   * 1009). Rejects for data that is not valid DEFLATE (ws closes with 1007
   * for that). Messages are decompressed one at a time, in order.
   */
  decompress(payload: Uint8Array, limit: number): Promise<Uint8Array | null>;
  /** Frees the zlib streams; calls in progress or queued then reject. */
  close(): void;
}

const TRAILER = new Uint8Array([0x00, 0x00, 0xff, 0xff]);
/** The most bytes an inflate stream hands on at once: how far past `limit` its output can get before it stops. */
const OUTPUT_PIECE = 16 * 1024;

type ZlibStream = DeflateRaw | InflateRaw;

export function messageDeflate(params: DeflateParams): MessageDeflate {
  let deflate: DeflateRaw | null = null;
  let inflate: InflateRaw | null = null;
  let compressing: Promise<unknown> = Promise.resolve();
  let decompressing: Promise<unknown> = Promise.resolve();
  let closed = false;

  const compressOne = async (payload: Uint8Array): Promise<Uint8Array> => {
    if (closed) throw new Error("permessage-deflate was closed");
    // zlib refuses a raw deflate window of 8 bits (Node turns 8 into 9 itself, the other runtimes may not).
    // A 9-bit window is safe where 8 bits were negotiated: zlib never refers back more than the window
    // less 262 bytes (MAX_DIST), 250 bytes here, so an inflater with a 256-byte window reads it. ws asks
    // for 8 and gets the same 9 from Node.
    deflate ??= quiet(zlib().createDeflateRaw({ windowBits: Math.max(9, params.clientMaxWindowBits) }));
    const stream = deflate;
    let output: Uint8Array | null;
    try {
      output = await flushThrough(stream, [payload], Infinity);
    } catch (error) {
      discard(stream);
      throw error;
    }
    if (params.clientNoContextTakeover) stream.reset();
    return output!.subarray(0, output!.length - 4);
  };

  const decompressOne = async (payload: Uint8Array, limit: number): Promise<Uint8Array | null> => {
    if (closed) throw new Error("permessage-deflate was closed");
    inflate ??= quiet(zlib().createInflateRaw({ windowBits: params.serverMaxWindowBits, chunkSize: OUTPUT_PIECE }));
    const stream = inflate;
    let output: Uint8Array | null;
    try {
      output = await flushThrough(stream, [payload, TRAILER], limit);
    } catch (error) {
      discard(stream);
      throw new Error(`invalid compressed data: ${(error as Error).message}`, { cause: error });
    }
    // Over the limit, the stream stopped where it was. A final block (BFINAL) ends the stream; a message
    // after it starts a new one, as in ws.
    if (output === null || stream.readableEnded) discard(stream);
    else if (params.serverNoContextTakeover) stream.reset();
    return output;
  };

  /** Closes `stream` and forgets it, so that the next message gets a new one. */
  const discard = (stream: ZlibStream): void => {
    stream.close();
    if (stream === inflate) inflate = null;
    if (stream === deflate) deflate = null;
  };

  return {
    compress(payload) {
      const result = compressing.then(() => compressOne(payload));
      compressing = result.catch(() => {});
      return result;
    },
    decompress(payload, limit) {
      const result = decompressing.then(() => decompressOne(payload, limit));
      decompressing = result.catch(() => {});
      return result;
    },
    close() {
      closed = true;
      if (deflate) discard(deflate);
      if (inflate) discard(inflate);
    },
  };
}

/** `stream` with an error listener for errors outside a call, so that they cannot crash the process. */
function quiet<T extends ZlibStream>(stream: T): T {
  stream.on("error", () => {});
  return stream;
}

/**
 * Writes `input` to `stream`, sync-flushes it and resolves with all the
 * output, or with null as soon as the output passes `limit` bytes (the
 * caller then discards the stream). Rejects with the stream's error, or if
 * it closes first.
 */
function flushThrough(stream: ZlibStream, input: Uint8Array[], limit: number): Promise<Uint8Array | null> {
  return new Promise((resolve, reject) => {
    const pieces: Uint8Array[] = [];
    let length = 0;
    const done = (): void => {
      stream.off("data", onData);
      stream.off("end", onEnd);
      stream.off("error", onError);
      stream.off("close", onClose);
    };
    const onData = (piece: Uint8Array): void => {
      length += piece.length;
      if (length > limit) {
        done();
        // Stop decoding now: the rest of the input is never read.
        stream.pause();
        resolve(null);
      } else pieces.push(piece);
    };
    // A final block ends the stream's output: what it gave so far is the message.
    const onEnd = (): void => {
      done();
      resolve(joined(pieces, length));
    };
    const onError = (error: Error): void => {
      done();
      reject(error);
    };
    const onClose = (): void => {
      done();
      reject(new Error("the zlib stream was closed"));
    };
    stream.on("data", onData);
    stream.on("end", onEnd);
    stream.on("error", onError);
    stream.on("close", onClose);
    for (const piece of input) stream.write(piece);
    // Deno passes an error to this callback before the stream emits it.
    stream.flush(zlib().constants.Z_SYNC_FLUSH, (error?: unknown) => {
      done();
      if (error) reject(error as Error);
      else resolve(joined(pieces, length));
    });
  });
}

/** The pieces as one Uint8Array (not a Buffer, whose slice does not copy), copied only when there are several. */
function joined(pieces: Uint8Array[], length: number): Uint8Array {
  if (pieces.length === 1) return new Uint8Array(pieces[0]!.buffer, pieces[0]!.byteOffset, length);
  return concatenate(pieces, length);
}
