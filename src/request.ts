// What fetch makes of its arguments: the URL, checked before anything else, and the Request. Every mistake in them
// is ERR_CONFIG, in the terms of the fetch standard, and the same in every runtime: each runtime's Request checks
// something else (Bun's sends a method with a space in it), and Node's and Deno's repeat a bad header's value, which
// may be a secret, in their message.
import { PinnedFetchError, shownUrl } from "./errors.js";
import { canonicalHost } from "./host.js";
import { TOKEN } from "./http/message.js";
import { requestHeaders } from "./http/request-fields.js";

/**
 * A request's URL, checked before anything is sent, and its host in canonical
 * form, whose rule applies. The caller's URL (given to `caller`) fails with
 * ERR_CONFIG, the URL a redirect leads to (from the URL `caller`) with ERR_HTTP.
 */
export function requestUrl(input: unknown, caller: "fetch" | "getPins" | URL): { url: URL; host: string } {
  const redirectedFrom = caller instanceof URL ? caller : undefined;
  const fail = (problem: string) => {
    const what = redirectedFrom
      ? `${shownUrl(redirectedFrom)} redirected to a URL that`
      : `The URL given to ${caller as string}`;
    return new PinnedFetchError(redirectedFrom ? "ERR_HTTP" : "ERR_CONFIG", `${what} ${problem}`);
  };
  let url: URL;
  try {
    url = new URL(input as string, redirectedFrom);
  } catch {
    throw fail("cannot be parsed as a URL.");
  }
  if (url.protocol !== "https:") {
    throw fail(
      `is not HTTPS (${url.protocol}//${url.host}): pinned-fetch only makes HTTPS requests, which can be pinned.`,
    );
  }
  // The fetch standard's rule: credentials go in headers, never in the URL.
  if (url.username !== "" || url.password !== "") {
    throw fail(
      `includes credentials (${shownUrl(url)}); a request cannot be made from it. Send them in an Authorization header.`,
    );
  }
  const host = canonicalHost(url.hostname);
  if (host === null) {
    throw fail(
      `has no valid host name (${JSON.stringify(url.hostname)}: a name has no empty labels, as in "a..b" or ".a").`,
    );
  }
  return { url, host };
}

/** Methods the fetch standard forbids. */
const FORBIDDEN_METHODS = new Set(["CONNECT", "TRACE", "TRACK"]);

/**
 * What fetch's arguments ask for: the URL, checked, the method, redirect mode
 * and header fields, the caller's signal, and the Request they make where
 * something needs one (a body, or options only a Request checks). A Request
 * is made without the signal: it follows its signal with a listener that only
 * garbage collection removes, and Node warns past 1,500 on a long-lived
 * signal. ERR_CONFIG for arguments that make no request.
 */
export function requestOf(
  input: unknown,
  init: unknown,
): {
  /** Null for a request without a body whose options need no Request to check them. */
  request: Request | null;
  method: string;
  redirect: RequestRedirect;
  /** The caller's header fields, as fetch sends them. */
  headers: Headers;
  url: URL;
  host: string;
  signal: AbortSignal | undefined;
} {
  const given = input instanceof Request ? input : undefined;
  const { url, host } = requestUrl(given ? given.url : input, "fetch");
  if (init !== undefined && init !== null && typeof init !== "object") {
    throw new PinnedFetchError(
      "ERR_CONFIG",
      `fetch's second argument must be an object of request options (RequestInit), not a ${typeof init}.`,
    );
  }
  const options = (init ?? {}) as RequestInit & { duplex?: unknown };
  const method = options.method === undefined ? (given?.method ?? "GET") : String(options.method);
  checkMethod(method);
  if (/^(GET|HEAD)$/i.test(method) && (options.body != null || given?.body != null)) {
    throw new PinnedFetchError(
      "ERR_CONFIG",
      `Request with GET/HEAD method cannot have body (the fetch standard's rule). Send the body with POST or PUT.`,
    );
  }
  if (options.body instanceof ReadableStream && options.duplex === undefined) {
    throw new PinnedFetchError(
      "ERR_CONFIG",
      `A request whose body is a ReadableStream needs duplex: "half" in its options, as the fetch standard says: ` +
        `the response may only be read once the body is sent.`,
    );
  }
  if (options.signal != null && !(options.signal instanceof AbortSignal)) {
    throw new PinnedFetchError("ERR_CONFIG", "The signal of a request must be an AbortSignal (or null).");
  }
  const headers = checkedHeaders(options.headers);
  // As in any dictionary of the web platform, a member that is undefined is absent.
  const signal = options.signal !== undefined ? (options.signal ?? undefined) : given?.signal;
  // Without a body, and with options that a Request would check no further, none is made: it costs a fetch in
  // Deno about a tenth of its CPU time on a kept-alive connection, and in Node about a twentieth.
  if (!given && options.body == null && plainOptions(options)) {
    const fields = madeOfArguments(() => new Headers(headers));
    const redirect = (options.redirect ?? "follow") as RequestRedirect;
    return { request: null, method: normalizedMethod(method), redirect, headers: fields, url, host, signal };
  }
  // A Request's body is handed on as it is: left to the constructor, Node and Bun pipe it through a new
  // stream, which reads from it at once, before any connection has passed its pins.
  // As a stream, it is refused with keepalive or outside cors modes, neither of which pinned-fetch uses.
  const givenBody =
    given?.body && options.body == null
      ? { body: given.body, duplex: "half", keepalive: false, mode: "cors" as const }
      : {};
  const request = madeOfArguments(
    () => new Request(input as Request, { ...options, ...givenBody, ...(headers && { headers }), signal: null }),
  );
  return {
    request,
    // Not the Request's: Bun's sends "Options", "Delete" or "FOO" as GET, and "patch" as PATCH.
    method: normalizedMethod(method),
    redirect: request.redirect,
    headers: requestHeaders(request, init as RequestInit | undefined),
    url,
    host,
    signal,
  };
}

