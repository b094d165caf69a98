import { openTls } from "./connect-tls.js";
import { PinnedFetchError, shownUrl } from "./errors.js";
import { abortable, deadline } from "./signals.js";
import { HttpConnection, type OutgoingRequest } from "./http/connection.js";
import { decodeBody } from "./http/decode.js";
import { Pool } from "./http/pool.js";
import { fetchSettings } from "./options.js";
import type { PinRule, PinningModeOptions } from "./pins/policy.js";
import { requestOf, requestUrl } from "./request.js";
import type { Runtime, RuntimeName } from "./runtime/index.js";
import { decisionOf } from "./tls/trust.js";

export interface PinnedFetchOptions extends PinningModeOptions {
  /**
   * Pins per host or pattern (`api.example.com`, `*.example.com`, `**.example.com`):
   * a list of pins, or `{ pins, includeSubdomains?, expires? }`.
   */
  pins?: Readonly<Record<string, PinRule>>;
  /** PEM CA certificates to trust instead of Mozilla's roots. */
  ca?: string | readonly string[];
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

/** fetch, pinned; `close()` closes its pooled connections. */
export interface PinnedFetch {
  (input: string | URL | Request, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

const USER_AGENT = "pinned-fetch/0.1.0";
/** The codings decodeBody decodes. */
const ACCEPT_ENCODING = "gzip, deflate, br";
/** Methods that announce an empty body, as undici does. */
const BODY_METHODS = new Set(["POST", "PUT", "PATCH"]);
/** RFC 9110's idempotent methods: a request that may be sent again if its connection failed unanswered. */
const IDEMPOTENT_METHODS = new Set(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]);

/**
 * A fetch whose every connection is verified against `ca` (or Mozilla's
 * roots) and, for hosts in `pins`, against their pins — before a byte of the
 * request is sent. Throws ERR_CONFIG for malformed options.
 */
export function createPinnedFetch(options: PinnedFetchOptions = {}): PinnedFetch {
  const {
    mode,
    policy,
    trust,
    connectTimeout,
    timeout,
    connections: connectionLimit,
    limits,
    route,
    runtime,
  } = fetchSettings(options);
  let pool: Promise<Pool> | undefined;

  async function pinnedFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const { request, url, host, signal } = requestOf(input, init);
    signal?.throwIfAborted();
    const headers = new Headers(request.headers);
    // The standard derives this from a string body, but not every runtime's Request does (Bun).
    if (typeof init?.body === "string" && !headers.has("content-type"))
      headers.set("content-type", "text/plain;charset=UTF-8");
    const limit = deadline(
      signal,
      timeout,
      () =>
        `No response from ${shownUrl(url)} within ${timeout} ms (the timeout option). Check the server, or raise timeout.`,
    );
    let hop: Hop | undefined;
    try {
      hop = { method: request.method, url, host, headers, body: await bodyOf(request, init) };
      return await follow(request, hop, limit.signal, signal);
    } catch (error) {
      // A body stream that was never sent is cancelled, as undici does: its source learns that the request failed.
      const body = hop?.body instanceof UnreadBody ? hop.body.stream : hop?.body;
      if (body instanceof ReadableStream && !body.locked) body.cancel(error).catch(() => {});
      throw error;
    } finally {
      limit.dispose();
    }
  }

