// The WHATWG WebSocket interface on a pinned TLS connection: RFC 6455 for a client, with permessage-deflate
// (RFC 7692). The upgrade request is written only once the connection's certificate and pins have passed.
import { PinnedFetchError, shownUrl } from "../errors.js";
import { canonicalHost } from "../host.js";
import { HEADERS_TIMEOUT } from "../http/connection.js";
import { HEAD_END, TOKEN, parseHead, sizeText } from "../http/message.js";
import { ByteReader } from "../http/reader.js";
import { checkedHeaders } from "../request.js";
import { type MessageDeflate, messageDeflate } from "../runtime/message-deflate.js";
import { abortable, deadline } from "../signals.js";
import type { Connection } from "../tls/connection.js";
import {
  FrameParser,
  Opcode,
  ProtocolViolation,
  type Received,
  closeFrame,
  encodeFrame,
  parseClose,
  strictUtf8,
} from "./frames.js";
import { type Accepted, type Upgrade, acceptedUpgrade, checkCallerHeaders, upgradeRequest } from "./handshake.js";

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;
/** How long a close handshake may take before the connection is dropped (RFC 6455 lets a client stop waiting). */
const CLOSE_TIMEOUT = 5_000;
/** How long a close frame or close_notify may wait behind a congested socket once the connection is ending. */
const CLOSE_GRACE = 1_000;
/** Messages smaller than this go uncompressed, as in `ws`: deflate would cost more than it saves. */
const COMPRESS_THRESHOLD = 1024;
const encoder = new TextEncoder();

/** What a WebSocket of one pinned fetch connects with and is limited by. */
export interface WebSocketSettings {
  /** A verified TLS connection to `host`:`port`, offering ALPN http/1.1; `signal` abandons it. */
  connect(host: string, port: number, signal: AbortSignal | undefined): Promise<Connection>;
  maxHeaderSize: number;
  maxMessageSize: number;
  perMessageDeflate: boolean;
  /** Milliseconds from the constructor until `open` (the timeout option); no limit beyond the connect's otherwise. */
  timeout: number | undefined;
  sockets: OpenWebSockets;
  /** The runtime's: keeps a timer from holding the process open. */
  unrefTimer(timer: ReturnType<typeof setTimeout>): void;
}

/** The third argument of the constructor: what a browser cannot send, and `ws` can. */
export interface WebSocketInit {
  /** Header fields for the upgrade request, such as Authorization. */
  headers?: ConstructorParameters<typeof Headers>[0];
}

/** The WebSockets of one pinned fetch, which its `close()` closes. */
export class OpenWebSockets {
  readonly #closers = new Set<() => Promise<void>>();

  add(closer: () => Promise<void>): () => void {
    this.#closers.add(closer);
    return () => this.#closers.delete(closer);
  }

  /** Closes every one with 1001 (going away), or abandons its opening, and waits until each has closed. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.#closers].map((close) => close()));
  }
}

/** The settings of each pinned fetch's WebSocket class. */
const settingsOf = new WeakMap<object, WebSocketSettings>();

// The runtime's CloseEvent and ErrorEvent are looked up when an event is made, not at import: in Node 24 the first
// look-up loads undici (about 80 ms of CPU), which a program that never opens a WebSocket need not pay for.

/** A close event with the runtime's fields, where the runtime has none (Node before 23). */
class FallbackCloseEvent extends Event {
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
  constructor(type: string, init: CloseEventInit = {}) {
    super(type, init);
    this.code = init.code ?? 0;
    this.reason = init.reason ?? "";
    this.wasClean = init.wasClean ?? false;
  }
}

/** An error event with the runtime's fields, where the runtime has none (Node). */
class FallbackErrorEvent extends Event {
  readonly message: string;
  readonly error: unknown;
  readonly filename = "";
  readonly lineno = 0;
  readonly colno = 0;
  constructor(type: string, init: ErrorEventInit = {}) {
    super(type, init);
    this.message = init.message ?? "";
    this.error = init.error;
  }
}

/** How binary messages are given: the standard's two forms. */
type BinaryType = "blob" | "arraybuffer";
type Handler = ((this: PinnedWebSocket, event: Event) => unknown) | null;

/**
 * A WebSocket (wss: only) whose connection is verified under a pinned fetch's pins before a byte of the upgrade is
 * sent. Made as `new fetch.WebSocket(url, protocols?, { headers }?)`.
 */
export class PinnedWebSocket extends EventTarget {
  static readonly CONNECTING = CONNECTING;
  static readonly OPEN = OPEN;
  static readonly CLOSING = CLOSING;
  static readonly CLOSED = CLOSED;
  declare readonly CONNECTING: 0;
  declare readonly OPEN: 1;
  declare readonly CLOSING: 2;
  declare readonly CLOSED: 3;

