// HTTP/2 frames and HPACK blocks as plain data, for plans built in any
// runtime and written apart from the client's codec: frame types and flags
// (RFC 9113 §6), and HPACK's simplest forms (RFC 7541 §5 and §6: integers,
// literals without Huffman, an indexed field, a size update), from which the
// cases build good header blocks and bad ones.
import { HELLO } from "../content.js";
import type { H2Frame } from "./plan.js";

/** Frame types (RFC 9113 §6). */
export const H2 = {
  DATA: 0,
  HEADERS: 1,
  PRIORITY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PUSH_PROMISE: 5,
  PING: 6,
  GOAWAY: 7,
  WINDOW_UPDATE: 8,
  CONTINUATION: 9,
} as const;

/** Flags. */
export const END_STREAM = 0x1;
export const ACK = 0x1;
export const END_HEADERS = 0x4;
export const PADDED = 0x8;
export const PRIORITY_FLAG = 0x20;

/** SETTINGS identifiers (RFC 9113 §6.5.2). */
export const SETTING = {
  HEADER_TABLE_SIZE: 1,
  ENABLE_PUSH: 2,
  MAX_CONCURRENT_STREAMS: 3,
  INITIAL_WINDOW_SIZE: 4,
  MAX_FRAME_SIZE: 5,
  MAX_HEADER_LIST_SIZE: 6,
} as const;

/** Error codes (RFC 9113 §7). */
export const ERROR = {
  NO_ERROR: 0,
  PROTOCOL_ERROR: 1,
  INTERNAL_ERROR: 2,
  FLOW_CONTROL_ERROR: 3,
  SETTINGS_TIMEOUT: 4,
  STREAM_CLOSED: 5,
  FRAME_SIZE_ERROR: 6,
  REFUSED_STREAM: 7,
  CANCEL: 8,
  COMPRESSION_ERROR: 9,
  CONNECT_ERROR: 10,
  ENHANCE_YOUR_CALM: 11,
} as const;

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));
function toHex(bytes: readonly number[]): string {
  let text = "";
  for (const byte of bytes) text += HEX[byte]!;
  return text;
}

const latin1 = (text: string) => Array.from(text, (character) => character.charCodeAt(0) & 0xff);
const u32 = (value: number) => [(value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];

/** A frame whose payload is `bytes`. */
export function frame(type: number, flags: number, stream: number, bytes: readonly number[] = []): H2Frame {
  return { type, flags, stream, payload: toHex(bytes) };
}

/** RFC 7541 §5.1: `value` as an integer with an N-bit prefix, the bits above it set to `high`. */
export function hpackInteger(value: number, prefixBits: number, high = 0): number[] {
  const limit = (1 << prefixBits) - 1;
  if (value < limit) return [high | value];
  const bytes = [high | limit];
  let rest = value - limit;
  while (rest >= 128) {
    bytes.push((rest % 128) | 0x80);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return bytes;
}

/** RFC 7541 §5.2: a string literal, without Huffman coding. */
export function hpackString(text: string): number[] {
  return [...hpackInteger(text.length, 7), ...latin1(text)];
}

/** RFC 7541 §6.2.2: a field as a literal without indexing, its name new or (a number) the static table's. */
export function literalField(name: string | number, value: string): number[] {
  return typeof name === "number"
    ? [...hpackInteger(name, 4), ...hpackString(value)]
    : [0, ...hpackString(name), ...hpackString(value)];
}

/** RFC 7541 §6.2.1: a literal with incremental indexing and a new name: it enters the dynamic table. */
export function indexedLiteralField(name: string, value: string): number[] {
  return [0x40, ...hpackString(name), ...hpackString(value)];
}

/** RFC 7541 §6.1: a field by its index in the tables. */
export function indexedField(index: number): number[] {
  return hpackInteger(index, 7, 0x80);
}

/** RFC 7541 §6.3: a dynamic table size update. */
export function sizeUpdate(size: number): number[] {
  return hpackInteger(size, 5, 0x20);
}

/** The static table's index of `:status` (RFC 7541 Appendix A). */
const STATUS = 8;
/** The healthy response's fields. */
export const HEALTHY_FIELDS: [string, string][] = [
  ["content-type", "text/plain"],
  ["content-length", String(HELLO.length)],
];

/** A response's header block, every field a literal without indexing. */
export function headerBlock(status: number | string, fields: readonly [string, string][] = HEALTHY_FIELDS): number[] {
  return [...literalField(STATUS, String(status)), ...fields.flatMap(([name, value]) => literalField(name, value))];
}

export const headers = (stream: number, block: readonly number[], flags = END_HEADERS) =>
  frame(H2.HEADERS, flags, stream, block);
export const data = (stream: number, text: string, flags = 0) => frame(H2.DATA, flags, stream, latin1(text));

/** SETTINGS with these identifiers and values. */
export function settings(values: readonly [number, number][] = []): H2Frame {
  return frame(
    H2.SETTINGS,
    0,
    0,
    values.flatMap(([id, value]) => [(id >> 8) & 0xff, id & 0xff, ...u32(value)]),
  );
}

export const windowUpdate = (stream: number, increment: number) => frame(H2.WINDOW_UPDATE, 0, stream, u32(increment));
export const rstStream = (stream: number, code: number) => frame(H2.RST_STREAM, 0, stream, u32(code));
export const goaway = (last: number, code: number) => frame(H2.GOAWAY, 0, 0, [...u32(last), ...u32(code)]);
export const ping = (bytes: readonly number[] = [1, 2, 3, 4, 5, 6, 7, 8], flags = 0) => frame(H2.PING, flags, 0, bytes);

/** The healthy response on `stream`, its body in two DATA frames, and GOAWAY naming it as the last. */
export function healthyAnswer(stream: number): H2Frame[] {
  return [
    headers(stream, headerBlock(200)),
    data(stream, HELLO.slice(0, 13)),
    data(stream, HELLO.slice(13), END_STREAM),
    goaway(stream, ERROR.NO_ERROR),
  ];
}
