import { openTls } from "./connect-tls.js";
import { PinnedFetchError, shownUrl } from "./errors.js";
import { HttpConnection, type IncomingResponse } from "./http/connection.js";
import { decodeBody } from "./http/decode.js";
import { Pool } from "./http/pool.js";
import { type Hop, redirectLocation, redirected } from "./http/redirects.js";
import { UnreadBody, bodyOf, cancelUnsent } from "./http/request-body.js";
import { requestFields } from "./http/request-fields.js";
import { type ExchangeProgress, failedUnprocessed, mayRetry, notRetried } from "./http/retry.js";
import type { Http2Connection } from "./http2/connection.js";
import { fetchSettings } from "./options.js";
import type { PinRule, PinningModeOptions } from "./pins/policy.js";
import { requestOf } from "./request.js";
import type { ClientCertificate } from "./tls/client-certificates.js";
import type { Runtime, RuntimeName } from "./runtime/index.js";
import { deadline } from "./signals.js";
import type { TlsConnection } from "./tls/connection.js";
import { decisionOf } from "./tls/trust.js";
import { OpenWebSockets, type PinnedWebSocket, boundWebSocket } from "./websocket/websocket.js";

export interface PinnedFetchOptions extends PinningModeOptions {
  /**
   * Pins per host or pattern (`api.example.com`, `*.example.com`, `**.example.com`):
   * a list of pins, or `{ pins, includeSubdomains?, expires? }`.
   */
  pins?: Readonly<Record<string, PinRule>>;
  /**
   * Client certificates per host or pattern (the patterns of `pins`), presented to a server that asks for one once
   * its certificate and pins have passed; any other server that asks gets none.
   */
  clientCertificates?: Readonly<Record<string, ClientCertificate>>;
  /** PEM CA certificates to trust instead of Mozilla's roots. */
  ca?: string | readonly string[];
  /**
   * Offer the post-quantum hybrid key exchange X25519MLKEM768 first, beside X25519 (default true). false offers
   * the classical groups alone (X25519, P-256, P-384), for a middlebox that breaks on the larger ClientHello.
   */
  postQuantum?: boolean;
  /** Milliseconds for TCP connect and TLS handshake together; default 10,000. */
  connectTimeout?: number;
  /** Milliseconds from the call until the response head arrives, redirects included (ky's meaning); no limit by default. */
  timeout?: number;
  /** At most this many connections per origin; further requests wait for one. Unlimited by default, as undici. */
  connections?: number;
  /**
   * Bytes of response head a server may send (interim 1xx heads included), and as many of trailer fields;
   * more is ERR_HTTP. Default 65,536.
   */
  maxHeaderSize?: number;
  /** Bytes of one chunk-size line of a chunked response body (extensions included); more is ERR_HTTP. Default 4,096. */
  maxChunkLineSize?: number;
  /** Bytes of one WebSocket message, after decompression; a bigger one closes the WebSocket with 1009. Default 100 MiB, as `ws`. */
  maxMessageSize?: number;
  /** Offer permessage-deflate to WebSocket servers (default true), as browsers do. */
  perMessageDeflate?: boolean;
  /**
   * Offer HTTP/2 (ALPN h2) beside HTTP/1.1 and speak what the server picks (default true); false speaks HTTP/1.1
   * only. An HTTP/2 connection carries an origin's concurrent requests as streams.
   */
  http2?: boolean;
  /** Connect to this address for a host name, like curl's `--resolve`; SNI and verification still use the name. */
  resolve?: Readonly<Record<string, string>>;
  /**
   * An HTTP proxy to tunnel through with CONNECT, `http://[user:password@]host:port`; TLS and the pins run end to
   * end through the tunnel. `"env"` takes it from HTTPS_PROXY and NO_PROXY. Without it, no proxy is used.
   */
  proxy?: string | URL;
  /** The runtime whose sockets to use: detected by default; `"node"`, `"deno"`, `"bun"`, or an adapter of your own. */
  runtime?: RuntimeName | Runtime;
  /** Told of configuration that works but is risky (a rule without a backup pin); default `console.warn`. */
  onWarning?: (message: string) => void;
}

/** fetch, pinned; `WebSocket` connects under the same pins; `close()` closes its connections and WebSockets. */
export interface PinnedFetch {
  (input: string | URL | Request, init?: RequestInit): Promise<Response>;
  /** The WebSocket interface (wss: only), connecting under this fetch's pins and options. */
  readonly WebSocket: typeof PinnedWebSocket;
  close(): Promise<void>;
}