  readonly #settings: WebSocketSettings;
  readonly #url: URL;
  readonly #host: string;
  /** The origin message events carry, worked out once. */
  readonly #origin: string;
  #readyState = CONNECTING;
  #protocol = "";
  #extensions = "";
  #binaryType: BinaryType = "blob";
  #bufferedAmount = 0;
  #tls: Connection | null = null;
  #reader: ByteReader | null = null;
  #deflate: MessageDeflate | null = null;
  /** Abandons the opening handshake: close() before `open`, or the pinned fetch's close(). */
  readonly #opening = new AbortController();
  /** Sends waiting on something asynchronous (a Blob's bytes, compression), in order; null when none waits. */
  #pending: Promise<void> | null = null;
  #closeSent = false;
  /** Whether the connection is being ended (#shutdown): nothing more is read as frames, and its end is no failure. */
  #ending = false;
  /** The pong being written (null), with the payload of a ping that came meanwhile; undefined while none is. */
  #pong: Uint8Array | null | undefined;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #handlers = new Map<string, { handler: Handler; listener: (event: Event) => void }>();
  readonly #unregister: () => void;
  readonly #closed: Promise<void>;
  #onClosed!: () => void;

  constructor(url: string | URL, protocols: string | readonly string[] = [], init: WebSocketInit = {}) {
    super();
    let settings: WebSocketSettings | undefined;
    for (let made: object | null = new.target; made && !settings; made = Object.getPrototypeOf(made)) {
      settings = settingsOf.get(made);
    }
    if (!settings) {
      throw new TypeError(
        "PinnedWebSocket is made by a pinned fetch, under its pins: new (createPinnedFetch(options).WebSocket)(url).",
      );
    }
    this.#settings = settings;
    this.#url = webSocketUrl(url);
    this.#host = canonicalHost(this.#url.hostname)!;
    this.#origin = this.#url.origin;
    const offered = typeof protocols === "string" ? [protocols] : [...protocols];
    checkProtocols(offered);
    const headers = new Headers(checkedHeaders(init?.headers));
    checkCallerHeaders(headers);
    this.#closed = new Promise((resolve) => (this.#onClosed = resolve));
    this.#unregister = settings.sockets.add(() => this.#goAway());
    void this.#run(offered, headers);
  }

  get url(): string {
    return this.#url.href;
  }

  get readyState(): number {
    return this.#readyState;
  }

  /** The subprotocol the server chose, or "". */
  get protocol(): string {
    return this.#protocol;
  }

  /** The extensions the server agreed to, as it named them, or "". */
  get extensions(): string {
    return this.#extensions;
  }

  /** Bytes passed to send() that have not left yet. */
  get bufferedAmount(): number {
    return this.#bufferedAmount;
  }

  get binaryType(): BinaryType {
    return this.#binaryType;
  }

  set binaryType(type: BinaryType) {
    if (type === "blob" || type === "arraybuffer") this.#binaryType = type;
  }

