// A request's body as it is sent: bytes whose length is known, or a stream. A body inside a Request is read only
// once its connection is verified, so that a request that fails its pins reads none of it.
import { concatenate } from "../encoding.js";
import { abortable } from "../signals.js";

/** A body ready to send: bytes (sent with a Content-Length), a stream (sent chunked), or none. */
export type RequestBody = Uint8Array | ReadableStream<Uint8Array> | null;

/** Bodies in a Request object up to this size are sent with a Content-Length; longer ones are streamed. */
const REQUEST_BODY_BUFFER = 64 * 1024;

/**
 * The body to send: bytes when its length is known (every `init.body` but a
 * stream), the stream itself, or, for a body inside a Request (whose length
 * a Request does not tell), an UnreadBody.
 */
export async function bodyOf(request: Request, init: RequestInit | undefined): Promise<RequestBody | UnreadBody> {
  if (init?.body instanceof ReadableStream) return init.body;
  if (!request.body) return null;
  if (init?.body != null) return new Uint8Array(await request.arrayBuffer());
  return new UnreadBody(request.body);
}

/** A Request's body, read once a connection is verified. */
export class UnreadBody {
  constructor(readonly stream: ReadableStream<Uint8Array>) {}

  /** Bytes if it ends within REQUEST_BODY_BUFFER, and otherwise a stream that starts with what was read. */
  async read(signal: AbortSignal | undefined): Promise<RequestBody> {
    const reader = this.stream.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    while (size <= REQUEST_BODY_BUFFER) {
      const { done, value } = await abortable(
        reader.read(),
        signal,
        () => void reader.cancel(signal?.reason).catch(() => {}),
      );
      if (done) return concatenate(chunks, size);
      chunks.push(value);
      size += value.length;
    }
    return new ReadableStream<Uint8Array>(
      {
        start(controller) {
          for (const chunk of chunks) controller.enqueue(chunk);
        },
        async pull(controller) {
          const { done, value } = await reader.read();
          if (done) controller.close();
          else controller.enqueue(value);
        },
        cancel: (reason) => reader.cancel(reason),
      },
      { highWaterMark: 0 },
    );
  }
}

/** Cancels a body stream that was never sent, as undici does: its source learns that the request failed. */
export function cancelUnsent(body: RequestBody | UnreadBody | undefined, reason: unknown): void {
  const stream = body instanceof UnreadBody ? body.stream : body;
  if (stream instanceof ReadableStream && !stream.locked) stream.cancel(reason).catch(() => {});
}