/**
 * The HTTP/2 client, imported when a server first picks h2: a first request over HTTP/1.1 does without its modules
 * and HPACK's Huffman tables (BENCHMARKS.md, "Figures behind design choices"). The runtime keeps the module.
 */
function http2Client(): Promise<typeof import("./http2/connection.js")> {
  return import("./http2/connection.js").catch((cause: unknown) => {
    throw new PinnedFetchError(
      "ERR_CONFIG",
      `The server picked HTTP/2, but pinned-fetch's HTTP/2 client did not load (${String(cause)}). ` +
        `Reinstall pinned-fetch; if you bundle it, keep its dynamic imports, or pass http2: false.`,
      { cause },
    );
  });
}

/**
 * A fetch whose every connection is verified against `ca` (or Mozilla's
 * roots) and, for hosts in `pins`, against their pins — before a byte of the
 * request is sent. Throws ERR_CONFIG for malformed options.
 */
export function createPinnedFetch(options: PinnedFetchOptions = {}): PinnedFetch {
  return observedPinnedFetch(options, undefined);
}

/** createPinnedFetch, telling `onConnection` of each new connection once it is verified (the CLI's --verbose). */
export function observedPinnedFetch(
  options: PinnedFetchOptions,
  onConnection: ((tls: TlsConnection, host: string, port: number) => void) | undefined,
): PinnedFetch {
  const {
    mode,
    policy,
    clientCertificates,
    trust,
    connectTimeout,
    timeout,
    connections: connectionLimit,
    http2,
    limits,
    webSocketLimits,
    route,
    runtime,
  } = fetchSettings(options);
  let pool: Promise<Pool<HttpConnection | Http2Connection>> | undefined;
  const webSockets = new OpenWebSockets();

  /**
   * The pin decision for `host` now: its pins under the instance's mode, and its client identity, once the
   * identities are read (in the background, from createPinnedFetch on): no connection is made before that.
   */
  async function decisionFor(host: string) {
    if (clientCertificates.read) await clientCertificates.read;
    return { pinning: { ...mode, pins: policy.pinsFor(host) }, clientIdentity: clientCertificates.for(host) };
  }

  /** A new connection to `host`, verified under `decision` and offering `alpn`; the CLI hears of it. */
  async function verifiedConnection(
    host: string,
    port: number,
    signal: AbortSignal | undefined,
    { pinning, clientIdentity }: Awaited<ReturnType<typeof decisionFor>>,
    alpn: readonly string[],
  ) {
    const adapter = await runtime;
    const tls = await openTls(adapter, trust, {
      hostname: host,
      port,
      ...(await route(host, port)),
      ...pinning,
      clientIdentity,
      alpn,
      signal,
      connectTimeout,
    });
    onConnection?.(tls, host, port);
    return tls;
  }

  async function pinnedFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const { request, method, redirect, headers, url, host, signal } = requestOf(input, init);
    signal?.throwIfAborted();
    const limit = deadline(
      signal,
      timeout,
      () =>
        `No response from ${shownUrl(url)} within ${timeout} ms (the timeout option). Check the server, or raise timeout.`,
    );
    let hop: Hop | undefined;
    try {
      hop = { method, url, host, headers, body: request ? await bodyOf(request, init) : null };
      // The limit bounds the wait for each response head; the caller's signal also ends the body.
      for (let redirects = 0; ; redirects++) {
        const response = await exchange(hop, limit.signal, signal, redirect);
        const location = redirectLocation(response.status, response.headers, redirect);
        if (location === null) return answer(response, hop.url, redirects);
        await response.body?.cancel();
        hop = redirected(hop, response.status, location, redirect, redirects);
      }
    } catch (error) {
      cancelUnsent(hop?.body, error);
      throw error;
    } finally {
      limit.dispose();
    }
  }

  /**
   * One request and its response head, on a pooled connection verified under
   * this instance's pins; sent once more on a fresh connection where a
   * kept-alive one failed it unanswered and `mayRetry` allows it.
   */
  async function exchange(
    hop: Hop,
    signal: AbortSignal | undefined,
    bodySignal: AbortSignal | undefined,
    redirect: RequestRedirect,
  ): Promise<Response> {
    const { method, url, host, headers } = hop;
    const port = Number(url.port || 443);
    const connections = await (pool ??= runtime.then((adapter) => new Pool(adapter, connectionLimit, http2)));
    const decision = await decisionFor(host);
    const { pinning, clientIdentity } = decision;
    const open = async () => {
      const tls = await verifiedConnection(host, port, signal, decision, http2 ? H2_AND_HTTP1 : HTTP1);
      const adapter = await runtime;
      if (tls.alpn !== "h2") return new HttpConnection(tls, limits, adapter);
      const { Http2Connection } = await http2Client().catch(async (error: unknown) => {
        await tls.close().catch(() => undefined);
        throw error;
      });
      return new Http2Connection(tls, limits, adapter);
    };
    for (let retried = false; ; retried = true) {
      const { connection, reused } = await connections.acquire(
        `${host}:${port}`,
        decisionOf(pinning, clientIdentity),
        open,
        signal,
      );
      // Read only now that the connection is verified: a request that fails its pins reads none of its body.
      if (hop.body instanceof UnreadBody)
        hop.body = await hop.body.read(signal).catch((error) => {
          connections.release(connection, true);
          throw error;
        });
      const body = hop.body;
      const fields = requestFields(method, headers, url, body);
      let released = false;
      const release = (reusable: boolean) => {
        if (released) return;
        released = true;
        connections.release(connection, reusable);
      };
      const progress: ExchangeProgress = { answered: false, unprocessed: false };
      const closures = connections.closures;
      let incoming: IncomingResponse;
      try {
        const outgoing = { method, target: `${url.pathname}${url.search}`, fields, body };
        incoming = await connection.exchange(outgoing, signal, release, bodySignal, progress);
      } catch (error) {
        const closedByUs = connections.closures !== closures;
        const attempt = { method, body, error, reused, closedByUs, ...progress };
        release(false);
        if (signal?.aborted && error === signal.reason) throw error;
        if (failedUnprocessed(attempt)) {
          if (!mayRetry(method, body)) throw notRetried(host, attempt);
          if (!retried) continue;
        }
        throw unrepresentable(host, error);
      }
      // The server answered: a response that cannot be made of its answer is no reason to send the request again.
      try {
        return responseOf(incoming, redirect);
      } catch (error) {
        if (incoming.body instanceof ReadableStream) incoming.body.cancel(error).catch(() => {});
        release(false);
        throw unrepresentable(host, error);
      }
    }
  }

  return Object.assign(pinnedFetch, {
    WebSocket: boundWebSocket({
      connect: async (host, port, signal) => verifiedConnection(host, port, signal, await decisionFor(host), HTTP1),
      ...webSocketLimits,
      maxHeaderSize: limits.maxHeaderSize,
      timeout,
      sockets: webSockets,
      // Used once a connection is open, when the runtime has long been chosen.
      unrefTimer: (timer) => void runtime.then((adapter) => adapter.unrefTimer(timer)),
    }),
    async close() {
      try {
        await webSockets.closeAll();
        await (await pool)?.close();
      } finally {
        trust.releaseClientKeys();
      }
    },
  });
}