/** What the runtime's Headers or Request constructor makes of fetch's arguments; its TypeError is ERR_CONFIG. */
function madeOfArguments<T>(make: () => T): T {
  try {
    return make();
  } catch (error) {
    throw new PinnedFetchError(
      "ERR_CONFIG",
      `fetch cannot make a request of its arguments: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

const PLAIN_OPTIONS = new Set(["method", "headers", "signal", "redirect"]);
const REDIRECT_MODES = new Set(["follow", "error", "manual"]);

/**
 * Whether a Request would check nothing more of `options` than fetch does here: a plain object (a Request reads
 * members by name, inherited getters too) whose members are only those of PLAIN_OPTIONS, with a known redirect mode.
 */
function plainOptions(options: RequestInit): boolean {
  const prototype = Object.getPrototypeOf(options) as unknown;
  if (prototype !== Object.prototype && prototype !== null) return false;
  for (const key of Object.keys(options)) {
    if (!PLAIN_OPTIONS.has(key) && (options as Record<string, unknown>)[key] !== undefined) return false;
  }
  return options.redirect === undefined || REDIRECT_MODES.has(options.redirect);
}

/** The fetch standard normalizes these methods to upper case; any other is sent as given. */
const NORMALIZED_METHODS = new Set(["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"]);

function normalizedMethod(method: string): string {
  const upper = method.toUpperCase();
  return NORMALIZED_METHODS.has(upper) ? upper : method;
}

function checkMethod(method: string): void {
  if (!TOKEN.test(method)) {
    throw new PinnedFetchError(
      "ERR_CONFIG",
      `${JSON.stringify(method)} is not a method: the fetch standard's methods are tokens, made of letters, digits and !#$%&'*+-.^_\`|~.`,
    );
  }
  if (FORBIDDEN_METHODS.has(method.toUpperCase())) {
    throw new PinnedFetchError(
      "ERR_CONFIG",
      `${method} is a forbidden method in the fetch standard (CONNECT, TRACE and TRACK), so fetch does not send it.`,
    );
  }
}

/**
 * The headers of fetch's options, checked: names must be tokens, and values
 * may not hold NUL, CR or LF, which would end the field early. A value is
 * never shown: it may be a secret. An iterable is read here, once, and its
 * fields are what the Request gets.
 */
export function checkedHeaders(headers: HeadersInit | undefined): HeadersInit | undefined {
  if (headers == null || headers instanceof Headers || typeof headers !== "object") return headers;
  const iterable = Symbol.iterator in headers;
  const fields = iterable ? Array.from(headers as Iterable<unknown>) : Object.entries(headers);
  for (const field of fields) {
    if (!Array.isArray(field) || field.length !== 2) continue; // the Request's own check words this
    const [name, value] = [String(field[0]), String(field[1])];
    if (!TOKEN.test(name)) {
      throw new PinnedFetchError(
        "ERR_CONFIG",
        `${JSON.stringify(name)} is not a header name: the fetch standard's header names are tokens, made of letters, digits and !#$%&'*+-.^_\`|~.`,
      );
    }
    // The standard strips leading and trailing HTTP whitespace first.
    const normalized = value.replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, "");
    if (/[\0\r\n]/.test(normalized)) {
      throw new PinnedFetchError(
        "ERR_CONFIG",
        `The value of the header ${name} is not a header value: it holds a NUL, CR or LF, which the fetch standard ` +
          `forbids, since it would end the field early. (The value is not shown: it may be a secret.)`,
      );
    }
    if (/[^\0-\xff]/.test(normalized)) {
      throw new PinnedFetchError(
        "ERR_CONFIG",
        `The value of the header ${name} is not a header value: it holds a character beyond U+00FF, and a header ` +
          `value is bytes. Encode it (percent-encoding, say) first.`,
      );
    }
  }
  return iterable ? (fields as [string, string][]) : headers;
}
