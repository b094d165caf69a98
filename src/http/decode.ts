import { PinnedFetchError } from "../errors.js";

/** The content codings fetch decodes, applied in reverse of the order the server lists them. */
const CODINGS = new Set(["gzip", "x-gzip", "deflate", "br"]);

/**
 * The body decoded by its Content-Encoding, as fetch decodes it. A coding
 * pinned-fetch does not know leaves the body as it is; a body that does not
 * decode errors with ERR_HTTP.
 */
export function decodeBody(
  body: ReadableStream<Uint8Array>,
  contentEncoding: string | null,
  brotli: () => ReadableWritablePair<Uint8Array, Uint8Array>,
): ReadableStream<Uint8Array> {
  const codings = (contentEncoding ?? "")
    .split(",")
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== "" && coding !== "identity");
  if (codings.length === 0 || !codings.every((coding) => CODINGS.has(coding))) return body;
  let decoded = body;
  for (const coding of codings.reverse()) {
    decoded = decodeFromFirstBytes(decoded, (first) =>
      coding === "br" ? brotli() : coding === "deflate" ? decompression(zlibWrapped(first) ? "deflate" : "deflate-raw") : decompression("gzip"),
    );
  }
  return withDecodingErrors(decoded, codings.join(", "));
}

/**
 * HTTP's "deflate" is zlib-wrapped, but some servers send raw deflate: the
 * first byte tells them apart (a zlib header's low nibble is 8), as in undici.
 */
function zlibWrapped(first: Uint8Array): boolean {
  return (first[0]! & 0x0f) === 0x08;
}

/**
 * The body through the decoder `decoderFor` picks from its first bytes. An
 * empty body stays empty, whatever its Content-Encoding says (as undici).
 */
function decodeFromFirstBytes(
  body: ReadableStream<Uint8Array>,
  decoderFor: (first: Uint8Array) => ReadableWritablePair<Uint8Array, Uint8Array>,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let decoded: ReadableStreamDefaultReader<Uint8Array> | undefined;
  const next = async (controller: ReadableStreamDefaultController<Uint8Array>) => {
    const { done, value } = await reader.read();
    if (done) controller.close();
    else controller.enqueue(value);
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (!decoded) {
          let first = await reader.read();
          while (!first.done && first.value.length === 0) first = await reader.read();
          if (first.done) return controller.close();
          const head = first.value;
          const rest = new ReadableStream<Uint8Array>({ start: (c) => c.enqueue(head), pull: next }, { highWaterMark: 0 });
          decoded = rest.pipeThrough(decoderFor(head)).getReader();
        }
        const { done, value } = await decoded.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      cancel: (reason) => (decoded ?? reader).cancel(reason),
    },
    { highWaterMark: 0 },
  );
}

/** The web's decompressor, typed for the byte chunks it is given here. */
export function decompression(format: string): ReadableWritablePair<Uint8Array, Uint8Array> {
  return new DecompressionStream(format as CompressionFormat) as unknown as ReadableWritablePair<Uint8Array, Uint8Array>;
}

/** Errors from the decoders become ERR_HTTP, as every other failure of a body does. */
function withDecodingErrors(decoded: ReadableStream<Uint8Array>, codings: string): ReadableStream<Uint8Array> {
  const reader = decoded.getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (cause) {
          const error =
            cause instanceof PinnedFetchError
              ? cause
              : new PinnedFetchError("ERR_HTTP", `The response body is not valid ${codings} (Content-Encoding): ${String(cause)}`, { cause });
          controller.error(error);
        }
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
}
