// HTTP/2 frames (RFC 9113, section 4): the 9-byte header, the frame types and flags a client uses, and an
// incremental parser that hands out each frame's payload whole.

/** The client connection preface, sent first on every connection (RFC 9113, section 3.4). */
export const PREFACE = new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

export const FrameType = {
  Data: 0,
  Headers: 1,
  Priority: 2,
  RstStream: 3,
  Settings: 4,
  PushPromise: 5,
  Ping: 6,
  GoAway: 7,
  WindowUpdate: 8,
  Continuation: 9,
} as const;

export const Flag = { EndStream: 0x1, Ack: 0x1, EndHeaders: 0x4, Padded: 0x8, Priority: 0x20 } as const;

export const Setting = {
  HeaderTableSize: 1,
  EnablePush: 2,
  MaxConcurrentStreams: 3,
  InitialWindowSize: 4,
  MaxFrameSize: 5,
  MaxHeaderListSize: 6,
} as const;

export const ErrorCode = {
  NoError: 0x0,
  ProtocolError: 0x1,
  InternalError: 0x2,
  FlowControlError: 0x3,
  StreamClosed: 0x5,
  FrameSizeError: 0x6,
  RefusedStream: 0x7,
  Cancel: 0x8,
  CompressionError: 0x9,
  EnhanceYourCalm: 0xb,
} as const;

const ERROR_NAMES = [
  "NO_ERROR",
  "PROTOCOL_ERROR",
  "INTERNAL_ERROR",
  "FLOW_CONTROL_ERROR",
  "SETTINGS_TIMEOUT",
  "STREAM_CLOSED",
  "FRAME_SIZE_ERROR",
  "REFUSED_STREAM",
  "CANCEL",
  "COMPRESSION_ERROR",
  "CONNECT_ERROR",
  "ENHANCE_YOUR_CALM",
  "INADEQUATE_SECURITY",
  "HTTP_1_1_REQUIRED",
];

/** An error code as RFC 9113 names it (section 7), or in hex when it names none. */
export function errorName(code: number): string {
  return ERROR_NAMES[code] ?? `error code 0x${code.toString(16)}`;
}

/** The largest window and stream id: 2^31 - 1. */
export const MAX_INT31 = 0x7fffffff;
/** Every frame's payload may be this long until SETTINGS_MAX_FRAME_SIZE says more; we never say more. */
export const DEFAULT_MAX_FRAME_SIZE = 16_384;
/** The initial window of every stream and of the connection (RFC 9113, section 6.9.2). */
export const DEFAULT_WINDOW = 65_535;

export interface Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Uint8Array;
}

/** A breach of RFC 9113 that ends the connection: its code goes into GOAWAY, and `message` to the caller. */
export class ConnectionError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** A breach that ends one stream: its code goes into RST_STREAM. */
export class StreamError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** One frame: header and payload, in one buffer. */
export function encodeFrame(type: number, flags: number, stream: number, payload?: Uint8Array): Uint8Array {
  const length = payload?.length ?? 0;
  const frame = new Uint8Array(9 + length);
  writeHeader(frame, 0, length, type, flags, stream);
  if (payload) frame.set(payload, 9);
  return frame;
}

export function writeHeader(
  into: Uint8Array,
  at: number,
  length: number,
  type: number,
  flags: number,
  stream: number,
): void {
  into[at] = length >>> 16;
  into[at + 1] = (length >>> 8) & 0xff;
  into[at + 2] = length & 0xff;
  into[at + 3] = type;
  into[at + 4] = flags;
  writeUint32(into, at + 5, stream);
}

export function readUint32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

function writeUint32(into: Uint8Array, at: number, value: number): void {
  into[at] = value >>> 24;
  into[at + 1] = (value >>> 16) & 0xff;
  into[at + 2] = (value >>> 8) & 0xff;
  into[at + 3] = value & 0xff;
}