  get onopen(): Handler {
    return this.#handler("open");
  }
  set onopen(handler: Handler) {
    this.#setHandler("open", handler);
  }
  get onmessage(): Handler {
    return this.#handler("message");
  }
  set onmessage(handler: Handler) {
    this.#setHandler("message", handler);
  }
  get onerror(): Handler {
    return this.#handler("error");
  }
  set onerror(handler: Handler) {
    this.#setHandler("error", handler);
  }
  get onclose(): Handler {
    return this.#handler("close");
  }
  set onclose(handler: Handler) {
    this.#setHandler("close", handler);
  }

  /** Sends a message: text for a string, binary for bytes or a Blob. */
  send(data: string | ArrayBufferLike | ArrayBufferView | Blob): void {
    if (this.#readyState === CONNECTING) {
      throw new DOMException(
        "The WebSocket is still connecting: send() once its open event has fired.",
        "InvalidStateError",
      );
    }
    let opcode: number = Opcode.Binary;
    let bytes: Uint8Array | Blob;
    if (data instanceof ArrayBuffer) bytes = new Uint8Array(data);
    else if (ArrayBuffer.isView(data)) bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    else if (data instanceof Blob) bytes = data;
    else {
      opcode = Opcode.Text;
      bytes = encoder.encode(String(data));
    }
    const size = bytes instanceof Blob ? bytes.size : bytes.length;
    this.#bufferedAmount += size;
    // Once closing, the standard counts what is sent but sends nothing.
    if (this.#readyState !== OPEN) return;
    const compress = this.#deflate !== null && size >= COMPRESS_THRESHOLD;
    if (this.#pending === null && bytes instanceof Uint8Array && !compress) {
      this.#sendFrame(encodeFrame(opcode, bytes, false), size);
      return;
    }
    // Copied now: the caller may change its buffer once send() returns.
    const payload = bytes instanceof Uint8Array ? bytes.slice() : bytes;
    this.#afterPending(async () => {
      let message: Uint8Array = payload instanceof Blob ? new Uint8Array(await payload.arrayBuffer()) : payload;
      if (compress) message = await this.#deflate!.compress(message);
      if (this.#readyState !== CLOSED) this.#sendFrame(encodeFrame(opcode, message, compress), size);
    });
  }

  /** Starts the closing handshake with `code` (1000, or 3000 to 4999) and `reason` (at most 123 bytes of UTF-8). */
  close(code?: number, reason?: string): void {
    if (code !== undefined && code !== 1000 && !(code >= 3000 && code <= 4999)) {
      throw new DOMException(
        `close() takes the code 1000 or one from 3000 to 4999, not ${code}: the others are the protocol's own.`,
        "InvalidAccessError",
      );
    }
    const reasonBytes = reason === undefined ? 0 : encoder.encode(reason).length;
    if (reasonBytes > 123) {
      throw new DOMException(
        `The reason given to close() is ${reasonBytes} bytes of UTF-8; a close frame holds at most 123.`,
        "SyntaxError",
      );
    }
    if (this.#readyState === CONNECTING) {
      this.#abandonOpening(
        new PinnedFetchError(
          "ERR_CONNECT",
          `close() was called before the WebSocket to ${shownUrl(this.#url)} opened.`,
          {
            host: this.#host,
          },
        ),
      );
    } else if (this.#readyState === OPEN) {
      this.#startClosing(code, reason);
    }
  }

