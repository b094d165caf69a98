import { PinnedFetchError } from "../errors.js";
import type { Runtime } from "../runtime/index.js";
import type { PooledConnection } from "./pool.js";
import { NetworkWaits } from "./network-waits.js";
import type { ExchangeProgress } from "./retry.js";
import { abortable, coarseTimeout, whenAborted } from "../signals.js";
import type { Connection } from "../tls/connection.js";
import {
  type Framing,
  type HttpLimits,
  type ResponseHead,
  HEAD_END,
  encodeLatin1,
  framing,
  parseChunkSize,
  parseHead,
  sizeText,
} from "./message.js";
import { ByteReader } from "./reader.js";

const CRLF = encodeLatin1("\r\n");
const LAST_CHUNK = encodeLatin1("0\r\n\r\n");
/** Bodies up to this size are sent in the same write as the head. */
const COALESCE_LIMIT = 16 * 1024;
/** undici's defaults: the wait for a response head, and for each piece of its body (HTTP/2's too). */
export const HEADERS_TIMEOUT = 300_000;
export const BODY_TIMEOUT = 300_000;

export interface OutgoingRequest {
  method: string;
  /** The request target: path and query. */
  target: string;
  /** Header fields, complete: Host and body framing included. */
  fields: Iterable<[string, string]>;
  /** A known-length body, a stream (sent chunked), or none. */
  body: Uint8Array | ReadableStream<Uint8Array> | null;
}

export interface IncomingResponse {
  head: ResponseHead;
  /** The body as it arrives, or as bytes if it arrived whole with its head. */
  body: ReadableStream<Uint8Array> | Uint8Array<ArrayBuffer> | null;
}

/**
 * HTTP/1.1 over one TLS connection, one exchange at a time. `onIdle` is told
 * when the response has been read to its end and whether the connection can
 * carry another request.
 *
 * The connection keeps the process alive exactly while someone waits on the
 * network through it: a request for its response head, or a read of its body.
 * An unread body or an idle connection does not, as in undici, and neither do
 * the timers that bound those waits.
 */
export class HttpConnection implements PooledConnection {
  readonly multiplexed = false;
  readonly settling = false;
  onCapacity = () => {};
  readonly #tls: Connection;
  readonly #limits: HttpLimits;
  /** The runtime's, made once: the timeouts of every exchange and body read pass it on. */
  readonly #unrefTimer: (timer: ReturnType<typeof setTimeout>) => void;
  readonly #network: NetworkWaits;
  readonly #reader: ByteReader;
  /** Whether the request is not fully written yet: the server may answer early. */
  #sending = false;
  /** The request body being streamed, until its last chunk is sent. */
  #requestBody: ReadableStreamDefaultReader<Uint8Array> | null = null;
  /** What the reader had received when the current exchange began. */
  #receivedBefore = 0;

  constructor(tls: Connection, limits: HttpLimits, runtime: Runtime) {
    this.#tls = tls;
    this.#limits = limits;
    this.#unrefTimer = (timer) => runtime.unrefTimer(timer);
    this.#reader = new ByteReader(tls);
    this.#network = new NetworkWaits(tls);
  }

  /** Whether it can carry a request: TLS is open, and nothing arrived that no request asked for. */
  get open(): boolean {
    return this.#tls.open && !this.#reader.buffered;
  }

  /** One exchange at a time. */
  get streamLimit(): number {
    return this.open ? 1 : 0;
  }

  /**
   * Watches the connection while it waits in the pool: whatever a server
   * sends then (a 408 before it closes, say) answers no request, so it makes
   * the connection unusable instead of being read as the next response.
   * Meanwhile its TLS session holds only what a new one holds.
   */
  watchIdle(): void {
    this.#tls.shrink();
    this.#reader.readAhead();
  }

  /** Sends close_notify, waiting briefly for a congested socket, then closes. */
  close(): Promise<void> {
    return this.#tls.close();
  }

  /** Closes at once. */
  destroy(): void {
    this.#tls.destroy();
  }