/** A frame whose payload is one 32-bit value: WINDOW_UPDATE and RST_STREAM. */
export function uint32Frame(type: number, stream: number, value: number): Uint8Array {
  const frame = new Uint8Array(13);
  writeHeader(frame, 0, 4, type, 0, stream);
  writeUint32(frame, 9, value);
  return frame;
}

export function settingsFrame(settings: readonly (readonly [number, number])[]): Uint8Array {
  const payload = new Uint8Array(6 * settings.length);
  settings.forEach(([id, value], index) => {
    payload[6 * index] = id >>> 8;
    payload[6 * index + 1] = id & 0xff;
    writeUint32(payload, 6 * index + 2, value);
  });
  return encodeFrame(FrameType.Settings, 0, 0, payload);
}

export function goAwayFrame(lastStream: number, code: number): Uint8Array {
  const payload = new Uint8Array(8);
  writeUint32(payload, 0, lastStream);
  writeUint32(payload, 4, code);
  return encodeFrame(FrameType.GoAway, 0, 0, payload);
}

/**
 * Splits received bytes into frames. A frame that lies whole in one push is
 * a view of it; one spread over pushes is gathered into a buffer of its own
 * size, which `maxFrameSize` bounds.
 */
export class FrameParser {
  readonly #maxFrameSize: number;
  /** The header of a frame spread over pushes, and how much of it has come. */
  readonly #header = new Uint8Array(9);
  #headerFilled = 0;
  /** Its payload, once the header has come, and how much of that has. */
  #payload: Uint8Array | null = null;
  #payloadFilled = 0;

  constructor(maxFrameSize: number) {
    this.#maxFrameSize = maxFrameSize;
  }

  /** The frames `bytes` completes, in order; a ConnectionError for a frame over the size limit. */
  push(bytes: Uint8Array, frames: Frame[]): void {
    let at = 0;
    if (this.#headerFilled > 0) {
      at = this.#continuePartial(bytes, frames);
      if (this.#headerFilled > 0) return;
    }
    while (bytes.length - at >= 9) {
      const length = this.#lengthAt(bytes, at);
      if (bytes.length - at - 9 < length) break;
      frames.push({
        type: bytes[at + 3]!,
        flags: bytes[at + 4]!,
        stream: readUint32(bytes, at + 5) & MAX_INT31,
        payload: bytes.subarray(at + 9, at + 9 + length),
      });
      at += 9 + length;
    }
    if (at < bytes.length) this.#continuePartial(bytes.subarray(at), frames);
  }

  #lengthAt(bytes: Uint8Array, at: number): number {
    const length = (bytes[at]! << 16) | (bytes[at + 1]! << 8) | bytes[at + 2]!;
    if (length > this.#maxFrameSize) {
      throw new ConnectionError(
        ErrorCode.FrameSizeError,
        `a frame of ${length} bytes, over the ${this.#maxFrameSize} the client allows`,
      );
    }
    return length;
  }

  /** Gathers a frame spread over pushes; returns how much of `bytes` it took. */
  #continuePartial(bytes: Uint8Array, frames: Frame[]): number {
    let at = 0;
    if (this.#headerFilled < 9) {
      const taken = Math.min(9 - this.#headerFilled, bytes.length);
      this.#header.set(bytes.subarray(0, taken), this.#headerFilled);
      this.#headerFilled += taken;
      at = taken;
      if (this.#headerFilled < 9) return at;
      this.#payload = new Uint8Array(this.#lengthAt(this.#header, 0));
      this.#payloadFilled = 0;
    }
    const payload = this.#payload!;
    const taken = Math.min(payload.length - this.#payloadFilled, bytes.length - at);
    payload.set(bytes.subarray(at, at + taken), this.#payloadFilled);
    this.#payloadFilled += taken;
    at += taken;
    if (this.#payloadFilled === payload.length) {
      const header = this.#header;
      frames.push({ type: header[3]!, flags: header[4]!, stream: readUint32(header, 5) & MAX_INT31, payload });
      this.#headerFilled = 0;
      this.#payload = null;
    }
    return at;
  }
}
