import { concatenate } from "../encoding.js";
import { PinnedFetchError } from "../errors.js";
import { BODY_TIMEOUT, HEADERS_TIMEOUT, type IncomingResponse, type OutgoingRequest } from "../http/connection.js";
import { type HttpLimits, sizeText } from "../http/message.js";
import { NetworkWaits } from "../http/network-waits.js";
import type { ExchangeProgress } from "../http/retry.js";
import type { Runtime } from "../runtime/index.js";
import { abortable, coarseTimeout, whenAborted } from "../signals.js";
import type { Connection } from "../tls/connection.js";
import {
  ConnectionError,
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_WINDOW,
  ErrorCode,
  Flag,
  type Frame,
  FrameParser,
  FrameType,
  MAX_INT31,
  PREFACE,
  Setting,
  StreamError,
  errorName,
  goAwayFrame,
  readUint32,
  settingsFrame,
  uint32Frame,
  writeHeader,
} from "./frames.js";
import { checkField, contentLength, requestHeaderList, responseHead } from "./fields.js";
import { HpackDecoder, HpackEncoder, HpackError } from "./hpack.js";
import { STREAM_WINDOW, Stream } from "./stream.js";

/**
 * What the connection may receive unread, over all its streams: 1 GiB, as Go's client allows. The streams' windows
 * bound what each body holds; a connection window under their sum would let bodies nobody reads (20 of 1 MiB, with
 * 16 MiB) stop the one being read, for good.
 */
const CONNECTION_WINDOW = 1024 * STREAM_WINDOW;
/** Answers to PING and SETTINGS not yet handed to the socket: a server that floods them and reads none is cut off. */
const MAX_CONTROL_BACKLOG = 10_000;
/** Room for the frame headers and indexing of a header block, beyond maxHeaderSize of decoded fields. */
const HEADER_BLOCK_SLACK = 16 * 1024;
/**
 * How long a server may take to send its SETTINGS, the first frame it owes: until they come, requests to its
 * origin wait for this connection, so a server that never sends them must not hold them for ever.
 */
const SETTINGS_TIMEOUT = 10_000;
/** Body chunks that arrived while the caller was not reading are handed on joined, up to this size. */
const JOINED_LIMIT = 64 * 1024;
/** How long the last frames may take to be written when the connection closes, as TLS's close_notify. */
const CLOSE_GRACE = 1_000;
/** Streams at once where the server's SETTINGS set no limit (RFC 9113's default is none): Go's client's cap. */
const ASSUMED_MAX_STREAMS = 100;
const EMPTY = new Uint8Array(0);

/**
 * HTTP/2 (RFC 9113) over one verified TLS connection: requests as streams,
 * as many at once as the server allows. The client preface goes out when it
 * is made, so only ever on a connection whose certificate and pins passed.
 *
 * Like HttpConnection, its socket keeps the process alive only while someone
 * waits on the network through it: a request for its head, or a body read.
 */
export class Http2Connection {
  readonly multiplexed = true;
  /** Told when it can take more streams than before: the server's SETTINGS arrived. */
  onCapacity: () => void = () => {};
  readonly #tls: Connection;
  readonly #limits: HttpLimits;
  /** The runtime's, made once: the timeouts of every exchange and body read pass it on. */
  readonly #unrefTimer: (timer: ReturnType<typeof setTimeout>) => void;
  readonly #parser = new FrameParser(DEFAULT_MAX_FRAME_SIZE);
  readonly #decoder = new HpackDecoder();
  readonly #encoder = new HpackEncoder();
  readonly #streams = new Map<number, Stream>();
  #nextStreamId = 1;
  readonly #network: NetworkWaits;
  /** The server's settings, and whether its first SETTINGS frame has come. */
  #settled = false;
  #settingsTimer: ReturnType<typeof setTimeout>;
  #maxStreams = ASSUMED_MAX_STREAMS;
  #initialSendWindow = DEFAULT_WINDOW;
  #maxFrameSize = DEFAULT_MAX_FRAME_SIZE;
  #sendWindow = DEFAULT_WINDOW;
  #receiveWindow = CONNECTION_WINDOW;
  #unacknowledged = 0;
  /** A header block arriving in CONTINUATION frames: its stream, pieces, size and END_STREAM flag. */
  #block: { stream: number; pieces: Uint8Array[]; size: number; endStream: boolean } | null = null;
  /** The last stream id of the server's GOAWAY: no stream above it will be processed, and no new one may start. */
  #goAway: number | null = null;
  /** Why the connection can carry nothing more. */
  #failure: unknown = null;
  /** Frames gathered in this turn, written together. */
  #outgoing: Uint8Array[] = [];
  #outgoingSize = 0;
  #flushing: Promise<void> | null = null;
  /** The write of the last batch: the writes before it are done when it is. */
  #lastWrite: Promise<void> = Promise.resolve();
  #closing: Promise<void> | null = null;
  /** The read loop, which ends with the server's side of the connection. */
  readonly #reading: Promise<void>;
  #controlBacklog = 0;
  /** Streams waiting for the connection's send window to open. */
  readonly #windowWaiters = new Set<Stream>();

