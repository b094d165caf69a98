// RFC 6455 §5 framing for a client, with no I/O: FrameParser reads a
// server's frames from bytes that arrive in pieces of any size and enforces
// every frame-level rule; encodeFrame writes the client's masked frames.

export const Opcode = { Continuation: 0, Text: 1, Binary: 2, Close: 8, Ping: 9, Pong: 10 } as const;

/** A server's frame broke RFC 6455; the connection is closed with `closeCode`. */
export class ProtocolViolation extends Error {
  override readonly name = "ProtocolViolation";
  /** 1002 protocol error, 1007 invalid payload data (UTF-8), 1009 message too big. */
  readonly closeCode: 1002 | 1007 | 1009;
  /** What FrameParser.push completed before the violation, in the same piece: to be handled first. */
  received: Received[] = [];

  constructor(closeCode: 1002 | 1007 | 1009, message: string) {
    super(message);
    this.closeCode = closeCode;
  }
}

/** What FrameParser hands on: whole messages (fragments joined) and control frames. */
export type Received =
  | { kind: "message"; text: boolean; compressed: boolean; payload: Uint8Array }
  | { kind: "control"; opcode: 8 | 9 | 10; payload: Uint8Array };

const MAX_CONTROL_PAYLOAD = 125;
/** The least a payload spread over pieces is collected in: a 64 KiB message spread over TLS records needs one. */
const MIN_ROOM = 64 * 1024;
const EMPTY = new Uint8Array(0);

/**
 * Reads a server's frames. `push` takes the bytes as they arrive, in pieces
 * of any size, and returns what they completed. A payload that lies whole in
 * one piece is handed on as a view of it, so a piece must not be changed
 * after it was pushed. Fragments of a message are copied, as they arrive,
 * into one buffer that grows up to the message's size (never past
 * `maxMessageSize`), so that no fragment keeps a whole input piece alive.
 * Throws ProtocolViolation at the first byte that breaks a rule, carrying
 * what the piece completed before it; the parser is then unusable.
 */
export class FrameParser {
  readonly #maxMessageSize: number;
  readonly #compressionAllowed: boolean;

  // The frame being read: its header bytes so far (at most 10, since a
  // server's frame has no mask), then its payload.
  readonly #header = new Uint8Array(10);
  #headerLength = 0;
  /** The header's full length once its second byte is known, else 2. */
  #headerNeeded = 2;
  #inPayload = false;
  #fin = false;
  #opcode = 0;
  #payloadLength = 0;
  /** Where a payload spread over pieces is collected (for a fragment: the message's buffer). */
  #payload: Uint8Array = EMPTY;
  #payloadAt = 0;
  #payloadFilled = 0;

  // The fragmented message being joined, if any.
  #inMessage = false;
  #messageText = false;
  #messageCompressed = false;
  #joined: Uint8Array = EMPTY;
  #joinedLength = 0;

  constructor(maxMessageSize: number, compressionAllowed: boolean) {
    this.#maxMessageSize = maxMessageSize;
    this.#compressionAllowed = compressionAllowed;
  }

  push(bytes: Uint8Array): Received[] {
    const received: Received[] = [];
    try {
      this.#parse(bytes, received);
    } catch (error) {
      if (error instanceof ProtocolViolation) error.received = received;
      throw error;
    }
    return received;
  }