  /**
   * Sends `request` and reads the response head; `signal` aborts both, and
   * `bodySignal` then aborts the body. `progress` is told whether any byte of an answer arrived.
   */
  async exchange(
    request: OutgoingRequest,
    signal: AbortSignal | undefined,
    onIdle: (reusable: boolean) => void,
    bodySignal: AbortSignal | undefined,
    progress: ExchangeProgress,
  ): Promise<IncomingResponse> {
    const host = this.#tls.host;
    this.#receivedBefore = this.#reader.received;
    const sending = this.#send(request);
    const reading = this.#readHead();
    let head: ResponseHead;
    try {
      // A server may answer before the whole body is sent (a 413, say): the head wins.
      head = await abortable(
        this.#network.around(Promise.race([reading, sending.then(() => reading)])),
        signal,
        () => this.destroy(),
        {
          ms: HEADERS_TIMEOUT,
          error: () =>
            new PinnedFetchError("ERR_TIMEOUT", `${host} sent no response within ${HEADERS_TIMEOUT / 1000} s.`),
          unref: this.#unrefTimer,
        },
      );
    } catch (error) {
      progress.answered = this.#reader.received > this.#receivedBefore;
      reading.catch(() => {});
      sending.catch(() => {});
      this.#stopSending(error);
      throw error;
    }
    const bodyFraming = framing(request.method, head);
    const unsent = this.#sending;
    if (unsent) {
      sending.catch(() => {});
      this.#stopSending(new PinnedFetchError("ERR_HTTP", `${host} answered before the request body was sent.`));
    }
    const reusable = !unsent && !head.closes && bodyFraming.kind !== "close";
    if (bodyFraming.kind === "none" || (bodyFraming.kind === "length" && bodyFraming.length === 0)) {
      onIdle(reusable && !this.#reader.buffered);
      return { head, body: bodyFraming.kind === "none" ? null : emptyStream() };
    }
    // A body that came with its head (most API responses) frees the connection at once, and without a signal
    // that could still error it, goes as bytes: no stream to read it through.
    const whole = bodyFraming.kind === "length" ? this.#reader.takeWhole(bodyFraming.length) : null;
    if (whole !== null) {
      onIdle(reusable && !this.#reader.buffered);
      // A view the reader never writes over (it appends past what it handed out); TLS chunks are never shared memory.
      return { head, body: bodySignal ? arrivedBody(whole, bodySignal) : (whole as Uint8Array<ArrayBuffer>) };
    }
    return {
      head,
      body: this.#body(bodyFraming, bodySignal, (clean) => onIdle(clean && reusable && !this.#reader.buffered)),
    };
  }

  /** Cancels a request body still being streamed. */
  #stopSending(reason: unknown): void {
    this.#requestBody?.cancel(reason).catch(() => {});
    this.#requestBody = null;
  }

  async #send(request: OutgoingRequest): Promise<void> {
    this.#sending = true;
    await this.#write(request);
    this.#sending = false;
  }

  async #write({ method, target, fields, body }: OutgoingRequest): Promise<void> {
    let head = `${method} ${target} HTTP/1.1\r\n`;
    for (const [name, value] of fields) head += `${name}: ${value}\r\n`;
    const headBytes = encodeLatin1(`${head}\r\n`);
    if (body instanceof ReadableStream) {
      const reader = (this.#requestBody = body.getReader());
      await this.#tls.write(headBytes);
      for (let read = await reader.read(); !read.done; read = await reader.read()) {
        if (read.value.length === 0) continue;
        await this.#tls.write(encodeLatin1(`${read.value.length.toString(16)}\r\n`));
        await this.#tls.write(read.value);
        await this.#tls.write(CRLF);
      }
      if (this.#requestBody !== reader) return; // cancelled: the connection is not reused
      await this.#tls.write(LAST_CHUNK);
      this.#requestBody = null;
    } else if (body && body.length <= COALESCE_LIMIT) {
      const message = new Uint8Array(headBytes.length + body.length);
      message.set(headBytes);
      message.set(body, headBytes.length);
      await this.#tls.write(message);
    } else {
      await this.#tls.write(headBytes);
      if (body) await this.#tls.write(body);
    }
  }

  /** The final response head; interim (1xx) responses are skipped, but count towards maxHeaderSize. */
  async #readHead(): Promise<ResponseHead> {
    const limit = this.#limits.maxHeaderSize;
    const tooLong = `The server sent more than ${sizeText(limit)} of response head (the maxHeaderSize option).`;
    for (let left = limit; ;) {
      const bytes = await this.#reader.readUntil(HEAD_END, left, tooLong);
      if (bytes === null) {
        throw new PinnedFetchError("ERR_HTTP", "The server closed the connection without sending a response.");
      }
      left -= bytes.length + HEAD_END.length;
      const head = parseHead(bytes);
      if (head.status === 101) {
        throw new PinnedFetchError("ERR_HTTP", "The server switched protocols (101), which no request asked for.");
      }
      if (head.status >= 200) return head;
    }
  }