  /**
   * Exchanges `hop` and each one its redirects lead to; `limit` bounds the wait for each response head, and the
   * caller's `signal` also ends the body.
   */
  async function follow(
    request: Request,
    first: Hop,
    limit: AbortSignal | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Response> {
    let hop = first;
    for (let redirects = 0; ; redirects++) {
      const response = await exchange(hop, limit, signal, request.redirect);
      const location = REDIRECTS.has(response.status) ? response.headers.get("location") : null;
      if (location === null || request.redirect === "manual") {
        Object.defineProperty(response, "url", { value: hop.url.href });
        if (redirects > 0) Object.defineProperty(response, "redirected", { value: true });
        return response;
      }
      await response.body?.cancel();
      if (request.redirect === "error") {
        throw new PinnedFetchError(
          "ERR_HTTP",
          `${shownUrl(hop.url)} redirected (${response.status}), and the request said redirect: "error".`,
        );
      }
      if (redirects === MAX_REDIRECTS) {
        throw new PinnedFetchError(
          "ERR_HTTP",
          `More than ${MAX_REDIRECTS} redirects, the last from ${shownUrl(hop.url)}: a redirect loop?`,
        );
      }
      hop = redirected(hop, response.status, location);
    }
  }

  /**
   * One request and its response head, on a pooled connection verified under
   * this instance's pins. An idempotent request that a reused connection
   * failed without a byte of answer (the server had closed it) is sent once
   * more, as undici and OkHttp do.
   */
  async function exchange(
    hop: Hop,
    signal: AbortSignal | undefined,
    bodySignal: AbortSignal | undefined,
    redirect: RequestRedirect,
  ): Promise<Response> {
    const { method, url, host, headers } = hop;
    const port = Number(url.port || 443);
    const connections = await (pool ??= runtime.then((adapter) => new Pool(adapter, connectionLimit)));
    const pinning = { ...mode, pins: policy.pinsFor(host) };
    const open = async () => {
      const adapter = await runtime;
      const tls = await openTls(adapter, trust, {
        hostname: host,
        port,
        ...(await route(host, port)),
        ...pinning,
        alpn: ["http/1.1"],
        signal,
        connectTimeout,
      });
      return new HttpConnection(tls, limits, adapter);
    };
    for (let retried = false; ; retried = true) {
      const { connection, reused } = await connections.acquire(`${host}:${port}`, decisionOf(pinning), open, signal);
      // Read only now that the connection is verified: a request that fails its pins reads none of its body.
      if (hop.body instanceof UnreadBody)
        hop.body = await hop.body.read(signal).catch((error) => {
          connections.release(connection, true);
          throw error;
        });
      const body = hop.body;
      const outgoing: OutgoingRequest = {
        method,
        target: `${url.pathname}${url.search}`,
        fields: requestFields(method, headers, url, body),
        body,
      };
      const replayable = IDEMPOTENT_METHODS.has(method) && !(body instanceof ReadableStream);
      let released = false;
      const release = (reusable: boolean) => {
        if (released) return;
        released = true;
        connections.release(connection, reusable);
      };
      try {
        const { head, body: responseBody } = await connection.exchange(outgoing, signal, release, bodySignal);
        const responseHeaders = new Headers();
        for (const [name, value] of head.fields) responseHeaders.append(name, value);
        // A redirect about to be followed is not decoded: its body is cancelled unread, whatever its codings.
        const followed = redirect !== "manual" && REDIRECTS.has(head.status) && responseHeaders.has("location");
        const decoded =
          responseBody && !followed ? decodeBody(responseBody, responseHeaders.get("content-encoding")) : responseBody;
        return new Response(decoded, { status: head.status, statusText: head.statusText, headers: responseHeaders });
      } catch (error) {
        // A connection that fetch.close() took is not a stale one: its request is not sent again.
        const closedByUs = !connections.holds(connection);
        release(false);
        if (signal?.aborted && error === signal.reason) throw error;
        const stale =
          reused &&
          !closedByUs &&
          !connection.answered &&
          !(error instanceof PinnedFetchError && error.code === "ERR_TIMEOUT");
        if (stale && replayable && !retried) continue;
        if (stale && !replayable) {
          throw new PinnedFetchError(
            "ERR_HTTP",
            `A kept-alive connection to ${host} failed before any answer to the ${method} request (${(error as Error).message}), ` +
              `so the server may or may not have received it. It was not sent again because ` +
              `${body instanceof ReadableStream ? "its body is a stream" : `${method} is not idempotent`}; retry it yourself if that is safe.`,
            { cause: error },
          );
        }
        if (error instanceof PinnedFetchError) throw error;
        throw new PinnedFetchError("ERR_HTTP", `The response from ${host} cannot be represented: ${String(error)}`, {
          cause: error,
        });
      }
    }
  }

  return Object.assign(pinnedFetch, {
    async close() {
      await (await pool)?.close();
    },
  });
}

/** Bodies in a Request object up to this size are sent with a Content-Length; longer ones are streamed. */
const REQUEST_BODY_BUFFER = 64 * 1024;

type Body = Uint8Array | ReadableStream<Uint8Array> | null;

/**
 * The body to send: bytes when its length is known (every `init.body` but a
 * stream), the stream itself, or, for a body inside a Request (whose length
 * a Request does not tell), an UnreadBody.
 */
async function bodyOf(request: Request, init: RequestInit | undefined): Promise<Body | UnreadBody> {
  if (init?.body instanceof ReadableStream) return init.body;
  if (!request.body) return null;
  if (init?.body != null) return new Uint8Array(await request.arrayBuffer());
  return new UnreadBody(request.body);
}

/** A Request's body, read once a connection is verified. */
class UnreadBody {
  constructor(readonly stream: ReadableStream<Uint8Array>) {}