/** What a connection offers through ALPN: HTTP/1.1 alone (WebSocket, and http2: false), or HTTP/2 first. */
const HTTP1 = ["http/1.1"];
const H2_AND_HTTP1 = ["h2", "http/1.1"];

/** The Response for a response head; a redirect about to be followed is not decoded (its body is cancelled unread). */
function responseOf({ head, body }: IncomingResponse, redirect: RequestRedirect): Response {
  const headers = new Headers();
  for (const [name, value] of head.fields) headers.append(name, value);
  const followed = redirectLocation(head.status, headers, redirect) !== null;
  const decoded = body && !followed ? decodeBody(body, headers.get("content-encoding")) : body;
  return new Response(decoded, { status: head.status, statusText: head.statusText, headers });
}

/** `error` if it is pinned-fetch's own; otherwise ERR_HTTP: the response from `host` cannot be represented. */
function unrepresentable(host: string, error: unknown): PinnedFetchError {
  if (error instanceof PinnedFetchError) return error;
  return new PinnedFetchError("ERR_HTTP", `The response from ${host} cannot be represented: ${String(error)}`, {
    cause: error,
  });
}

/** The response a fetch answers with: from `url`, after `redirects` redirects. */
function answer(response: Response, url: URL, redirects: number): Response {
  Object.defineProperty(response, "url", { value: url.href });
  if (redirects > 0) Object.defineProperty(response, "redirected", { value: true });
  return response;
}