  constructor(tls: Connection, limits: HttpLimits, runtime: Runtime) {
    this.#tls = tls;
    this.#limits = limits;
    this.#unrefTimer = (timer) => runtime.unrefTimer(timer);
    this.#network = new NetworkWaits(tls);
    this.#send(PREFACE);
    this.#send(
      settingsFrame([
        [Setting.EnablePush, 0],
        [Setting.InitialWindowSize, STREAM_WINDOW],
        [Setting.MaxHeaderListSize, limits.maxHeaderSize],
      ]),
    );
    this.#send(uint32Frame(FrameType.WindowUpdate, 0, CONNECTION_WINDOW - DEFAULT_WINDOW));
    this.#settingsTimer = setTimeout(
      () =>
        this.#protocolError(
          new ConnectionError(
            ErrorCode.ProtocolError,
            `no SETTINGS within ${SETTINGS_TIMEOUT / 1000} s of the preface`,
          ),
        ),
      SETTINGS_TIMEOUT,
    );
    runtime.unrefTimer(this.#settingsTimer);
    this.#reading = this.#readFrames(tls);
  }

  /** Whether it can take new streams: no failure, no GOAWAY, stream ids left. */
  get open(): boolean {
    return this.#failure === null && this.#goAway === null && this.#tls.open && this.#nextStreamId <= MAX_INT31;
  }

  /** Whether the server's SETTINGS have not come yet: how many streams it takes is not known. */
  get settling(): boolean {
    return !this.#settled && this.open;
  }

  /** How many streams it may carry at once: one until the server's SETTINGS, then what they allow. */
  get streamLimit(): number {
    if (!this.open) return 0;
    const idsLeft = Math.floor((MAX_INT31 - this.#nextStreamId) / 2) + 1;
    return Math.min(this.#settled ? this.#maxStreams : 1, idsLeft);
  }

  /** Idle in the pool: it keeps reading (an idle HTTP/2 connection answers PING), with a new connection's buffers. */
  watchIdle(): void {
    this.#tls.shrink();
  }

  /** Says GOAWAY, fails the streams still open, and closes once what is queued has gone out. */
  close(): Promise<void> {
    return this.#stop(this.#closedByUs());
  }

  /** As close(), without waiting for it. */
  destroy(): void {
    void this.#stop(this.#closedByUs());
  }

  /** What a request on a connection closed by our side fails with: TLS's own words, as over HTTP/1.1. */
  #closedByUs(): PinnedFetchError {
    const host = this.#tls.host;
    return new PinnedFetchError("ERR_TLS", `The connection to ${host} was closed.`, { host });
  }

  /** Ends the connection with `failure`, unless it failed already; the last frames go out first. */
  #stop(failure: PinnedFetchError): Promise<void> {
    if (this.#failure === null) {
      this.#failure = failure;
      this.#send(goAwayFrame(0, ErrorCode.NoError));
      this.#failStreams(() => failure);
    }
    return (this.#closing ??= this.#closeAfterWrites());
  }

  /**
   * Closes the connection once the frames queued last (a GOAWAY, RST_STREAM, a SETTINGS acknowledgement) are
   * written, close_notify after them, and the server has ended its side, within CLOSE_GRACE in all: a socket
   * closed with bytes unread sends a reset, which can reach the server before the last frames are read.
   */
  async #closeAfterWrites(): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE)));
    await Promise.race([(this.#flushing ?? this.#lastWrite).catch(() => {}), grace]);
    await Promise.race([this.#tls.end().catch(() => {}), grace]);
    await Promise.race([this.#reading, grace]);
    clearTimeout(timer);
    this.#tls.destroy();
  }

  /**
   * Sends `request` on a new stream and reads its response head; `signal`
   * aborts both (resetting this stream alone), and `bodySignal` then the body.
   * `onIdle` is told once the stream is over; `progress` what became of it.
   */
  async exchange(
    request: OutgoingRequest,
    signal: AbortSignal | undefined,
    onIdle: (reusable: boolean) => void,
    bodySignal: AbortSignal | undefined,
    progress: ExchangeProgress,
  ): Promise<IncomingResponse> {
    if (!this.open) {
      progress.unprocessed = true;
      throw this.#goAway !== null ? this.#goneAway(request.method) : (this.#failure ?? this.#closed());
    }
    const stream = new Stream(
      this.#nextStreamId,
      request.method,
      progress,
      onIdle,
      this.#initialSendWindow,
      this.#limits.maxHeaderSize,
    );
    this.#nextStreamId += 2;
    this.#streams.set(stream.id, stream);
    const body = request.body;
    const bodiless = body === null || (body instanceof Uint8Array && body.length === 0);
    this.#sendHeaders(stream, request, bodiless);
    if (bodiless) stream.localEnded = true;
    else
      this.#sendBody(stream, body).catch((error: unknown) => {
        if (!stream.localEnded) this.#reset(stream, ErrorCode.Cancel, error);
      });
    try {
      const head = await abortable(
        this.#network.around(stream.headArrived),
        signal,
        () => this.#reset(stream, ErrorCode.Cancel, signal?.reason),
        {
          ms: HEADERS_TIMEOUT,
          error: () =>
            new PinnedFetchError(
              "ERR_TIMEOUT",
              `${this.#tls.host} sent no response within ${HEADERS_TIMEOUT / 1000} s.`,
            ),
          unref: this.#unrefTimer,
        },
      );
      return { head, body: stream.bodiless ? null : this.#bodyStream(stream, bodySignal) };
    } catch (error) {
      this.#reset(stream, ErrorCode.Cancel, error);
      throw error;
    }
  }

  #sendHeaders(stream: Stream, request: OutgoingRequest, endStream: boolean): void {
    const block = this.#encoder.encode(requestHeaderList(request));
    // The block and its CONTINUATION frames, back to back in one write: nothing may come between them.
    const size = this.#maxFrameSize;
    const frames = Math.max(1, Math.ceil(block.length / size));
    const bytes = new Uint8Array(block.length + 9 * frames);
    for (let index = 0, at = 0; index < frames; index++) {
      const piece = block.subarray(index * size, (index + 1) * size);
      const last = index === frames - 1;
      const flags = (last ? Flag.EndHeaders : 0) | (index === 0 && endStream ? Flag.EndStream : 0);
      writeHeader(bytes, at, piece.length, index === 0 ? FrameType.Headers : FrameType.Continuation, flags, stream.id);
      bytes.set(piece, at + 9);
      at += 9 + piece.length;
    }
    this.#send(bytes);
  }

  async #sendBody(stream: Stream, body: Uint8Array | ReadableStream<Uint8Array>): Promise<void> {
    if (body instanceof Uint8Array) return this.#sendData(stream, body, true);
    const reader = (stream.requestBody = body.getReader());
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      if (stream.localEnded) return;
      await this.#sendData(stream, read.value, false);
    }
    if (!stream.localEnded) await this.#sendData(stream, EMPTY, true);
    stream.requestBody = null;
  }

  /** DATA frames for `bytes` as the windows allow, waiting for them to open; the last ends the stream if `end`. */
  async #sendData(stream: Stream, bytes: Uint8Array, end: boolean): Promise<void> {
    let at = 0;
    do {
      if (stream.localEnded) return;
      // A window may be below zero after the server lowered SETTINGS_INITIAL_WINDOW_SIZE (RFC 9113, section 6.9.2).
      const size = Math.max(0, Math.min(bytes.length - at, stream.sendWindow, this.#sendWindow, this.#maxFrameSize));
      if (size <= 0 && bytes.length > 0) {
        await this.#windowOpens(stream);
        continue;
      }
      const last = end && at + size === bytes.length;
      const frame = new Uint8Array(9 + size);
      writeHeader(frame, 0, size, FrameType.Data, last ? Flag.EndStream : 0, stream.id);
      frame.set(bytes.subarray(at, at + size), 9);
      stream.sendWindow -= size;
      this.#sendWindow -= size;
      at += size;
      if (last) this.#endLocal(stream);
      await this.#send(frame);
    } while (at < bytes.length);
  }

  #windowOpens(stream: Stream): Promise<void> {
    this.#windowWaiters.add(stream);
    return new Promise<void>((resolve) => (stream.wakeSender = resolve)).finally(() =>
      this.#windowWaiters.delete(stream),
    );
  }

  /** The response body, read from the frames that came; each read grants the server that much window again. */
  #bodyStream(stream: Stream, signal: AbortSignal | undefined): ReadableStream<Uint8Array> {
    let stopListening = () => {};
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const host = this.#tls.host;
    return new ReadableStream<Uint8Array>(
      {
        start: (streamController) => {
          controller = streamController;
          stopListening = whenAborted(signal, () => {
            this.#reset(stream, ErrorCode.Cancel, signal!.reason);
            controller.error(signal!.reason);
          });
        },
        pull: async () => {
          const cancelTimeout = coarseTimeout(
            BODY_TIMEOUT,
            () => {
              const error = new PinnedFetchError(
                "ERR_TIMEOUT",
                `${host} sent nothing of the response body for ${BODY_TIMEOUT / 1000} s.`,
              );
              this.#reset(stream, ErrorCode.Cancel, error);
            },
            this.#unrefTimer,
          );
          try {
            while (stream.chunks.length === 0 && !stream.remoteEnded && stream.failure === null) {
              await this.#network.around(new Promise<void>((resolve) => (stream.wakeReader = resolve)));
            }
          } finally {
            cancelTimeout();
          }
          const chunk = joined(stream.chunks);
          if (chunk) {
            controller.enqueue(chunk);
            this.#consumed(stream, chunk.length);
          } else if (stream.failure !== null) {
            stopListening();
            controller.error(stream.failure);
          } else {
            stopListening();
            controller.close();
          }
        },
        cancel: (reason) => {
          stopListening();
          this.#reset(stream, ErrorCode.Cancel, reason);
        },
      },
      { highWaterMark: 0 },
    );
  }

  /** `size` bytes of a stream's body were read (or dropped): grant them again once half a window has been. */
  #consumed(stream: Stream | null, size: number): void {
    if (size === 0 || this.#failure !== null) return;
    this.#unacknowledged += size;
    // Granted in steps of a stream window once the server has half the window left or less, and whatever was read
    // once it has less than a step: bodies nobody reads may hold the rest, and must not stop the others.
    const left = this.#receiveWindow;
    if (left <= CONNECTION_WINDOW / 2 && (this.#unacknowledged >= STREAM_WINDOW || left < STREAM_WINDOW)) {
      this.#receiveWindow += this.#unacknowledged;
      this.#send(uint32Frame(FrameType.WindowUpdate, 0, this.#unacknowledged));
      this.#unacknowledged = 0;
    }
    if (stream === null || stream.remoteEnded) return;
    stream.unacknowledged += size;
    if (stream.unacknowledged >= STREAM_WINDOW / 2) {
      stream.receiveWindow += stream.unacknowledged;
      this.#send(uint32Frame(FrameType.WindowUpdate, stream.id, stream.unacknowledged));
      stream.unacknowledged = 0;
    }
  }

  /** Queues frames to go out with the others of this turn, in one write; settles when that write has. */
  #send(bytes: Uint8Array): Promise<void> {
    this.#outgoing.push(bytes);
    this.#outgoingSize += bytes.length;
    this.#flushing ??= Promise.resolve().then(() => {
      const pieces = this.#outgoing;
      const size = this.#outgoingSize;
      this.#outgoing = [];
      this.#outgoingSize = 0;
      this.#flushing = null;
      const bytes = pieces.length === 1 ? pieces[0]! : concatenate(pieces, size);
      return (this.#lastWrite = this.#tls.write(bytes));
    });
    // Whoever does not wait for the write learns of a failure from the connection instead.
    this.#flushing.catch(() => {});
    return this.#flushing;
  }

  /** Answers to the server's PING and SETTINGS, bounded: a server that never reads them is cut off. */
  #sendControl(bytes: Uint8Array): void {
    if (++this.#controlBacklog > MAX_CONTROL_BACKLOG) {
      throw new ConnectionError(
        ErrorCode.EnhanceYourCalm,
        `over ${MAX_CONTROL_BACKLOG} PING or SETTINGS frames whose answers it did not read`,
      );
    }
    void this.#send(bytes).then(
      () => this.#controlBacklog--,
      () => {},
    );
  }

  /** Reads frames until the server's side ends; once the connection failed or closes, reads and drops them. */
  async #readFrames(tls: Connection): Promise<void> {
    const frames: Frame[] = [];
    for (;;) {
      let bytes: Uint8Array | null;
      try {
        bytes = await tls.read();
      } catch (error) {
        return this.#ended(error);
      }
      if (bytes === null) return this.#ended(null);
      if (this.#failure !== null) continue;
      try {
        this.#parser.push(bytes, frames);
        for (const frame of frames) {
          if (this.#failure !== null) break;
          this.#onFrame(frame);
        }
      } catch (error) {
        if (error instanceof ConnectionError) this.#protocolError(error);
        else this.#ended(error);
      } finally {
        frames.length = 0;
      }
    }
  }

  #onFrame(frame: Frame): void {
    if (!this.#settled && frame.type !== FrameType.Settings) {
      throw new ConnectionError(ErrorCode.ProtocolError, "its first frame was not SETTINGS");
    }
    if (this.#block !== null && (frame.type !== FrameType.Continuation || frame.stream !== this.#block.stream)) {
      throw new ConnectionError(ErrorCode.ProtocolError, "a frame inside a header block that CONTINUATION must end");
    }
    try {
      switch (frame.type) {
        case FrameType.Data:
          return this.#onData(frame);
        case FrameType.Headers:
          return this.#onHeaders(frame);
        case FrameType.Continuation:
          return this.#onContinuation(frame);
        case FrameType.RstStream:
          return this.#onReset(frame);
        case FrameType.Settings:
          return this.#onSettings(frame);
        case FrameType.Ping:
          return this.#onPing(frame);
        case FrameType.GoAway:
          return this.#onGoAway(frame);
        case FrameType.WindowUpdate:
          return this.#onWindowUpdate(frame);
        case FrameType.PushPromise:
          throw new ConnectionError(ErrorCode.ProtocolError, "PUSH_PROMISE, though the client disabled push");
        case FrameType.Priority:
          if (frame.stream === 0) throw new ConnectionError(ErrorCode.ProtocolError, "PRIORITY on stream 0");
          if (frame.payload.length !== 5)
            throw new StreamError(ErrorCode.FrameSizeError, "a PRIORITY frame not of 5 bytes");
          return;
        default:
          return; // Unknown frame types are ignored (RFC 9113, section 4.1).
      }
    } catch (error) {
      if (!(error instanceof StreamError)) throw error;
      const stream = this.#streams.get(frame.stream);
      if (stream) this.#reset(stream, error.code, this.#malformed(error));
      // A stream that is over (or a PRIORITY frame's idle one): answered as PING is, so a flood stays bounded.
      else this.#sendControl(uint32Frame(FrameType.RstStream, frame.stream, error.code));
    }
  }

  /** The open stream a frame is for; undefined for one that is over; a ConnectionError for one never opened. */
  #streamOf(frame: Frame): Stream | undefined {
    const stream = this.#streams.get(frame.stream);
    if (stream) return stream;
    if (frame.stream % 2 === 0 || frame.stream >= this.#nextStreamId) {
      throw new ConnectionError(
        ErrorCode.ProtocolError,
        `a frame on stream ${frame.stream}, which the client never opened`,
      );
    }
    return undefined;
  }

  #onData(frame: Frame): void {
    if (frame.stream === 0) throw new ConnectionError(ErrorCode.ProtocolError, "DATA on stream 0");
    const length = frame.payload.length;
    this.#receiveWindow -= length;
    if (this.#receiveWindow < 0)
      throw new ConnectionError(ErrorCode.FlowControlError, "more DATA than the connection's window");
    const stream = this.#streamOf(frame);
    if (!stream || stream.failure !== null) return this.#consumed(null, length);
    if (stream.remoteEnded) {
      this.#consumed(null, length);
      throw new StreamError(ErrorCode.StreamClosed, "DATA after the end of the stream");
    }
    stream.receiveWindow -= length;
    if (stream.receiveWindow < 0) {
      this.#consumed(null, length);
      throw new StreamError(ErrorCode.FlowControlError, "more DATA than the stream's window");
    }
    const data = unpadded(frame);
    // Padding counts against the windows but is never read: it is granted again at once.
    this.#consumed(stream, length - data.length);
    if (stream.head === null || (stream.bodiless && data.length > 0)) {
      this.#consumed(null, data.length);
      throw new StreamError(
        ErrorCode.ProtocolError,
        stream.head === null ? "DATA before the response head" : "a body in a response that has none",
      );
    }
    stream.received += data.length;
    if (stream.contentLength !== null && stream.received > stream.contentLength) {
      this.#consumed(null, data.length);
      throw new StreamError(ErrorCode.ProtocolError, `more body than its Content-Length of ${stream.contentLength}`);
    }
    if (data.length > 0) stream.chunks.push(owned(data));
    if (frame.flags & Flag.EndStream) this.#endRemote(stream);
    stream.readerWakes();
  }

  #onHeaders(frame: Frame): void {
    if (frame.stream === 0) throw new ConnectionError(ErrorCode.ProtocolError, "HEADERS on stream 0");
    let block = unpadded(frame);
    if (frame.flags & Flag.Priority) {
      if (block.length < 5)
        throw new ConnectionError(ErrorCode.FrameSizeError, "a HEADERS frame too short for its priority");
      block = block.subarray(5);
    }
    const endStream = (frame.flags & Flag.EndStream) !== 0;
    if (frame.flags & Flag.EndHeaders) return this.#onHeaderBlock(frame, block, endStream);
    this.#block = { stream: frame.stream, pieces: [block], size: 9 + block.length, endStream };
    this.#checkBlockSize();
  }

  #onContinuation(frame: Frame): void {
    const block = this.#block;
    if (block === null) throw new ConnectionError(ErrorCode.ProtocolError, "CONTINUATION outside a header block");
    block.pieces.push(frame.payload.slice());
    block.size += 9 + frame.payload.length;
    this.#checkBlockSize();
    if (!(frame.flags & Flag.EndHeaders)) return;
    this.#block = null;
    this.#onHeaderBlock(frame, concatenate(block.pieces, block.size - 9 * block.pieces.length), block.endStream);
  }

  /** A header block (frame headers counted) over maxHeaderSize and some slack is a flood, for any stream. */
  #checkBlockSize(): void {
    const limit = this.#limits.maxHeaderSize + HEADER_BLOCK_SLACK;
    if (this.#block!.size > limit) {
      throw new ConnectionError(
        ErrorCode.EnhanceYourCalm,
        `a header block over ${sizeText(limit)} in CONTINUATION frames (maxHeaderSize is ${sizeText(this.#limits.maxHeaderSize)})`,
      );
    }
  }

  #onHeaderBlock(frame: Frame, block: Uint8Array, endStream: boolean): void {
    const stream = this.#streamOf(frame);
    let fields: [string, string][] | null;
    try {
      // Decoded even for a stream that is over: the table must stay in step with the server's.
      fields = this.#decoder.decode(block, stream?.headBudget ?? this.#limits.maxHeaderSize);
    } catch (error) {
      if (!(error instanceof HpackError)) throw error;
      throw new ConnectionError(ErrorCode.CompressionError, `a header block that does not decode: ${error.message}`);
    }
    if (!stream || stream.failure !== null) return;
    stream.progress.answered = true;
    if (fields === null) {
      const what = stream.head === null ? "response head" : "trailer fields";
      return this.#reset(
        stream,
        ErrorCode.Cancel,
        new PinnedFetchError(
          "ERR_HTTP",
          `The server sent more than ${sizeText(this.#limits.maxHeaderSize)} of ${what} (the maxHeaderSize option).`,
        ),
      );
    }
    for (const [name, value] of fields) stream.headBudget -= name.length + value.length + 32;
    if (stream.remoteEnded) throw new StreamError(ErrorCode.StreamClosed, "HEADERS after the end of the stream");
    if (stream.head !== null) {
      // Trailers: read and dropped, as over HTTP/1.1.
      if (!endStream)
        throw new StreamError(ErrorCode.ProtocolError, "a second header block that does not end the stream");
      for (const [name, value] of fields) checkField(name, value);
      this.#endRemote(stream);
      return stream.readerWakes();
    }
    const head = responseHead(fields);
    if (head.status < 200) {
      if (endStream)
        throw new StreamError(ErrorCode.ProtocolError, `an interim ${head.status} response that ends the stream`);
      return; // An interim response; its size counts towards the final head's.
    }
    stream.head = head;
    stream.headBudget = this.#limits.maxHeaderSize;
    stream.contentLength = contentLength(head);
    if (endStream) {
      if (!stream.bodiless && stream.contentLength !== null && stream.contentLength !== 0) {
        throw new StreamError(ErrorCode.ProtocolError, `no body, though its Content-Length is ${stream.contentLength}`);
      }
      this.#endRemote(stream);
    }
    stream.resolveHead(head);
  }

  #onReset(frame: Frame): void {
    if (frame.stream === 0) throw new ConnectionError(ErrorCode.ProtocolError, "RST_STREAM on stream 0");
    if (frame.payload.length !== 4)
      throw new ConnectionError(ErrorCode.FrameSizeError, "an RST_STREAM frame not of 4 bytes");
    const stream = this.#streamOf(frame);
    if (!stream) return;
    const code = readUint32(frame.payload, 0);
    stream.localEnded = true; // It must not send on a reset stream, RST_STREAM included.
    const truncated = stream.contentLength !== null && stream.received !== stream.contentLength && !stream.bodiless;
    if (code === ErrorCode.NoError && stream.head !== null && !truncated) {
      // The response is complete, and the server wants no more of the request (RFC 9113, section 8.1). Node's
      // server sends it in place of END_STREAM at times; as curl and Node's client do, it ends the body then,
      // unless the body is shorter than its Content-Length.
      stream.remoteEnded = true;
      stream.readerWakes();
      return this.#stopSending(stream);
    }
    // REFUSED_STREAM alone says the server did not process it; any other reset is its answer to the request.
    stream.progress.unprocessed = code === ErrorCode.RefusedStream && !stream.progress.answered;
    stream.progress.answered ||= code !== ErrorCode.RefusedStream;
    this.#failStream(
      stream,
      new PinnedFetchError(
        "ERR_HTTP",
        `${this.#tls.host} reset the stream of the ${stream.method} request (${errorName(code)})` +
          (stream.head === null ? " before answering it." : " in the middle of the response body."),
      ),
    );
  }

  #onSettings(frame: Frame): void {
    if (frame.stream !== 0) throw new ConnectionError(ErrorCode.ProtocolError, "SETTINGS on a stream");
    const payload = frame.payload;
    if (frame.flags & Flag.Ack) {
      if (payload.length !== 0)
        throw new ConnectionError(ErrorCode.FrameSizeError, "a SETTINGS acknowledgement with a payload");
      return;
    }
    if (payload.length % 6 !== 0)
      throw new ConnectionError(ErrorCode.FrameSizeError, "a SETTINGS frame not a multiple of 6 bytes");
    for (let at = 0; at < payload.length; at += 6) {
      const value = readUint32(payload, at + 2);
      switch ((payload[at]! << 8) | payload[at + 1]!) {
        case Setting.HeaderTableSize:
          this.#encoder.setMaxTableSize(Math.min(value, 4096));
          break;
        case Setting.EnablePush:
          if (value !== 0) throw new ConnectionError(ErrorCode.ProtocolError, `SETTINGS_ENABLE_PUSH of ${value}`);
          break;
        case Setting.MaxConcurrentStreams:
          this.#maxStreams = value;
          break;
        case Setting.InitialWindowSize:
          this.#setInitialWindow(value);
          break;
        case Setting.MaxFrameSize:
          if (value < DEFAULT_MAX_FRAME_SIZE || value > 0xffffff) {
            throw new ConnectionError(ErrorCode.ProtocolError, `SETTINGS_MAX_FRAME_SIZE of ${value}`);
          }
          this.#maxFrameSize = value;
          break;
      }
    }
    this.#sendControl(new Uint8Array([0, 0, 0, FrameType.Settings, Flag.Ack, 0, 0, 0, 0]));
    this.#settled = true;
    clearTimeout(this.#settingsTimer);
    this.onCapacity();
  }

  /** A new initial window changes every stream's by the difference (RFC 9113, section 6.9.2). */
  #setInitialWindow(value: number): void {
    if (value > MAX_INT31)
      throw new ConnectionError(ErrorCode.FlowControlError, `SETTINGS_INITIAL_WINDOW_SIZE of ${value}`);
    const change = value - this.#initialSendWindow;
    this.#initialSendWindow = value;
    for (const stream of this.#streams.values()) {
      stream.sendWindow += change;
      if (stream.sendWindow > MAX_INT31) {
        throw new ConnectionError(ErrorCode.FlowControlError, "SETTINGS_INITIAL_WINDOW_SIZE that overflows a window");
      }
      if (change > 0) stream.senderWakes();
    }
  }

  #onPing(frame: Frame): void {
    if (frame.stream !== 0) throw new ConnectionError(ErrorCode.ProtocolError, "PING on a stream");
    if (frame.payload.length !== 8) throw new ConnectionError(ErrorCode.FrameSizeError, "a PING frame not of 8 bytes");
    if (frame.flags & Flag.Ack) return;
    const pong = new Uint8Array(17);
    writeHeader(pong, 0, 8, FrameType.Ping, Flag.Ack, 0);
    pong.set(frame.payload, 9);
    this.#sendControl(pong);
  }

  #onGoAway(frame: Frame): void {
    if (frame.stream !== 0) throw new ConnectionError(ErrorCode.ProtocolError, "GOAWAY on a stream");
    if (frame.payload.length < 8) throw new ConnectionError(ErrorCode.FrameSizeError, "a GOAWAY frame under 8 bytes");
    const last = readUint32(frame.payload, 0) & MAX_INT31;
    if (this.#goAway !== null && last > this.#goAway) {
      throw new ConnectionError(ErrorCode.ProtocolError, "a GOAWAY whose last stream id grew");
    }
    this.#goAway = last;
    const code = readUint32(frame.payload, 4);
    for (const stream of [...this.#streams.values()]) {
      if (stream.id <= last) continue;
      stream.localEnded = true;
      stream.progress.unprocessed = true;
      this.#failStream(stream, this.#goneAway(stream.method, code));
    }
    if (this.#streams.size === 0) void this.#tls.close();
  }

  #closed(): PinnedFetchError {
    return new PinnedFetchError("ERR_HTTP", `${this.#tls.host} closed the HTTP/2 connection.`);
  }

  #goneAway(method: string, code: number = ErrorCode.NoError): PinnedFetchError {
    return new PinnedFetchError(
      "ERR_HTTP",
      `${this.#tls.host} closed the HTTP/2 connection (GOAWAY, ${errorName(code)}) before it processed the ${method} request.`,
    );
  }

  #onWindowUpdate(frame: Frame): void {
    if (frame.payload.length !== 4)
      throw new ConnectionError(ErrorCode.FrameSizeError, "a WINDOW_UPDATE frame not of 4 bytes");
    const increment = readUint32(frame.payload, 0) & MAX_INT31;
    if (frame.stream === 0) {
      if (increment === 0) throw new ConnectionError(ErrorCode.ProtocolError, "a WINDOW_UPDATE of 0");
      this.#sendWindow += increment;
      if (this.#sendWindow > MAX_INT31)
        throw new ConnectionError(ErrorCode.FlowControlError, "a WINDOW_UPDATE over 2^31 - 1");
      for (const stream of this.#windowWaiters) stream.senderWakes();
      return;
    }
    const stream = this.#streamOf(frame);
    if (!stream) return;
    if (increment === 0) throw new StreamError(ErrorCode.ProtocolError, "a WINDOW_UPDATE of 0");
    stream.sendWindow += increment;
    if (stream.sendWindow > MAX_INT31)
      throw new StreamError(ErrorCode.FlowControlError, "a WINDOW_UPDATE over 2^31 - 1");
    stream.senderWakes();
  }

  #endLocal(stream: Stream): void {
    stream.localEnded = true;
    stream.requestBody = null;
    if (stream.remoteEnded) this.#finish(stream);
  }

  #endRemote(stream: Stream): void {
    if (stream.contentLength !== null && stream.received !== stream.contentLength && !stream.bodiless) {
      throw new StreamError(
        ErrorCode.ProtocolError,
        `a body of ${stream.received} bytes, though its Content-Length is ${stream.contentLength}`,
      );
    }
    stream.remoteEnded = true;
    // The response is whole: what is left of the request is not wanted (as over HTTP/1.1, it is not sent).
    if (!stream.localEnded) {
      this.#send(uint32Frame(FrameType.RstStream, stream.id, ErrorCode.Cancel));
      this.#stopSending(stream);
    } else this.#finish(stream);
  }

  #stopSending(stream: Stream): void {
    stream.localEnded = true;
    stream.requestBody?.cancel().catch(() => {});
    stream.requestBody = null;
    if (stream.remoteEnded) this.#finish(stream);
  }

  /** Ends `stream` with `error` and tells the server with RST_STREAM `code` (unless the stream is over). */
  #reset(stream: Stream, code: number, error: unknown): void {
    if (!this.#streams.has(stream.id)) return;
    if (!stream.localEnded || !stream.remoteEnded) {
      this.#send(uint32Frame(FrameType.RstStream, stream.id, code));
    }
    stream.localEnded = true;
    this.#failStream(stream, error);
  }

  /** Fails what waits on `stream` with `error`: its head, its body, its request body; the stream is over. */
  #failStream(stream: Stream, error: unknown): void {
    if (stream.failure === null) stream.failure = error;
    stream.rejectHead(error);
    stream.requestBody?.cancel(error).catch(() => {});
    stream.requestBody = null;
    // Dropped unread: the connection's window gets them back.
    const unread = stream.chunks.reduce((sum, chunk) => sum + chunk.length, 0);
    stream.chunks.length = 0;
    this.#consumed(null, unread);
    stream.readerWakes();
    stream.senderWakes();
    this.#finish(stream);
  }

  #finish(stream: Stream): void {
    if (!this.#streams.delete(stream.id)) return;
    this.#windowWaiters.delete(stream);
    stream.onIdle(this.#failure === null);
    if (this.#goAway !== null && this.#streams.size === 0) void this.#tls.close();
  }

  #failStreams(error: (stream: Stream) => unknown): void {
    clearTimeout(this.#settingsTimer);
    for (const stream of [...this.#streams.values()]) {
      stream.localEnded = true;
      this.#failStream(stream, error(stream));
    }
  }

  #malformed(error: StreamError): PinnedFetchError {
    return new PinnedFetchError(
      "ERR_HTTP",
      `${this.#tls.host} sent a malformed HTTP/2 response: ${error.message} (${errorName(error.code)}).`,
    );
  }

  /** The server broke the protocol: GOAWAY with its code, every stream fails, the connection closes. */
  #protocolError(error: ConnectionError): void {
    if (this.#failure !== null) return;
    const failure = new PinnedFetchError(
      "ERR_HTTP",
      `${this.#tls.host} broke the HTTP/2 protocol: ${error.message} (${errorName(error.code)}). The connection was closed.`,
    );
    this.#failure = failure;
    this.#send(goAwayFrame(0, error.code));
    this.#failStreams(() => failure);
    this.destroy();
  }

  /** The connection ended (`error`: how, or null for the server's close_notify): streams still open fail. */
  #ended(error: unknown): void {
    if (this.#failure !== null) return;
    this.#failure = error ?? this.#closed();
    this.#failStreams((stream) => {
      if (error instanceof PinnedFetchError) return error;
      const before = stream.head === null ? "without answering the request" : "before the end of the response body";
      return new PinnedFetchError("ERR_HTTP", `${this.#tls.host} closed the HTTP/2 connection ${before}.`, {
        cause: error ?? undefined,
      });
    });
    this.#tls.destroy();
  }
}

