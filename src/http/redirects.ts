// Redirects as the fetch standard follows them: which responses are followed, and how each hop rewrites the request.
import { PinnedFetchError, shownUrl } from "../errors.js";
import { requestUrl } from "../request.js";
import type { RequestBody, UnreadBody } from "./request-body.js";

/** The fetch standard's redirect statuses, and its limit. */
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
export const MAX_REDIRECTS = 20;
/** Headers that describe a body, dropped with it when a redirect turns the request into a GET. */
const BODY_HEADERS = ["content-encoding", "content-language", "content-location", "content-type", "content-length"];
/** Credentials that never follow a redirect to another origin (the standard's Authorization; Cookie as undici). */
const CREDENTIAL_HEADERS = ["authorization", "cookie", "proxy-authorization"];

/** One request of a fetch: the first, or one a redirect leads to. */
export interface Hop {
  method: string;
  url: URL;
  /** The URL's host in canonical form: whose pin rule applies. */
  host: string;
  headers: Headers;
  body: RequestBody | UnreadBody;
}

/**
 * Where a response redirects its request under the request's `mode`, or null
 * when the response is the answer (not a redirect, no Location, or
 * redirect: "manual"). With redirect: "error" the location is returned, and
 * `redirected` refuses it.
 */
export function redirectLocation(status: number, headers: Headers, mode: RequestRedirect): string | null {
  return mode !== "manual" && REDIRECTS.has(status) ? headers.get("location") : null;
}

/**
 * The request that the `redirects`-th redirect of `hop` (counted from 0)
 * leads to, as the fetch standard rewrites it; ERR_HTTP where it may not be
 * followed.
 */
export function redirected(hop: Hop, status: number, location: string, mode: RequestRedirect, redirects: number): Hop {
  if (mode === "error") {
    throw new PinnedFetchError(
      "ERR_HTTP",
      `${shownUrl(hop.url)} redirected (${status}), and the request said redirect: "error".`,
    );
  }
  if (redirects >= MAX_REDIRECTS) {
    throw new PinnedFetchError(
      "ERR_HTTP",
      `More than ${MAX_REDIRECTS} redirects, the last from ${shownUrl(hop.url)}: a redirect loop?`,
    );
  }
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