  /** Bytes if it ends within REQUEST_BODY_BUFFER, and otherwise a stream that starts with what was read. */
  async read(signal: AbortSignal | undefined): Promise<Body> {
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

function concatenate(chunks: readonly Uint8Array[], size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return bytes;
}

/** One request of a fetch: the first, or one a redirect leads to. */
interface Hop {
  method: string;
  url: URL;
  /** The URL's host in canonical form: whose pin rule applies. */
  host: string;
  headers: Headers;
  body: Body | UnreadBody;
}

/** The fetch standard's redirect statuses, and its limit. */
export const REDIRECTS = new Set([301, 302, 303, 307, 308]);
export const MAX_REDIRECTS = 20;
/** Headers that describe a body, dropped with it when a redirect turns the request into a GET. */
const BODY_HEADERS = ["content-encoding", "content-language", "content-location", "content-type", "content-length"];
/** Credentials that never follow a redirect to another origin (the standard's Authorization; Cookie as undici). */
const CREDENTIAL_HEADERS = ["authorization", "cookie", "proxy-authorization"];

/** The request a redirect leads to, as the fetch standard rewrites it. */
function redirected(hop: Hop, status: number, location: string): Hop {
  const { url, host } = requestUrl(location, hop.url);
  const headers = new Headers(hop.headers);
  let { method, body } = hop;
  if (
    ((status === 301 || status === 302) && method === "POST") ||
    (status === 303 && method !== "GET" && method !== "HEAD")
  ) {
    method = "GET";
    body = null;
    for (const name of BODY_HEADERS) headers.delete(name);
  } else if (body instanceof ReadableStream) {
    throw new PinnedFetchError(
      "ERR_HTTP",
      `${shownUrl(hop.url)} redirected (${status}) a request whose body is a stream, which cannot be sent a second time. ` +
        `Send the body as bytes to follow such redirects, or use redirect: "manual".`,
    );
  }
  if (url.origin !== hop.url.origin) {
    for (const name of CREDENTIAL_HEADERS) headers.delete(name);
  }
  return { method, url, host, headers, body };
}

/** The request's header fields as fetch sends them, with Host and body framing. */
function requestFields(
  method: string,
  headers: Headers,
  url: URL,
  body: Uint8Array | ReadableStream | null,
): [string, string][] {
  const fields: [string, string][] = [["host", url.host]];
  if (!headers.has("accept")) fields.push(["accept", "*/*"]);
  if (!headers.has("accept-encoding")) fields.push(["accept-encoding", ACCEPT_ENCODING]);
  if (!headers.has("user-agent")) fields.push(["user-agent", USER_AGENT]);
  for (const [name, value] of headers) {
    if (name !== "host" && name !== "content-length" && name !== "transfer-encoding") fields.push([name, value]);
  }
  if (body instanceof ReadableStream) fields.push(["transfer-encoding", "chunked"]);
  else if (body) fields.push(["content-length", String(body.length)]);
  else if (BODY_METHODS.has(method)) fields.push(["content-length", "0"]);
  return fields;
}
