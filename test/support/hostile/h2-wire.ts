// HTTP/2 on the wire, as much as the hostile server needs and written apart
// from the client's codec: frames (RFC 9113 §4.1), the connection preface,
// and HPACK's simplest forms (RFC 7541 §5 and §6: integers, literals without
// indexing and without Huffman, an indexed field, a size update), from which
// the cases build good header blocks and bad ones.

/** RFC 9113 §3.4: what a client sends first. */
export const CLIENT_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
export const FRAME_HEADER = 9;

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

/** A frame: its 9-byte header (the length declared, or the payload's) and its payload. */
export function frameBytes(type: number, flags: number, stream: number, payload: Buffer, declared?: number): Buffer {
  const header = Buffer.alloc(FRAME_HEADER);
  header.writeUIntBE(declared ?? payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(stream >>> 0, 5);
  return Buffer.concat([header, payload]);
}

/** RFC 7541 §5.1: `value` as an integer with an N-bit prefix, the bits above it set to `high`. */
export function hpackInteger(value: number, prefixBits: number, high = 0): Buffer {
  const limit = (1 << prefixBits) - 1;
  if (value < limit) return Buffer.from([high | value]);
  const bytes = [high | limit];
  let rest = value - limit;
  while (rest >= 128) {
    bytes.push((rest % 128) | 0x80);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

/** RFC 7541 §5.2: a string literal, without Huffman coding. */
function hpackString(text: string): Buffer {
  const bytes = Buffer.from(text, "latin1");
  return Buffer.concat([hpackInteger(bytes.length, 7), bytes]);
}

/** RFC 7541 §6.2.2: a field as a literal without indexing, its name new or (`nameIndex`) from the static table. */
export function literalField(name: string | number, value: string): Buffer {
  return typeof name === "number"
    ? Buffer.concat([hpackInteger(name, 4), hpackString(value)])
    : Buffer.concat([Buffer.from([0]), hpackString(name), hpackString(value)]);
}

/** RFC 7541 §6.2.1: a literal with incremental indexing (a new name): it enters the dynamic table. */
export function indexedLiteralField(name: string, value: string): Buffer {
  return Buffer.concat([Buffer.from([0x40]), hpackString(name), hpackString(value)]);
}

/** RFC 7541 §6.1: a field by its index in the tables. */
export function indexedField(index: number): Buffer {
  return hpackInteger(index, 7, 0x80);
}

/** RFC 7541 §6.3: a dynamic table size update. */
export function sizeUpdate(size: number): Buffer {
  return hpackInteger(size, 5, 0x20);
}

/** The static table's index of `:status` (RFC 7541 Appendix A). */
const STATUS = 8;

/** A response's header block, every field a literal without indexing. */
export function headerBlock(status: number | string, fields: [string, string][] = []): Buffer {
  return Buffer.concat([
    literalField(STATUS, String(status)),
    ...fields.map(([name, value]) => literalField(name, value)),
  ]);
}

/** A client's frame as read. */
export interface ReadFrame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

/** Splits what a client sends into its preface and frames; `malformed` once they stop parsing. */
export class FrameReader {
  #buffer = Buffer.alloc(0);
  #preface = false;
  malformed = false;

  constructor(
    readonly maxFrame: number,
    private readonly onPreface: (right: boolean) => void,
  ) {}

  push(chunk: Buffer): ReadFrame[] {
    if (this.malformed) return [];
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    if (!this.#preface) {
      if (this.#buffer.length < CLIENT_PREFACE.length) return [];
      this.#preface = true;
      const right = this.#buffer.subarray(0, CLIENT_PREFACE.length).equals(CLIENT_PREFACE);
      this.onPreface(right);
      if (!right) {
        this.malformed = true;
        return [];
      }
      this.#buffer = this.#buffer.subarray(CLIENT_PREFACE.length);
    }
    const frames: ReadFrame[] = [];
    while (this.#buffer.length >= FRAME_HEADER) {
      const length = this.#buffer.readUIntBE(0, 3);
      if (length > this.maxFrame) {
        this.malformed = true;
        break;
      }
      if (this.#buffer.length < FRAME_HEADER + length) break;
      frames.push({
        type: this.#buffer[3]!,
        flags: this.#buffer[4]!,
        stream: this.#buffer.readUInt32BE(5) & 0x7fff_ffff,
        payload: Buffer.from(this.#buffer.subarray(FRAME_HEADER, FRAME_HEADER + length)),
      });
      this.#buffer = this.#buffer.subarray(FRAME_HEADER + length);
    }
    return frames;
  }
}
