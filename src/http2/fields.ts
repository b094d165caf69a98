// Header fields over HTTP/2 (RFC 9113, section 8): a request's list with its pseudo-headers, and the checks a
// response's list must pass.
import type { OutgoingRequest } from "../http/connection.js";
import type { ResponseHead } from "../http/message.js";
import { ErrorCode, StreamError } from "./frames.js";

/** Fields RFC 9113 (section 8.2.2) forbids in HTTP/2: HTTP/1.1's connection management. */
const CONNECTION_SPECIFIC = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"]);
/** A field name as RFC 9113 allows it: lower case, no separators (section 8.2.1). */
const FIELD_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
/** A field value with no NUL, CR or LF, and no whitespace at either end (section 8.2.1). */
const FIELD_VALUE = /^(?:[^\0\r\n\t ](?:[^\0\r\n]*[^\0\r\n\t ])?)?$/;

/**
 * The header list of a request: its pseudo-headers, then its fields but for Host (which becomes :authority) and
 * those HTTP/2 forbids, dropped so that the same request works whichever protocol the server picks.
 */
export function requestHeaderList({ method, target, fields }: OutgoingRequest): [string, string][] {
  const list: [string, string][] = [
    [":method", method],
    [":scheme", "https"],
    [":authority", ""],
    [":path", target],
  ];
  for (const [name, value] of fields) {
    if (name === "host") list[2]![1] = value;
    else if (name === "te") {
      if (value.toLowerCase() === "trailers") list.push([name, "trailers"]);
    } else if (!CONNECTION_SPECIFIC.has(name)) list.push([name, value]);
  }
  return list;
}

/** A response head from a decoded header list, checked as RFC 9113 (section 8.3.2) requires. */
export function responseHead(fields: [string, string][]): ResponseHead {
  let status: string | null = null;
  const regular: [string, string][] = [];
  for (const [name, value] of fields) {
    if (name.startsWith(":")) {
      if (name !== ":status" || status !== null || regular.length > 0) {
        throw new StreamError(
          ErrorCode.ProtocolError,
          `the pseudo-header ${JSON.stringify(name.slice(0, 40))} in a response`,
        );
      }
      if (!/^[1-5]\d\d$/.test(value) || value === "101") {
        throw new StreamError(ErrorCode.ProtocolError, `status ${JSON.stringify(value.slice(0, 40))}`);
      }
      status = value;
    } else {
      checkField(name, value);
      regular.push([name, value]);
    }
  }
  if (status === null) throw new StreamError(ErrorCode.ProtocolError, "a response without :status");
  return { status: Number(status), statusText: "", fields: regular, closes: false };
}

export function checkField(name: string, value: string): void {
  if (!FIELD_NAME.test(name) || CONNECTION_SPECIFIC.has(name)) {
    throw new StreamError(ErrorCode.ProtocolError, `the field ${JSON.stringify(name.slice(0, 40))}`);
  }
  if (!FIELD_VALUE.test(value)) throw new StreamError(ErrorCode.ProtocolError, `a malformed value of ${name}`);
}

/** The response's Content-Length, or null; a malformed or conflicting one is a stream error. */
export function contentLength(head: ResponseHead): number | null {
  let length: string | null = null;
  for (const [name, value] of head.fields) {
    if (name !== "content-length") continue;
    for (const part of value.split(",")) {
      const trimmed = part.trim();
      if (!/^\d{1,15}$/.test(trimmed) || (length !== null && length !== trimmed)) {
        throw new StreamError(ErrorCode.ProtocolError, `Content-Length ${JSON.stringify(value.slice(0, 40))}`);
      }
      length = trimmed;
    }
  }
  return length === null ? null : Number(length);
}
