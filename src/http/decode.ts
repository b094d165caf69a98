import { PinnedFetchError } from "../errors.js";
import { type Decompression, decompress } from "../runtime/decompression.js";

/** The content codings fetch decodes, applied in reverse of the order the server lists them. */
const CODINGS = new Set(["gzip", "x-gzip", "deflate", "br"]);
/** The most codings a response may list, as in undici: each one multiplies how far a few bytes expand. */
const MAX_CODINGS = 5;

/**
 * The body decoded by its Content-Encoding, as fetch decodes it, in pieces
 * of at most 64 KiB that are decoded only as they are read. A coding
 * pinned-fetch does not know leaves the body as it is; a body that does not
 * decode errors with ERR_HTTP. More than MAX_CODINGS codings throw ERR_HTTP
 * (and cancel the body), whether known or not. A body that arrived whole, as
 * bytes, stays bytes unless it needs decoding.
 */
export function decodeBody(
  body: ReadableStream<Uint8Array> | Uint8Array<ArrayBuffer>,
  contentEncoding: string | null,
): ReadableStream<Uint8Array> | Uint8Array<ArrayBuffer> {
  const listed = (contentEncoding ?? "")
    .split(",")
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== "");
  if (listed.length > MAX_CODINGS) {
    const error = new PinnedFetchError(
      "ERR_HTTP",
      `The response lists ${listed.length} content codings (Content-Encoding), and pinned-fetch decodes at most ${MAX_CODINGS}, ` +
        "as undici does: each one multiplies how far a few bytes expand. Fix the server, or ask for the resource with Accept-Encoding: identity.",
    );
    if (body instanceof ReadableStream) body.cancel(error).catch(() => {});
    throw error;
  }
  const codings = listed.filter((coding) => coding !== "identity");
  if (codings.length === 0 || !codings.every((coding) => CODINGS.has(coding))) return body;
  const header = codings.join(", ");
  const stream = body instanceof ReadableStream ? body : new Blob([body]).stream();
  return codings.reduceRight((decoded, coding) => decodedBy(decoded, coding, header), stream);
}

/**
 * `body` decoded by `coding`. The decoder is made once the first bytes are
 * there: an empty body stays empty, whatever its Content-Encoding says (as
 * undici), and they tell raw from zlib-wrapped deflate. The body's own
 * errors come through as they are; the decoder's become ERR_HTTP.
 */
function decodedBy(body: ReadableStream<Uint8Array>, coding: string, header: string): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let bodyFailure: { error: unknown } | undefined;
  const read = () =>
    reader.read().catch((error: unknown) => {
      bodyFailure = { error };
      throw error;
    });
  let decoded: ReadableStreamDefaultReader<Uint8Array> | undefined;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          if (!decoded) {
            let first = await read();
            while (!first.done && first.value.length === 0) first = await read();
            if (first.done) return controller.close();
            const head = first.value;
            const rest = new ReadableStream<Uint8Array>(
              {
                start: (restController) => restController.enqueue(head),
                async pull(restController) {
                  const { done, value } = await read();
                  if (done) restController.close();
                  else restController.enqueue(value);
                },
                cancel: (reason) => reader.cancel(reason),
              },
              { highWaterMark: 0 },
            );
            decoded = decompress(rest, decompression(coding, head)).getReader();
          }
          const { done, value } = await decoded.read();
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (cause) {
          controller.error(
            bodyFailure
              ? bodyFailure.error
              : new PinnedFetchError(
                  "ERR_HTTP",
                  `The response body is not valid ${coding} (Content-Encoding: ${header}): ${reasonOf(cause)}`,
                  {
                    cause,
                  },
                ),
          );
        }
      },
      async cancel(reason) {
        await decoded?.cancel(reason);
        await reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * The decoder for `coding`. HTTP's "deflate" is zlib-wrapped, but some
 * servers send raw deflate: the first byte tells them apart (a zlib header's
 * low nibble is 8), as in undici.
 */
function decompression(coding: string, first: Uint8Array): Decompression {
  if (coding === "br") return "br";
  if (coding === "deflate") return (first[0]! & 0x0f) === 0x08 ? "deflate" : "deflate-raw";
  return "gzip";
}

/** The decoder's reason: Bun's Readable.toWeb errors with an empty TypeError whose cause is zlib's error. */
function reasonOf(error: unknown): string {
  const inner = error instanceof Error && error.message === "" ? error.cause : undefined;
  return String(inner ?? error);
}
