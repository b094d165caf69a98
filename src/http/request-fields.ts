// The header fields fetch sends with a request: the caller's, with fetch's defaults and the body's framing.
import type { RequestBody } from "./request-body.js";

/** What pinned-fetch calls itself in requests that do not say otherwise. */
export const USER_AGENT = "pinned-fetch/0.1.0";
/** The codings decodeBody decodes. */
const ACCEPT_ENCODING = "gzip, deflate, br";
/** Methods that announce an empty body, as undici does. */
const BODY_METHODS = new Set(["POST", "PUT", "PATCH"]);

/** The caller's headers of a request, with the Content-Type the standard gives a string body. */
export function requestHeaders(request: Request, init: RequestInit | undefined): Headers {
  const headers = new Headers(request.headers);
  // The standard derives this from a string body, but not every runtime's Request does (Bun).
  if (typeof init?.body === "string" && !headers.has("content-type"))
    headers.set("content-type", "text/plain;charset=UTF-8");
  return headers;
}

/** The request's header fields as fetch sends them, with Host and body framing. */
export function requestFields(method: string, headers: Headers, url: URL, body: RequestBody): [string, string][] {
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
