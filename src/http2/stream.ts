// One HTTP/2 stream: a request and its response, with its windows and what waits on it.
import type { ResponseHead } from "../http/message.js";
import type { ExchangeProgress } from "../http/retry.js";

/** What each stream may receive before the caller reads: a slow reader holds the server back, not memory. */
export const STREAM_WINDOW = 1024 * 1024;

/** One request and its response on the connection. */
export class Stream {
  /** What the server may still send before we grant more, and what was read since we last did. */
  receiveWindow = STREAM_WINDOW;
  unacknowledged = 0;
  sendWindow: number;
  /** Bytes of heads the server may still send: interim and final heads, then (afresh) trailers. */
  headBudget: number;
  head: ResponseHead | null = null;
  contentLength: number | null = null;
  received = 0;
  /** Body bytes that arrived and were not read yet. */
  readonly chunks: Uint8Array[] = [];
  /** Whether the server ended its side (END_STREAM), and whether we did (END_STREAM or RST_STREAM). */
  remoteEnded = false;
  localEnded = false;
  failure: unknown = null;
  /** Wakes the body's reader, waiting for a chunk; and the request body's sender, waiting for window. */
  wakeReader: (() => void) | null = null;
  wakeSender: (() => void) | null = null;
  /** Settles the exchange with the final head. */
  resolveHead!: (head: ResponseHead) => void;
  rejectHead!: (error: unknown) => void;
  readonly headArrived: Promise<ResponseHead>;
  requestBody: ReadableStreamDefaultReader<Uint8Array> | null = null;

  constructor(
    readonly id: number,
    readonly method: string,
    readonly progress: ExchangeProgress,
    readonly onIdle: (reusable: boolean) => void,
    sendWindow: number,
    headBudget: number,
  ) {
    this.sendWindow = sendWindow;
    this.headBudget = headBudget;
    this.headArrived = new Promise((resolve, reject) => {
      this.resolveHead = resolve;
      this.rejectHead = reject;
    });
    this.headArrived.catch(() => {});
  }

  /** Whether a response body can follow its head: not for HEAD, 204, 205 or 304 (RFC 9110, section 6.4.1). */
  get bodiless(): boolean {
    const status = this.head?.status;
    return this.method === "HEAD" || status === 204 || status === 205 || status === 304;
  }

  readerWakes(): void {
    const wake = this.wakeReader;
    this.wakeReader = null;
    wake?.();
  }

  senderWakes(): void {
    const wake = this.wakeSender;
    this.wakeSender = null;
    wake?.();
  }
}
