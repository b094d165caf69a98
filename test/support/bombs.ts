// The decoding server: bodies of zeros (decompression bombs, from a few
// hundred bytes to a few hundred KB) or of random bytes, with content codings
// applied, in whatever size the request asks for. Each body is made once, by
// node:zlib compressing in streaming fashion, and kept.
import { randomBytes } from "node:crypto";
import type { Writable } from "node:stream";
import { constants, createBrotliCompress, createDeflate, createDeflateRaw, createGzip } from "node:zlib";

import { type Http2TestServer, startHttp2Server } from "./http2-twins.js";
import { type ServerOptions, startTlsServer, type TestServer } from "./servers.js";

const PIECE = 1024 * 1024;

/** Encoders that make zeros as small as they go, quickly: a run-length gzip; br with its largest window. */
const ENCODERS = {
  gzip: () => createGzip({ level: 9, strategy: constants.Z_RLE }),
  "x-gzip": () => createGzip({ level: 9, strategy: constants.Z_RLE }),
  deflate: () => createDeflate({ level: 9, strategy: constants.Z_RLE }),
  "raw-deflate": () => createDeflateRaw({ level: 9, strategy: constants.Z_RLE }),
  br: () =>
    createBrotliCompress({ params: { [constants.BROTLI_PARAM_QUALITY]: 5, [constants.BROTLI_PARAM_LGWIN]: 24 } }),
};
type Coding = keyof typeof ENCODERS;

const bodies = new Map<string, Promise<Buffer>>();

/**
 * `/zeros/BYTES/CODING,...` or `/random/BYTES/CODING,...`: that many zero
 * (or random) bytes with those codings applied in order ("raw-deflate" is
 * sent as deflate). Made on first request and kept, as `prepare` does.
 */
function encodedBody(target: string): Promise<Buffer> | undefined {
  const [, content, size, list] = target.split("/");
  const bytes = Number(size);
  const codings = (list ?? "").split(",") as Coding[];
  if (
    (content !== "zeros" && content !== "random") ||
    !Number.isSafeInteger(bytes) ||
    !codings.every((coding) => coding in ENCODERS)
  )
    return;
  let body = bodies.get(target);
  if (!body) {
    body = encode(content === "zeros" ? zeros(bytes) : [randomBytes(bytes)], codings);
    bodies.set(target, body);
  }
  return body;
}

/** Starts making the bodies of `targets` in the background, so that their first request need not wait. */
export function prepare(...targets: string[]): void {
  for (const target of targets) void encodedBody(target);
}

/**
 * A TLS server on 127.0.0.1 that answers each connection's request for an
 * encoded body (see `encodedBody`; under `/cut` its first half) and closes it. It writes as fast as the
 * client reads, and counts what the network took in `sentBytes`.
 */
export function startDecodingServer(options: ServerOptions): Promise<TestServer> {
  const server = startTlsServer(options, (socket) =>
    socket.once("data", async (request: Buffer) => {
      const answer = await answerTo(request.toString("latin1").split(" ", 2)[1] ?? "");
      if (!answer) return void socket.end("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
      const { body, codings } = answer;
      socket.write(
        `HTTP/1.1 200 OK\r\ncontent-encoding: ${codings}\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n`,
      );
      send(socket, body, await server);
    }),
  );
  return server;
}

/** The body for a request target, and its Content-Encoding; undefined for a target that names none. */
async function answerTo(requested: string): Promise<{ body: Buffer; codings: string } | undefined> {
  // `/cut/…`: the first half of the encoded body, framed as the whole body: a stream the server cut short.
  const cut = requested.startsWith("/cut/");
  const target = cut ? requested.slice("/cut".length) : requested;
  const encoded = await encodedBody(target);
  if (!encoded) return undefined;
  const body = cut ? encoded.subarray(0, encoded.length >> 1) : encoded;
  return { body, codings: target.split("/")[3]!.replaceAll("raw-deflate", "deflate").replaceAll(",", ", ") };
}

/** The decoding server's HTTP/2 twin: the same bodies, one stream each, and the connection kept. */
export function startHttp2DecodingServer(options: ServerOptions): Promise<Http2TestServer> {
  return startHttp2Server(options, async (request, response, stats) => {
    request.resume();
    const answer = await answerTo(request.url);
    if (!answer) return void response.writeHead(404, { "content-length": "0" }).end();
    const { body, codings } = answer;
    response.writeHead(200, { "content-encoding": codings, "content-length": String(body.length) });
    // What the stream takes waits for the client's flow-control window, so its callbacks count what went out.
    send(response.stream, body, stats);
  });
}

/**
 * Writes `body` as the peer reads it, a piece at a time, counting each piece
 * once the network took it. `socket`: a TLS socket, or an HTTP/2 stream.
 */
function send(socket: Writable, body: Buffer, stats: TestServer): void {
  let at = 0;
  const next = () => {
    while (at < body.length && !socket.destroyed) {
      const piece = body.subarray(at, (at += PIECE));
      if (!socket.write(piece, () => (stats.sentBytes += piece.length))) return void socket.once("drain", next);
    }
    socket.end();
  };
  next();
}

/** `bytes` zero bytes, as pieces of one shared buffer. */
function* zeros(bytes: number): Iterable<Buffer> {
  const piece = Buffer.alloc(PIECE);
  for (let left = bytes; left > 0; left -= PIECE) yield left >= PIECE ? piece : piece.subarray(0, left);
}

/** `source` with `codings` applied in order. */
async function encode(source: Iterable<Buffer>, codings: readonly Coding[]): Promise<Buffer> {
  let body = source;
  for (const coding of codings) body = [await compress(ENCODERS[coding](), body)];
  return Buffer.concat([...body]);
}

/** `input` through `encoder`, written as the encoder takes it. */
async function compress(encoder: NodeJS.ReadWriteStream, input: Iterable<Buffer>): Promise<Buffer> {
  const output: Buffer[] = [];
  encoder.on("data", (chunk: Buffer) => output.push(chunk));
  const ended = new Promise((resolve, reject) => encoder.on("end", resolve).on("error", reject));
  for (const piece of input) {
    if (!encoder.write(piece)) await new Promise((resolve) => encoder.once("drain", resolve));
  }
  encoder.end();
  await ended;
  return Buffer.concat(output);
}
