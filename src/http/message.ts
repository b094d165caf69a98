import { PinnedFetchError } from "../errors.js";

/** What a server may make the client hold in memory, whatever it sends. */
export interface HttpLimits {
  /** Bytes of a response's heads: the final head with any interim (1xx) heads before it, and separately its trailer fields. */
  maxHeaderSize: number;
  /** Bytes of one chunk-size line of a chunked body, extensions included. */
  maxChunkLineSize: number;
}

/** 64 KiB of heads (undici's default is 16 KiB, curl's 100 KiB); 4 KiB per chunk-size line. */
export const DEFAULT_LIMITS: HttpLimits = { maxHeaderSize: 64 * 1024, maxChunkLineSize: 4 * 1024 };

/** A size for messages: in KiB when it is a whole number of them. */
export function sizeText(bytes: number): string {
  return bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} bytes`;
}

export interface ResponseHead {
  status: number;
  statusText: string;
  /** Raw header fields in order, names in lower case. */
  fields: [string, string][];
  /** HTTP/1.0, or `Connection: close`: the connection ends with this response. */
  closes: boolean;
}

/** How a response body is delimited (RFC 9112, section 6.3). */
export type Framing = { kind: "none" } | { kind: "length"; length: number } | { kind: "chunked" } | { kind: "close" };

/** RFC 9110's token: header names, methods, WebSocket subprotocols and extension names are made of it. */
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** The blank line that ends a head. */
export const HEAD_END = encodeLatin1("\r\n\r\n");
/**
 * RFC 9112's `HTTP-version SP status-code SP [reason-phrase]`, the reason of HTAB, SP, VCHAR and obs-text; a status
 * code from 100 to 599, the only valid ones (RFC 9110, section 15). As llhttp and httparse do, the SP before an
 * empty reason may be missing.
 */
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-5]\d\d)(?: ([\t\x20-\x7e\x80-\xff]*))?$/;

function malformedResponse(detail: string): PinnedFetchError {
  return new PinnedFetchError("ERR_HTTP", `The server sent a malformed HTTP response: ${detail}.`);
}

/**
 * Parses a response head (without its final blank line), strictly: a server's response, or a proxy's answer to
 * CONNECT. `malformed` makes the error for what is wrong with it.
 */
export function parseHead(
  bytes: Uint8Array,
  malformed: (detail: string) => PinnedFetchError = malformedResponse,
): ResponseHead {
  const text = latin1(bytes);
  let end = lineEnd(text, 0);
  const statusLine = STATUS_LINE.exec(text.slice(0, end));
  if (!statusLine) throw malformed(`status line ${JSON.stringify(text.slice(0, Math.min(end, 80)))}`);
  const fields: [string, string][] = [];
  let closes = statusLine[1] === "0";
  // A line at a time, without splitting the head or trimming by regular expression: every response passes here.
  while (end < text.length) {
    const start = end + 2;
    end = lineEnd(text, start);
    const line = text.slice(start, end);
    const first = line.charCodeAt(0);
    if (first === SP || first === HTAB) throw malformed("obsolete line folding in a header");
    const colon = line.indexOf(":");
    const name = line.slice(0, colon);
    if (colon <= 0 || !isToken(line, colon)) throw malformed(`header line ${JSON.stringify(line.slice(0, 80))}`);
    let from = colon + 1;
    let to = line.length;
    while (from < to && isOws(line.charCodeAt(from))) from++;
    while (to > from && isOws(line.charCodeAt(to - 1))) to--;
    const value = line.slice(from, to);
    if (hasNulOrLineBreak(line, from, to)) throw malformed(`a control character in header ${name}`);
    const lowerName = name.toLowerCase();
    fields.push([lowerName, value]);
    if (lowerName === "connection" && listsClose(value)) closes = true;
  }
  return { status: Number(statusLine[2]), statusText: statusLine[3] ?? "", fields, closes };
}

const SP = 0x20;
const HTAB = 0x09;

/** TOKEN's characters, by code: a loop over a table instead of a regular expression for every field name. */
const TOKEN_CODES = new Uint8Array(128).map((_, code) => (TOKEN.test(String.fromCharCode(code)) ? 1 : 0));

/** Whether `text`'s first `end` characters are a token (RFC 9110). */
function isToken(text: string, end: number): boolean {
  for (let at = 0; at < end; at++) if (TOKEN_CODES[text.charCodeAt(at)] !== 1) return false;
  return true;
}

/** Whether `text` has a NUL, CR or LF from `from` to `to`. */
function hasNulOrLineBreak(text: string, from: number, to: number): boolean {
  for (let at = from; at < to; at++) {
    const code = text.charCodeAt(at);
    if (code === 0 || code === 0x0d || code === 0x0a) return true;
  }
  return false;
}

function isOws(code: number): boolean {
  return code === SP || code === HTAB;
}

/** Where the line of `text` that starts at `start` ends: at its CRLF, or at the end of the text. */
function lineEnd(text: string, start: number): number {
  const at = text.indexOf("\r\n", start);
  return at === -1 ? text.length : at;
}

/** Whether the comma-separated list `value` has "close" (in any case) as an element. */
function listsClose(value: string): boolean {
  const lower = value.toLowerCase();
  // Most say keep-alive: no split for them.
  return lower.includes("close") && lower.split(/\s*,\s*/).includes("close");
}

/** How the body of `head`, answering `method`, is delimited. */
export function framing(method: string, head: ResponseHead): Framing {
  const { status, fields } = head;
  if (method === "HEAD" || status < 200 || status === 204 || status === 205 || status === 304) return { kind: "none" };
  const transferEncoding: string[] = [];
  const contentLength: string[] = [];
  for (const [name, value] of fields) {
    if (name === "transfer-encoding") transferEncoding.push(value);
    else if (name === "content-length") contentLength.push(value);
  }
  if (transferEncoding.length > 0) {
    if (contentLength.length > 0) throw malformedResponse("both Transfer-Encoding and Content-Length");
    const codings = transferEncoding.flatMap((value) => value.toLowerCase().split(/\s*,\s*/));
    if (codings.length !== 1 || codings[0] !== "chunked") {
      throw malformedResponse(`unsupported Transfer-Encoding "${transferEncoding.join(", ")}"`);
    }
    return { kind: "chunked" };
  }
  if (contentLength.length === 1 && /^\d{1,15}$/.test(contentLength[0]!)) {
    return { kind: "length", length: Number(contentLength[0]) };
  }
  if (contentLength.length > 0) {
    const values = new Set(contentLength.flatMap((value) => value.split(",").map((part) => part.trim())));
    const [value] = values;
    if (values.size !== 1 || !/^\d{1,15}$/.test(value!)) {
      throw malformedResponse(`Content-Length "${contentLength.join(", ")}"`);
    }
    return { kind: "length", length: Number(value) };
  }
  return { kind: "close" };
}

/** Parses a chunk-size line (extensions ignored). */
export function parseChunkSize(line: Uint8Array): number {
  const text = latin1(line);
  const size = /^([0-9A-Fa-f]{1,12})[ \t]*(?:;.*)?$/.exec(text);
  if (!size) throw malformedResponse(`chunk size ${JSON.stringify(text.slice(0, 40))}`);
  return parseInt(size[1]!, 16);
}

export function fieldValues(fields: [string, string][], name: string): string[] {
  return fields.filter(([field]) => field === name).map(([, value]) => value);
}

/** HTTP heads are bytes; each maps to the code point of the same value. */
export function latin1(bytes: Uint8Array): string {
  let text = "";
  for (let at = 0; at < bytes.length; at += 8192) {
    // apply takes the typed array as the argument list; spreading it would iterate it, several times slower.
    text += String.fromCharCode.apply(null, bytes.subarray(at, at + 8192) as unknown as number[]);
  }
  return text;
}

export function encodeLatin1(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let at = 0; at < text.length; at++) bytes[at] = text.charCodeAt(at);
  return bytes;
}