  #handler(type: string): Handler {
    return this.#handlers.get(type)?.handler ?? null;
  }

  /** An event handler attribute: its listener keeps the place where the first handler was set. */
  #setHandler(type: string, value: Handler): void {
    const handler = typeof value === "function" ? value : null;
    const entry = this.#handlers.get(type);
    if (entry && handler) {
      entry.handler = handler;
    } else if (entry) {
      this.removeEventListener(type, entry.listener);
      this.#handlers.delete(type);
    } else if (handler) {
      const listener = (event: Event) => this.#handlers.get(type)?.handler?.call(this, event);
      this.#handlers.set(type, { handler, listener });
      this.addEventListener(type, listener);
    }
  }

  async #run(protocols: readonly string[], headers: Headers): Promise<void> {
    let accepted: Accepted;
    try {
      accepted = await this.#open(protocols, headers);
    } catch (error) {
      // A refused upgrade leaves the connection open: nothing else would close it.
      this.#tls?.destroy();
      this.#fail(1006, asError(error, this.#host));
      return;
    }
    if (this.#readyState !== CONNECTING) {
      // Abandoned as the answer came.
      this.#tls?.destroy();
      this.#fail(1006, this.#opening.signal.reason as PinnedFetchError);
      return;
    }
    this.#protocol = accepted.protocol;
    this.#extensions = accepted.extensions;
    if (accepted.deflate) this.#deflate = messageDeflate(accepted.deflate);
    this.#readyState = OPEN;
    this.dispatchEvent(new Event("open"));
    await this.#receive(new FrameParser(this.#settings.maxMessageSize, this.#deflate !== null));
  }

  /** Connects, writes the upgrade once the connection is verified, and reads the answer, within the timeout. */
  async #open(protocols: readonly string[], headers: Headers): Promise<Accepted> {
    const { connect, timeout, maxHeaderSize, perMessageDeflate, unrefTimer } = this.#settings;
    const host = this.#host;
    const port = Number(this.#url.port || 443);
    const limit = deadline(
      this.#opening.signal,
      timeout,
      () =>
        `The WebSocket to ${shownUrl(this.#url)} did not open within ${timeout} ms (the timeout option). ` +
        "Check the server, or raise timeout.",
    );
    try {
      const tls = await connect(host, port, limit.signal);
      this.#tls = tls;
      // Abandoned as it connected: not a byte of the upgrade then.
      limit.signal?.throwIfAborted();
      tls.setKeepsProcessAlive(true);
      const reader = (this.#reader = new ByteReader(tls));
      const upgrade = upgradeRequest(this.#url, protocols, headers, perMessageDeflate);
      const head = await abortable(this.#upgrade(upgrade, reader, maxHeaderSize), limit.signal, () => tls.destroy(), {
        ms: HEADERS_TIMEOUT,
        error: () =>
          new PinnedFetchError(
            "ERR_TIMEOUT",
            `${host} did not answer the WebSocket upgrade within ${HEADERS_TIMEOUT / 1000} s.`,
            {
              host,
            },
          ),
        unref: unrefTimer,
      });
      return acceptedUpgrade(head, host, upgrade, protocols, perMessageDeflate);
    } finally {
      limit.dispose();
    }
  }

  async #upgrade(upgrade: Upgrade, reader: ByteReader, maxHeaderSize: number) {
    await this.#tls!.write(upgrade.bytes);
    const bytes = await reader.readUntil(
      HEAD_END,
      maxHeaderSize,
      `${this.#host} answered the WebSocket upgrade with more than ${sizeText(maxHeaderSize)} of head (the maxHeaderSize option).`,
    );
    if (bytes === null) {
      throw new PinnedFetchError(
        "ERR_HTTP",
        `${this.#host} closed the connection without answering the WebSocket upgrade.`,
        {
          host: this.#host,
        },
      );
    }
    return parseHead(bytes);
  }

  /** Reads frames until the connection ends, dispatching messages and answering control frames. */
  async #receive(parser: FrameParser): Promise<void> {
    for (;;) {
      let chunk: Uint8Array | null;
      try {
        chunk = await this.#reader!.read(Number.MAX_SAFE_INTEGER);
      } catch (error) {
        return this.#ended(error);
      }
      if (this.#readyState === CLOSED || this.#ending) return;
      if (chunk === null) return this.#ended(null);
      try {
        let violation: ProtocolViolation | null = null;
        let frames: Received[];
        try {
          frames = parser.push(chunk);
        } catch (error) {
          if (!(error instanceof ProtocolViolation)) throw error;
          // The frames before it are handled first: a message that arrived whole is not lost to a later bad frame.
          [violation, frames] = [error, error.received];
        }
        for (const received of frames) {
          const handling = this.#handle(received);
          if (handling) await handling;
          if (this.#readyState === CLOSED || this.#ending) return;
        }
        if (violation) throw violation;
      } catch (error) {
        return error instanceof ProtocolViolation ? this.#violated(error.closeCode, error.message) : this.#ended(error);
      }
    }
  }

  /** Handles one message or control frame; a promise while a message is being decompressed. */
  #handle(received: Received): Promise<void> | undefined {
    if (received.kind === "message") {
      if (!received.compressed) return this.#dispatchMessage(received.text, received.payload);
      const limit = this.#settings.maxMessageSize;
      return this.#deflate!.decompress(received.payload, limit).then(
        (payload) => {
          if (payload === null) {
            throw new ProtocolViolation(1009, `message that decompresses to more than ${limit} bytes`);
          }
          this.#dispatchMessage(received.text, payload);
        },
        (error: unknown) => {
          throw new ProtocolViolation(1007, `compressed message that does not inflate (${(error as Error).message})`);
        },
      );
    }
    if (received.opcode === Opcode.Ping) {
      this.#answerPing(received.payload);
    } else if (received.opcode === Opcode.Close) {
      this.#closeReceived(parseClose(received.payload));
    }
    return undefined;
  }

  #dispatchMessage(text: boolean, payload: Uint8Array): undefined {
    // The standard drops what arrives once close() was called.
    if (this.#readyState !== OPEN) return;
    let data: string | ArrayBuffer | Blob;
    if (text) {
      try {
        data = strictUtf8.decode(payload);
      } catch {
        throw new ProtocolViolation(1007, "text message that is not valid UTF-8");
      }
    } else if (this.#binaryType === "arraybuffer") {
      data =
        payload.byteOffset === 0 && payload.byteLength === payload.buffer.byteLength
          ? (payload.buffer as ArrayBuffer)
          : // Uint8Array's slice: a Node Buffer's own slice() would share its (pooled) memory.
            (Uint8Array.prototype.slice.call(payload).buffer as ArrayBuffer);
    } else {
      data = new Blob([payload as Uint8Array<ArrayBuffer>]);
    }
    this.dispatchEvent(new MessageEvent("message", { data, origin: this.#origin }));
    return undefined;
  }

  /** The server's close frame: answered with the same code (if ours was not sent yet), then the connection ends. */
  #closeReceived({ code, reason }: { code: number; reason: string }): void {
    if (!this.#closeSent) {
      this.#closeSent = true;
      this.#readyState = CLOSING;
      this.#afterPending(() => this.#writeControl(closeFrame(code === 1005 ? undefined : code)));
    }
    void this.#shutdown().then(() => this.#finish(code, reason, true));
  }

  /** close() or fetch.close() while open: sends the close frame after what is queued, and waits for the server's. */
  #startClosing(code: number | undefined, reason: string | undefined): void {
    this.#readyState = CLOSING;
    this.#closeSent = true;
    // The standard's rule: a reason without a code goes with 1000.
    this.#afterPending(() => this.#writeControl(closeFrame(code ?? (reason ? 1000 : undefined), reason)));
    this.#closeTimer = setTimeout(() => {
      this.#tls?.destroy();
      this.#finish(1006, "", false);
    }, CLOSE_TIMEOUT);
  }

  /** The server broke the protocol (`problem` says how): a close frame with `code` says why, then the connection ends. */
  #violated(code: number, problem: string): void {
    if (this.#readyState === CLOSED || this.#ending) return;
    // Closing while the connection ends: send() then counts what it is given, and sends nothing.
    this.#readyState = CLOSING;
    if (!this.#closeSent) {
      this.#closeSent = true;
      this.#writeControl(closeFrame(code));
    }
    const host = this.#host;
    const message =
      code === 1009
        ? `${host} sent a ${problem}, over maxMessageSize (${sizeText(this.#settings.maxMessageSize)}): the WebSocket ` +
          "was closed with 1009. Raise the maxMessageSize option if its messages are meant to be that large."
        : `${host} broke the WebSocket protocol: ${problem}. The WebSocket was closed with ${code}.`;
    const error = new PinnedFetchError("ERR_WEBSOCKET", message, { host });
    void this.#shutdown().then(() => this.#fail(code, error));
  }

  /** The connection ended (`error`: failed) before or without a close frame from the server. */
  #ended(error: unknown): void {
    if (this.#readyState === CLOSED || this.#ending) return;
    this.#tls?.destroy();
    const cause = error ?? undefined;
    const failure =
      error instanceof PinnedFetchError && error.code !== "ERR_TLS"
        ? error
        : new PinnedFetchError(
            "ERR_CONNECT",
            `${this.#host} ended the WebSocket connection without a close frame` +
              (error instanceof Error ? `: ${error.message}` : "."),
            { host: this.#host, cause },
          );
    this.#fail(1006, failure);
  }

  /**
   * Abandons a connection that has not opened: close() or fetch.close() before `open`. Its opening then fails with
   * `reason`, so that the error and close events come later, as the standard has them, not inside close().
   */
  #abandonOpening(reason: PinnedFetchError): void {
    this.#readyState = CLOSING;
    this.#opening.abort(reason);
    this.#tls?.destroy();
  }

  /** fetch.close(): closes with 1001, or abandons the opening, and resolves once closed. */
  #goAway(): Promise<void> {
    if (this.#readyState === CONNECTING) {
      this.#abandonOpening(
        new PinnedFetchError(
          "ERR_CONNECT",
          `The pinned fetch was closed before the WebSocket to ${shownUrl(this.#url)} opened.`,
          {
            host: this.#host,
          },
        ),
      );
    } else if (this.#readyState === OPEN) {
      this.#startClosing(1001, "");
    }
    return this.#closed;
  }

  /** Runs `send` after the sends that wait on something, keeping their order. */
  #afterPending(send: () => void | Promise<void>): void {
    const sending = this.#pending ? this.#pending.then(send) : send();
    if (!sending) return;
    const next = sending.catch((error: unknown) => this.#ended(error));
    this.#pending = next;
    void next.then(() => {
      if (this.#pending === next) this.#pending = null;
    });
  }

  #sendFrame(frame: Uint8Array, size: number): void {
    this.#tls!.write(frame).then(
      () => (this.#bufferedAmount -= size),
      (error: unknown) => this.#ended(error),
    );
  }

  /**
   * Answers a ping with a pong. While one pong waits to be written, only the latest ping gets one after it (RFC 6455
   * allows that), so a server that pings without reading cannot make pongs pile up.
   */
  #answerPing(payload: Uint8Array): void {
    if (this.#closeSent) return;
    if (this.#pong !== undefined) {
      this.#pong = payload.slice();
      return;
    }
    this.#pong = null;
    this.#tls!.write(encodeFrame(Opcode.Pong, payload, false)).then(
      () => {
        const next = this.#pong;
        this.#pong = undefined;
        if (next) this.#answerPing(next);
      },
      (error: unknown) => this.#ended(error),
    );
  }

  #writeControl(frame: Uint8Array): void {
    this.#tls!.write(frame).catch((error: unknown) => this.#ended(error));
  }

  /**
   * Ends TLS after what is queued to send (a close frame), and reads on to the server's end, at most CLOSE_GRACE in
   * all: closing a socket with bytes unread sends a reset, which can overtake the close frame.
   */
  async #shutdown(): Promise<void> {
    this.#ending = true;
    const tls = this.#tls!;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE)));
    const sent = (this.#pending ?? Promise.resolve()).then(() => tls.end()).catch(() => {});
    await Promise.race([Promise.all([sent, this.#drain()]), grace]);
    clearTimeout(timer);
    tls.destroy();
  }

  /** Reads and drops what the server still sends, until its end. */
  async #drain(): Promise<void> {
    try {
      while ((await this.#reader!.read(Number.MAX_SAFE_INTEGER)) !== null);
    } catch {
      // A failed connection has nothing more to read.
    }
  }

  /** Closes with `code`, after an error event for `error`. */
  #fail(code: number, error: PinnedFetchError): void {
    this.#finish(code, "", false, error);
  }

  /** The connection is closed: the close event (after an error event, if it failed), once. */
  #finish(code: number, reason: string, wasClean: boolean, error?: PinnedFetchError): void {
    if (this.#readyState === CLOSED) return;
    this.#readyState = CLOSED;
    clearTimeout(this.#closeTimer);
    this.#deflate?.close();
    this.#unregister();
    if (error)
      this.dispatchEvent(new (globalThis.ErrorEvent ?? FallbackErrorEvent)("error", { error, message: error.message }));
    this.dispatchEvent(new (globalThis.CloseEvent ?? FallbackCloseEvent)("close", { code, reason, wasClean }));
    this.#onClosed();
  }
}

for (const [name, value] of Object.entries({ CONNECTING, OPEN, CLOSING, CLOSED })) {
  Object.defineProperty(PinnedWebSocket.prototype, name, { value, enumerable: true });
}

/** The WebSocket class of one pinned fetch: its constructor connects under that fetch's settings. */
export function boundWebSocket(settings: WebSocketSettings): typeof PinnedWebSocket {
  const WebSocket = class WebSocket extends PinnedWebSocket {};
  settingsOf.set(WebSocket, settings);
  return WebSocket;
}

/** The URL a WebSocket connects to, as the standard parses it; a SyntaxError for one that cannot be pinned. */
function webSocketUrl(input: string | URL): URL {
  let url: URL;
  try {
    url = new URL(String(input));
  } catch {
    throw new DOMException("The URL given to WebSocket cannot be parsed as a URL.", "SyntaxError");
  }
  if (url.protocol === "https:") url.protocol = "wss:";
  if (url.protocol === "ws:" || url.protocol === "http:") {
    throw new DOMException(
      `The URL given to WebSocket is not wss: (${url.protocol}//${url.host}): a plaintext WebSocket cannot be pinned. Use wss:.`,
      "SyntaxError",
    );
  }
  if (url.protocol !== "wss:") {
    throw new DOMException(
      `The URL given to WebSocket must be wss: (or https:), not ${url.protocol}//${url.host}.`,
      "SyntaxError",
    );
  }
  if (url.hash !== "") {
    throw new DOMException(
      `The URL given to WebSocket has a fragment (${shownUrl(url)}#…), which it cannot send.`,
      "SyntaxError",
    );
  }
  if (url.username !== "" || url.password !== "") {
    throw new DOMException(
      `The URL given to WebSocket includes credentials (${shownUrl(url)}). Send them in an Authorization header: ` +
        "new fetch.WebSocket(url, protocols, { headers }).",
      "SyntaxError",
    );
  }
  if (canonicalHost(url.hostname) === null) {
    throw new DOMException(
      `The URL given to WebSocket has no valid host name (${JSON.stringify(url.hostname)}).`,
      "SyntaxError",
    );
  }
  return url;
}

/** The standard's rule for the subprotocols offered: tokens, each once. */
function checkProtocols(protocols: readonly string[]): void {
  const seen = new Set<string>();
  for (const protocol of protocols) {
    if (typeof protocol !== "string" || !TOKEN.test(protocol)) {
      throw new DOMException(
        `${JSON.stringify(protocol)} is not a subprotocol name: those are tokens, made of letters, digits and !#$%&'*+-.^_\`|~.`,
        "SyntaxError",
      );
    }
    if (seen.has(protocol)) throw new DOMException(`The subprotocol ${protocol} is offered twice.`, "SyntaxError");
    seen.add(protocol);
  }
}

/** A failure before `open` as a PinnedFetchError: the abort reason it already is, or the error wrapped. */
function asError(error: unknown, host: string): PinnedFetchError {
  if (error instanceof PinnedFetchError) return error;
  return new PinnedFetchError("ERR_CONNECT", `The WebSocket connection to ${host} failed: ${String(error)}`, {
    host,
    cause: error,
  });
}