  #body(
    bodyFraming: Framing,
    signal: AbortSignal | undefined,
    onEnd: (clean: boolean) => void,
  ): ReadableStream<Uint8Array> {
    const reader = this.#reader;
    const unrefTimer = this.#unrefTimer;
    const network = this.#network;
    const host = this.#tls.host;
    const { maxChunkLineSize, maxHeaderSize } = this.#limits;
    let remaining = bodyFraming.kind === "length" ? bodyFraming.length : 0;
    let ended = false;
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    let stopListening = () => {};
    const end = (clean: boolean) => {
      if (ended) return;
      ended = true;
      stopListening();
      if (!clean) this.destroy();
      onEnd(clean);
    };
    const onAbort = () => {
      end(false);
      controller.error(signal!.reason);
    };

    // A length-delimited body ends with its last byte, not with a further read: the connection is free at once.
    const deliver = (chunk: Uint8Array) => {
      controller.enqueue(chunk);
      if (bodyFraming.kind === "length" && remaining === 0) {
        controller.close();
        end(true);
      }
    };

    const nextChunk = async (): Promise<Uint8Array | null> => {
      switch (bodyFraming.kind) {
        case "length": {
          const bytes = await reader.read(remaining);
          if (bytes === null) {
            throw new PinnedFetchError(
              "ERR_HTTP",
              `The connection closed ${remaining} bytes before the end of the response body (Content-Length: ${bodyFraming.length}).`,
            );
          }
          remaining -= bytes.length;
          return bytes;
        }
        case "chunked": {
          if (remaining === 0) {
            const line = await reader.readUntil(
              CRLF,
              maxChunkLineSize,
              `The server sent a chunk-size line over ${sizeText(maxChunkLineSize)} (the maxChunkLineSize option).`,
            );
            if (line === null) throw new PinnedFetchError("ERR_HTTP", "The connection closed inside a chunked body.");
            remaining = parseChunkSize(line);
            if (remaining === 0) {
              await skipTrailers(reader, maxHeaderSize);
              return null;
            }
          }
          const bytes = await reader.read(remaining);
          if (bytes === null) throw new PinnedFetchError("ERR_HTTP", "The connection closed inside a chunked body.");
          remaining -= bytes.length;
          if (
            remaining === 0 &&
            (await reader.readUntil(CRLF, 0, "A chunk of the response body is longer than its declared size.")) === null
          ) {
            throw new PinnedFetchError("ERR_HTTP", "The connection closed inside a chunked body.");
          }
          return bytes;
        }
        default:
          try {
            return await reader.read(Number.MAX_SAFE_INTEGER);
          } catch (cause) {
            throw new PinnedFetchError(
              "ERR_HTTP",
              "The connection ended without TLS close_notify before the body was delimited, so the body may be truncated.",
              { cause },
            );
          }
      }
    };

    return new ReadableStream<Uint8Array>(
      {
        start(streamController) {
          controller = streamController;
          stopListening = whenAborted(signal, onAbort);
        },
        async pull() {
          // Bytes that arrived with the head, or with an earlier record, need no wait: no timer, no read.
          if (bodyFraming.kind === "length") {
            const bytes = reader.take(remaining);
            if (bytes !== null) {
              remaining -= bytes.length;
              return deliver(bytes);
            }
          }
          const cancelTimeout = coarseTimeout(
            BODY_TIMEOUT,
            () => {
              end(false);
              controller.error(
                new PinnedFetchError(
                  "ERR_TIMEOUT",
                  `${host} sent nothing of the response body for ${BODY_TIMEOUT / 1000} s.`,
                ),
              );
            },
            unrefTimer,
          );
          try {
            const chunk = await network.around(nextChunk());
            if (chunk === null) {
              controller.close();
              end(true);
            } else {
              deliver(chunk);
            }
          } catch (error) {
            end(false);
            controller.error(error);
          } finally {
            cancelTimeout();
          }
        },
        cancel() {
          end(false);
        },
      },
      { highWaterMark: 0 },
    );
  }
}

/** Reads trailer fields (ignored) through the blank line that ends them, at most `limit` bytes in all. */
async function skipTrailers(reader: ByteReader, limit: number): Promise<void> {
  const tooLong = `The server sent more than ${sizeText(limit)} of trailer fields (the maxHeaderSize option).`;
  for (let left = limit; ;) {
    const field = await reader.readUntil(CRLF, left, tooLong);
    if (field === null)
      throw new PinnedFetchError("ERR_HTTP", "The connection closed inside a chunked body's trailer section.");
    if (field.length === 0) return;
    left -= field.length + CRLF.length;
  }
}

/** A body that has all arrived, which `signal` still errors until it is read, as fetch's body is errored. */
function arrivedBody(bytes: Uint8Array, signal: AbortSignal): ReadableStream<Uint8Array> {
  let stopListening = () => {};
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        stopListening = whenAborted(signal, () => controller.error(signal.reason));
      },
      pull(controller) {
        stopListening();
        controller.enqueue(bytes);
        controller.close();
      },
      cancel() {
        stopListening();
      },
    },
    { highWaterMark: 0 },
  );
}

function emptyStream(): ReadableStream<Uint8Array> {
  return new ReadableStream({ start: (controller) => controller.close() });
}