/**
 * The body that arrived, taken from `chunks` as one chunk of up to JOINED_LIMIT: a DATA frame holds at most
 * 16 KiB, and each chunk costs a read of every stream layer above (in Deno, more than the copy).
 */
function joined(chunks: Uint8Array[]): Uint8Array | undefined {
  let count = 0;
  let size = 0;
  while (count < chunks.length && size + chunks[count]!.length <= JOINED_LIMIT) size += chunks[count++]!.length;
  return count <= 1 ? chunks.shift() : concatenate(chunks.splice(0, count), size);
}

/**
 * `data`, or a copy of it where it is a small part of its read's buffer: a view keeps the whole buffer alive, and
 * the windows count only what the frames carry.
 */
function owned(data: Uint8Array): Uint8Array {
  return data.length * 4 < data.buffer.byteLength ? data.slice() : data;
}

/** The payload of a DATA or HEADERS frame without its padding. */
function unpadded(frame: Frame): Uint8Array {
  if (!(frame.flags & Flag.Padded)) return frame.payload;
  const padding = frame.payload[0];
  if (padding === undefined || padding >= frame.payload.length) {
    throw new ConnectionError(ErrorCode.ProtocolError, "padding as long as the frame");
  }
  return frame.payload.subarray(1, frame.payload.length - padding);
}