  #parse(bytes: Uint8Array, received: Received[]): void {
    let at = 0;
    while (at < bytes.length) {
      if (!this.#inPayload) {
        // The header, a byte at a time: each byte is checked once it is known.
        while (at < bytes.length && this.#headerLength < this.#headerNeeded) {
          this.#header[this.#headerLength++] = bytes[at++]!;
          if (this.#headerLength === 1) this.#checkFirstByte();
          else if (this.#headerLength === 2) this.#checkSecondByte();
        }
        if (this.#headerLength < this.#headerNeeded) break;
        this.#startPayload();
        // Nothing of a payload yet: wait for the next piece, which may hold it whole.
        if (at === bytes.length && this.#payloadLength > 0) break;
      }
      const missing = this.#payloadLength - this.#payloadFilled;
      if (this.#payloadFilled === 0 && !this.#fragment && at + missing <= bytes.length) {
        // Whole in this piece: a view, no copy.
        this.#complete(bytes.subarray(at, at + missing), received);
        at += missing;
        continue;
      }
      if (this.#payloadFilled === 0 && !this.#fragment) {
        // Spread over pieces: collected in a buffer that grows as they come (see #makeRoom).
        this.#payload = EMPTY;
        this.#payloadAt = 0;
      }
      const take = Math.min(missing, bytes.length - at);
      this.#makeRoom(this.#payloadAt + this.#payloadFilled + take);
      this.#payload.set(bytes.subarray(at, at + take), this.#payloadAt + this.#payloadFilled);
      this.#payloadFilled += take;
      at += take;
      if (this.#payloadFilled === this.#payloadLength) {
        const payload = this.#payload.subarray(this.#payloadAt, this.#payloadAt + this.#payloadLength);
        this.#payload = EMPTY;
        this.#complete(payload, received);
      }
    }
  }

  /** Whether the frame being read belongs to a fragmented message, its payload going to #joined. */
  get #fragment(): boolean {
    return this.#opcode < 8 && this.#inMessage;
  }

  #checkFirstByte(): void {
    const first = this.#header[0]!;
    const opcode = first & 0x0f;
    const fin = (first & 0x80) !== 0;
    const rsv1 = (first & 0x40) !== 0;
    if (first & 0x30) throw violation("RSV2 or RSV3 set, though no extension that defines them was negotiated");
    if (opcode >= 8) {
      if (opcode > Opcode.Pong) throw violation(`reserved opcode ${opcode}`);
      if (!fin) throw violation("fragmented control frame");
      if (rsv1) throw violation("RSV1 set on a control frame");
    } else if (opcode === Opcode.Continuation) {
      if (!this.#inMessage) throw violation("continuation frame outside a fragmented message");
      if (rsv1) throw violation("RSV1 set on a continuation frame");
    } else {
      if (opcode > Opcode.Binary) throw violation(`reserved opcode ${opcode}`);
      if (this.#inMessage) throw violation("new data frame inside a fragmented message");
      if (rsv1 && !this.#compressionAllowed) throw violation("RSV1 set, though permessage-deflate was not negotiated");
    }
    this.#fin = fin;
    this.#opcode = opcode;
  }

  #checkSecondByte(): void {
    const second = this.#header[1]!;
    if (second & 0x80) throw violation("masked frame from the server");
    const length = second & 0x7f;
    if (this.#opcode >= 8 && length > MAX_CONTROL_PAYLOAD)
      throw violation(`control frame with a payload of more than ${MAX_CONTROL_PAYLOAD} bytes`);
    this.#headerNeeded = length === 126 ? 4 : length === 127 ? 10 : 2;
  }

  /** The header is whole: reads the payload length, checks the limit and prepares the message buffer. */
  #startPayload(): void {
    const header = this.#header;
    // Lengths not written in the fewest bytes (RFC 6455 §5.2 says they must be) are accepted, as ws and
    // browsers accept them: they are unambiguous.
    let length = header[1]! & 0x7f;
    if (length === 126) length = (header[2]! << 8) | header[3]!;
    else if (length === 127) {
      if (header[2]! & 0x80) throw violation("64-bit payload length with its most significant bit set");
      // Exact up to 2^53; anything larger is far over any limit anyway.
      const high = ((header[2]! << 24) | (header[3]! << 16) | (header[4]! << 8) | header[5]!) >>> 0;
      const low = ((header[6]! << 24) | (header[7]! << 16) | (header[8]! << 8) | header[9]!) >>> 0;
      length = high * 2 ** 32 + low;
    }
    const opcode = this.#opcode;
    if (opcode < 8) {
      const messageLength = (this.#inMessage ? this.#joinedLength : 0) + length;
      if (messageLength > this.#maxMessageSize)
        throw new ProtocolViolation(1009, `message of more than ${this.#maxMessageSize} bytes`);
      if (opcode !== Opcode.Continuation) {
        this.#messageText = opcode === Opcode.Text;
        this.#messageCompressed = (header[0]! & 0x40) !== 0;
        if (!this.#fin) {
          this.#inMessage = true;
          this.#joinedLength = 0;
        }
      }
      if (this.#inMessage) {
        this.#payload = this.#joined;
        this.#payloadAt = this.#joinedLength;
      }
    }
    this.#payloadLength = length;
    this.#payloadFilled = 0;
    this.#inPayload = true;
  }

  /**
   * Makes #payload (for a fragment, the message's buffer) hold `needed` bytes: it doubles, from MIN_ROOM, but never
   * past the end of the frame being read (for a fragment, the limit), which was checked against the limit. Grown as
   * bytes arrive, not at the header, so that a header alone cannot make the client allocate the size it declares.
   */
  #makeRoom(needed: number): void {
    if (needed <= this.#payload.length) return;
    // A fragment's buffer doubles up to the limit, so that many small fragments are copied a linear amount in all.
    const end = this.#fragment ? this.#maxMessageSize : this.#payloadAt + this.#payloadLength;
    const grown = new Uint8Array(Math.min(end, Math.max(needed, 2 * this.#payload.length, MIN_ROOM)));
    grown.set(this.#payload.subarray(0, this.#payloadAt + this.#payloadFilled));
    this.#payload = grown;
    if (this.#fragment) this.#joined = grown;
  }

  /** A frame's payload is whole: hands on a control frame or a finished message, and resets for the next frame. */
  #complete(payload: Uint8Array, received: Received[]): void {
    const opcode = this.#opcode;
    this.#inPayload = false;
    this.#headerLength = 0;
    this.#headerNeeded = 2;
    if (opcode >= 8) {
      received.push({ kind: "control", opcode: opcode as 8 | 9 | 10, payload });
      return;
    }
    if (!this.#inMessage) {
      received.push({ kind: "message", text: this.#messageText, compressed: this.#messageCompressed, payload });
      return;
    }
    this.#joinedLength += this.#payloadLength;
    if (!this.#fin) return;
    received.push({
      kind: "message",
      text: this.#messageText,
      compressed: this.#messageCompressed,
      payload: this.#joined.subarray(0, this.#joinedLength),
    });
    this.#inMessage = false;
    this.#joined = EMPTY;
    this.#joinedLength = 0;
  }
}

function violation(message: string): ProtocolViolation {
  return new ProtocolViolation(1002, message);
}

// Masking keys are taken 4 bytes at a time from a pool that crypto.getRandomValues refills, one call per
// 1,024 frames rather than one per frame.
const KEY_POOL = new Uint8Array(4096);
let keyPoolAt = KEY_POOL.length;
// The 4 key bytes read as one word in the platform's byte order, to mask a word at a time.
const KEY_BYTES = new Uint8Array(4);
const KEY_WORD = new Uint32Array(KEY_BYTES.buffer);

/**
 * Payloads from this size on are masked a word at a time (about 1.5x as fast as a byte at a time at 64 KiB
 * in Node 20); below it, making the word view (about 0.4 µs) costs more than it saves.
 */
const WORD_MASKING_FROM = 256;

/**
 * One client frame, FIN set, masked with a fresh random key, RSV1 set when
 * `compressed`: header and masked payload in one allocation. A payload
 * masked a word at a time is placed on a 4-byte boundary of its buffer (the
 * frame's view then starts up to 3 bytes in).
 */
export function encodeFrame(opcode: number, payload: Uint8Array, compressed: boolean): Uint8Array {
  const length = payload.length;
  const lengthBytes = length < 126 ? 0 : length < 0x10000 ? 2 : 8;
  const headerLength = 2 + lengthBytes + 4;
  const byWord = length >= WORD_MASKING_FROM;
  const pad = byWord ? (4 - (headerLength % 4)) % 4 : 0;
  const frame = byWord
    ? new Uint8Array(pad + headerLength + length).subarray(pad)
    : new Uint8Array(headerLength + length);
  frame[0] = 0x80 | (compressed ? 0x40 : 0) | opcode;
  if (lengthBytes === 0) frame[1] = 0x80 | length;
  else if (lengthBytes === 2) {
    frame[1] = 0x80 | 126;
    frame[2] = length >>> 8;
    frame[3] = length & 0xff;
  } else {
    frame[1] = 0x80 | 127;
    const high = Math.floor(length / 2 ** 32);
    for (let index = 0; index < 4; index++) {
      frame[2 + index] = (high >>> (24 - 8 * index)) & 0xff;
      frame[6 + index] = (length >>> (24 - 8 * index)) & 0xff;
    }
  }
  if (keyPoolAt === KEY_POOL.length) {
    crypto.getRandomValues(KEY_POOL);
    keyPoolAt = 0;
  }
  const key0 = KEY_POOL[keyPoolAt]!;
  const key1 = KEY_POOL[keyPoolAt + 1]!;
  const key2 = KEY_POOL[keyPoolAt + 2]!;
  const key3 = KEY_POOL[keyPoolAt + 3]!;
  keyPoolAt += 4;
  frame[headerLength - 4] = key0;
  frame[headerLength - 3] = key1;
  frame[headerLength - 2] = key2;
  frame[headerLength - 1] = key3;
  frame.set(payload, headerLength);
  let index = 0;
  if (byWord) {
    KEY_BYTES[0] = key0;
    KEY_BYTES[1] = key1;
    KEY_BYTES[2] = key2;
    KEY_BYTES[3] = key3;
    const word = KEY_WORD[0]!;
    const words = new Uint32Array(frame.buffer, pad + headerLength, length >>> 2);
    for (let at = 0; at < words.length; at++) words[at] ^= word;
    index = words.length << 2;
  }
  for (; index + 3 < length; index += 4) {
    const at = headerLength + index;
    frame[at] ^= key0;
    frame[at + 1] ^= key1;
    frame[at + 2] ^= key2;
    frame[at + 3] ^= key3;
  }
  // The last 1 to 3 bytes.
  if (index < length) frame[headerLength + index] ^= key0;
  if (index + 1 < length) frame[headerLength + index + 1] ^= key1;
  if (index + 2 < length) frame[headerLength + index + 2] ^= key2;
  return frame;
}

const encoder = new TextEncoder();
/** UTF-8 that throws on invalid bytes, for text messages and close reasons. */
export const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** A close frame: no payload without a code, else the code and the reason in UTF-8 (checked by the caller). */
export function closeFrame(code?: number, reason = ""): Uint8Array {
  if (code === undefined) return encodeFrame(Opcode.Close, EMPTY, false);
  const reasonBytes = encoder.encode(reason);
  const payload = new Uint8Array(2 + reasonBytes.length);
  payload[0] = code >>> 8;
  payload[1] = code & 0xff;
  payload.set(reasonBytes, 2);
  return encodeFrame(Opcode.Close, payload, false);
}

/** A server's close frame's code and reason: 1005 when it has none. Throws ProtocolViolation for a bad one. */
export function parseClose(payload: Uint8Array): { code: number; reason: string } {
  if (payload.length === 0) return { code: 1005, reason: "" };
  if (payload.length === 1) throw violation("close frame with a 1-byte payload");
  const code = (payload[0]! << 8) | payload[1]!;
  if (!isValidStatusCode(code)) throw violation(`close code ${code}, which may not be sent`);
  let reason: string;
  try {
    reason = strictUtf8.decode(payload.subarray(2));
  } catch {
    throw new ProtocolViolation(1007, "close reason that is not valid UTF-8");
  }
  return { code, reason };
}

/** The codes a close frame may carry, as ws's isValidStatusCode: 1004-1006 are reserved or never sent. */
function isValidStatusCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999)
  );
}
