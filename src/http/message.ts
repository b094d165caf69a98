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
  const lines = latin1(bytes).split("\r\n");
  const statusLine = STATUS_LINE.exec(lines[0]!);
  if (!statusLine) throw malformed(`status line ${JSON.stringify(lines[0]!.slice(0, 80))}`);
  const fields: [string, string][] = [];
  for (const line of lines.slice(1)) {
    if (line.startsWith(" ") || line.startsWith("\t")) throw malformed("obsolete line folding in a header");
    const colon = line.indexOf(":");
    const name = line.slice(0, colon);
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
    if (colon <= 0 || !TOKEN.test(name)) throw malformed(`header line ${JSON.stringify(line.slice(0, 80))}`);
    if (/[\0\r\n]/.test(value)) throw malformed(`a control character in header ${name}`);
    fields.push([name.toLowerCase(), value]);
  }
  const connection = fieldValues(fields, "connection").flatMap((value) => value.toLowerCase().split(/\s*,\s*/));
  return {
    status: Number(statusLine[2]),
    statusText: statusLine[3] ?? "",
    fields,
    closes: statusLine[1] === "0" || connection.includes("close"),
  };
}

/** How the body of `head`, answering `method`, is delimited. */
export function framing(method: string, head: ResponseHead): Framing {
  const { status, fields } = head;
  if (method === "HEAD" || status < 200 || status === 204 || status === 205 || status === 304) return { kind: "none" };
  const transferEncoding = fieldValues(fields, "transfer-encoding");
  const contentLength = fieldValues(fields, "content-length");
  if (transferEncoding.length > 0) {
    if (contentLength.length > 0) throw malformedResponse("both Transfer-Encoding and Content-Length");
    const codings = transferEncoding.flatMap((value) => value.toLowerCase().split(/\s*,\s*/));
    if (codings.length !== 1 || codings[0] !== "chunked") {
      throw malformedResponse(`unsupported Transfer-Encoding "${transferEncoding.join(", ")}"`);
    }
    return { kind: "chunked" };
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
