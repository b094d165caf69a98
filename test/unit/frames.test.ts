// The WebSocket framing (src/websocket/frames.ts): RFC 6455 §5.7's example frames, every frame-level rule a
// server can break, bytes fed in pieces of every size, the size limit checked before anything is allocated,
// and the client's masked frames decoded back by a decoder written here.
import { describe, expect, it } from "vitest";

import {
  closeFrame,
  encodeFrame,
  FrameParser,
  Opcode,
  parseClose,
  ProtocolViolation,
  type Received,
} from "../../src/websocket/frames.js";

const MiB = 1024 * 1024;
const bytes = (...values: number[]) => Uint8Array.from(values);
const utf8 = (value: string) => new TextEncoder().encode(value);
const HELLO = utf8("Hello");

/** `input` pushed in pieces of `size` bytes (the whole at once for Infinity), everything received. */
function parse(input: Uint8Array, size = Infinity, parser = new FrameParser(MiB, true)): Received[] {
  const received: Received[] = [];
  const step = Math.min(size, Math.max(input.length, 1));
  for (let at = 0; at < input.length; at += step) received.push(...parser.push(input.slice(at, at + step)));
  return received;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const joined = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    joined.set(part, at);
    at += part.length;
  }
  return joined;
}

/** An unmasked frame as a server writes it, its length in the fewest bytes unless `lengthBytes` says otherwise. */
function serverFrame(first: number, payload: Uint8Array, lengthBytes?: 0 | 2 | 8): Uint8Array {
  const size = lengthBytes ?? (payload.length < 126 ? 0 : payload.length < 0x10000 ? 2 : 8);
  const header = new Uint8Array(2 + size);
  header[0] = first;
  const view = new DataView(header.buffer);
  if (size === 0) header[1] = payload.length;
  else if (size === 2) {
    header[1] = 126;
    view.setUint16(2, payload.length);
  } else {
    header[1] = 127;
    view.setBigUint64(2, BigInt(payload.length));
  }
  return concat(header, payload);
}

/** The message FrameParser should hand on, for comparisons. */
const message = (payload: Uint8Array, text = false, compressed = false): Received => ({
  kind: "message",
  text,
  compressed,
  payload,
});
const control = (opcode: 8 | 9 | 10, payload: Uint8Array): Received => ({ kind: "control", opcode, payload });

/** Catches the ProtocolViolation `action` throws. */
function violationOf(action: () => unknown): ProtocolViolation {
  try {
    action();
  } catch (error) {
    if (error instanceof ProtocolViolation) return error;
    throw error;
  }
  throw new Error("no ProtocolViolation was thrown");
}

describe("FrameParser on RFC 6455 §5.7's examples", () => {
  it("reads a single-frame unmasked text message", () => {
    expect(parse(bytes(0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f))).toEqual([message(HELLO, true)]);
  });

  it("joins the fragmented unmasked text message", () => {
    const input = bytes(0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f);
    expect(parse(input)).toEqual([message(HELLO, true)]);
  });

  it("reads an unmasked ping", () => {
    expect(parse(bytes(0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f))).toEqual([control(9, HELLO)]);
  });

  it("refuses the masked frames, which only a client may send", () => {
    const maskedText = bytes(0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58);
    const maskedPong = bytes(0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58);
    for (const frame of [maskedText, maskedPong]) {
      expect(violationOf(() => parse(frame))).toMatchObject({
        closeCode: 1002,
        message: "masked frame from the server",
      });
      // They are the examples' "Hello", as the client-side decoder below reads them.
      expect(decodeClientFrame(frame).payload).toEqual(HELLO);
    }
  });

  it("reads 256 bytes of binary data with a 16-bit length", () => {
    const payload = Uint8Array.from({ length: 256 }, (_, index) => index);
    const input = concat(bytes(0x82, 0x7e, 0x01, 0x00), payload);
    expect(parse(input)).toEqual([message(payload)]);
  });

  it("reads 64 KiB of binary data with a 64-bit length", () => {
    const payload = Uint8Array.from({ length: 65536 }, (_, index) => index * 7);
    const input = concat(bytes(0x82, 0x7f, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00), payload);
    expect(parse(input)).toEqual([message(payload)]);
  });
});

describe("FrameParser with bytes in pieces", () => {
  const big = Uint8Array.from({ length: 70_000 }, (_, index) => index % 251);
  const stream = concat(
    serverFrame(0x81, HELLO),
    serverFrame(0x02, big.subarray(0, 300)), // a binary message in three fragments,
    serverFrame(0x89, utf8("ping")), // with a ping between them
    serverFrame(0x00, new Uint8Array(0)),
    serverFrame(0x80, big.subarray(300)),
    serverFrame(0xc1, utf8("compressed")),
    serverFrame(0x41, utf8("compressed, ")), // a compressed text message in two fragments
    serverFrame(0x8a, new Uint8Array(0)),
    serverFrame(0x80, utf8("fragmented")),
    serverFrame(0x82, new Uint8Array(0)),
    serverFrame(0x88, bytes(0x03, 0xe8)),
  );
  const expected = [
    message(HELLO, true),
    control(9, utf8("ping")),
    message(big),
    message(utf8("compressed"), true, true),
    control(10, new Uint8Array(0)),
    message(utf8("compressed, fragmented"), true, true),
    message(new Uint8Array(0)),
    control(8, bytes(0x03, 0xe8)),
  ];

  it.each([1, 2, 3, 7, 126, 4096, Infinity])("reads the same frames in pieces of %s bytes", (size) => {
    expect(parse(stream, size)).toEqual(expected);
  });

  it("hands on a payload that lies whole in one piece as a view of it, without copying", () => {
    const piece = concat(serverFrame(0x82, big.subarray(0, 1000)), serverFrame(0x89, HELLO));
    const [binary, ping] = new FrameParser(MiB, false).push(piece);
    expect(binary!.payload.buffer).toBe(piece.buffer);
    expect(ping!.payload.buffer).toBe(piece.buffer);
  });

  it("copies a payload spread over pieces into one buffer of its length", () => {
    const frame = serverFrame(0x82, big.subarray(0, 1000));
    const parser = new FrameParser(MiB, false);
    expect(parser.push(frame.subarray(0, 500))).toEqual([]);
    const [received] = parser.push(frame.subarray(500));
    expect(received).toEqual(message(big.subarray(0, 1000)));
    expect(received!.payload.buffer).not.toBe(frame.buffer);
    expect(received!.payload.buffer.byteLength).toBe(1000);
  });

  it("accepts lengths not written in the fewest bytes, as ws and browsers do", () => {
    const input = concat(serverFrame(0x81, HELLO, 2), serverFrame(0x81, HELLO, 8), serverFrame(0x82, big, 8));
    expect(parse(input, 3)).toEqual([message(HELLO, true), message(HELLO, true), message(big)]);
  });
});

describe("FrameParser's rules", () => {
  it.each([
    { rule: "RSV2", frame: serverFrame(0xa1, HELLO), reason: "RSV2 or RSV3 set" },
    { rule: "RSV3", frame: serverFrame(0x91, HELLO), reason: "RSV2 or RSV3 set" },
    { rule: "RSV1 on a control frame", frame: serverFrame(0xc9, HELLO), reason: "RSV1 set on a control frame" },
    {
      rule: "RSV1 on a continuation frame",
      frame: concat(serverFrame(0x41, HELLO), serverFrame(0xc0, HELLO)),
      reason: "RSV1 set on a continuation frame",
    },
    ...[3, 4, 5, 6, 7, 11, 12, 13, 14, 15].map((opcode) => ({
      rule: `reserved opcode ${opcode}`,
      frame: serverFrame(0x80 | opcode, HELLO),
      reason: `reserved opcode ${opcode}`,
    })),
    { rule: "a fragmented ping", frame: serverFrame(0x09, HELLO), reason: "fragmented control frame" },
    { rule: "a fragmented close", frame: serverFrame(0x08, bytes(0x03, 0xe8)), reason: "fragmented control frame" },
    {
      rule: "a control frame of 126 bytes",
      frame: serverFrame(0x89, new Uint8Array(126)),
      reason: "control frame with a payload of more than 125 bytes",
    },
    {
      rule: "a control frame of 5 bytes with a 16-bit length",
      frame: serverFrame(0x8a, HELLO, 2),
      reason: "control frame with a payload of more than 125 bytes",
    },
    { rule: "a masked frame", frame: bytes(0x82, 0x80, 1, 2, 3, 4), reason: "masked frame from the server" },
    {
      rule: "a continuation outside a message",
      frame: serverFrame(0x80, HELLO),
      reason: "continuation frame outside a fragmented message",
    },
    {
      rule: "a continuation after a finished message",
      frame: concat(serverFrame(0x01, HELLO), serverFrame(0x80, HELLO), serverFrame(0x80, HELLO)),
      reason: "continuation frame outside a fragmented message",
    },
    {
      rule: "a text frame inside a message",
      frame: concat(serverFrame(0x01, HELLO), serverFrame(0x81, HELLO)),
      reason: "new data frame inside a fragmented message",
    },
    {
      rule: "a binary frame inside a message",
      frame: concat(serverFrame(0x02, HELLO), serverFrame(0x89, HELLO), serverFrame(0x02, HELLO)),
      reason: "new data frame inside a fragmented message",
    },
    {
      rule: "a 64-bit length with its top bit set",
      frame: bytes(0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 5),
      reason: "64-bit payload length with its most significant bit set",
    },
  ])("closes with 1002 for $rule, a byte at a time too", ({ frame, reason }) => {
    for (const size of [1, Infinity]) {
      const violation = violationOf(() => parse(frame, size));
      expect(violation.closeCode).toBe(1002);
      expect(violation.message).toContain(reason);
    }
  });

  it("closes with 1002 for RSV1 when permessage-deflate was not negotiated, and accepts it when it was", () => {
    const frame = serverFrame(0xc2, HELLO);
    expect(violationOf(() => parse(frame, Infinity, new FrameParser(MiB, false)))).toMatchObject({
      closeCode: 1002,
      message: "RSV1 set, though permessage-deflate was not negotiated",
    });
    expect(parse(frame, Infinity, new FrameParser(MiB, true))).toEqual([message(HELLO, false, true)]);
  });

  it("refuses a frame at its first byte that breaks a rule, before the rest arrives", () => {
    const parser = new FrameParser(MiB, false);
    expect(violationOf(() => parser.push(bytes(0x83))).closeCode).toBe(1002);
    expect(violationOf(() => new FrameParser(MiB, false).push(bytes(0x82, 0xfe))).closeCode).toBe(1002);
  });

  it("hands on, with the violation, what the piece completed before it", () => {
    const input = concat(serverFrame(0x81, HELLO), serverFrame(0x89, utf8("ping")), bytes(0x83));
    const violation = violationOf(() => new FrameParser(MiB, false).push(input));
    expect(violation.closeCode).toBe(1002);
    expect(violation.received).toEqual([message(HELLO, true), control(9, utf8("ping"))]);
  });
});

describe("FrameParser's size limit", () => {
  it("takes a message of exactly the limit, whole or in fragments", () => {
    const payload = new Uint8Array(1000).fill(7);
    const fragmented = concat(serverFrame(0x02, payload.subarray(0, 400)), serverFrame(0x80, payload.subarray(400)));
    for (const input of [serverFrame(0x82, payload), fragmented])
      for (const size of [1, 100, Infinity])
        expect(parse(input, size, new FrameParser(1000, false))).toEqual([message(payload)]);
  });

  it("closes with 1009 at the header of a frame over the limit, before its payload arrives", () => {
    const parser = new FrameParser(1000, false);
    const header = serverFrame(0x82, new Uint8Array(1001)).subarray(0, 4);
    expect(violationOf(() => parser.push(header))).toMatchObject({ closeCode: 1009 });
  });

  it("checks the limit before allocating: a header announcing 2^52 bytes is refused, not allocated", () => {
    // Allocating 2^52 bytes would throw a RangeError, not a ProtocolViolation.
    const header = bytes(0x82, 0x7f, 0, 0x10, 0, 0, 0, 0, 0, 0);
    for (const size of [1, Infinity]) {
      expect(violationOf(() => parse(header, size, new FrameParser(100 * MiB, false)))).toMatchObject({
        closeCode: 1009,
        message: `message of more than ${100 * MiB} bytes`,
      });
    }
  });

  it("counts the joined fragments against the limit, at the header of the fragment that passes it", () => {
    const fragment = new Uint8Array(400);
    const parser = new FrameParser(1000, false);
    expect(parser.push(concat(serverFrame(0x02, fragment), serverFrame(0x00, fragment)))).toEqual([]);
    // A ping between fragments does not count.
    expect(parser.push(serverFrame(0x89, new Uint8Array(125)))).toHaveLength(1);
    const third = serverFrame(0x80, new Uint8Array(201));
    expect(violationOf(() => parser.push(third.subarray(0, 4)))).toMatchObject({ closeCode: 1009 });
  });

  it("allocates as a payload arrives, not what its header declares", () => {
    // 20 frames and 20 fragmented messages, each announcing 64 MiB and sending one byte of it.
    const announced = 64 * MiB;
    const header = (first: number) => bytes(first, 0x7f, 0, 0, 0, 0, 0x04, 0, 0, 0, 0x2a);
    const parsers: FrameParser[] = [];
    const before = process.memoryUsage().arrayBuffers;
    for (let index = 0; index < 20; index++) {
      const whole = new FrameParser(100 * MiB, false);
      expect(whole.push(header(0x82))).toEqual([]);
      const fragmented = new FrameParser(100 * MiB, false);
      expect(fragmented.push(concat(serverFrame(0x02, bytes(1)), header(0x80)))).toEqual([]);
      parsers.push(whole, fragmented);
    }
    const grown = process.memoryUsage().arrayBuffers - before;
    expect(grown).toBeLessThan(announced);
  });

  it("joins a message of 32,000 fragments of 100 bytes, copying a linear amount (vitest's timeout bounds it)", () => {
    // Growing the message's buffer only to each fragment's end copied it whole per fragment: 18 s here.
    const fragment = new Uint8Array(100).fill(9);
    const frames = [serverFrame(0x02, fragment)];
    for (let index = 1; index < 31_999; index++) frames.push(serverFrame(0x00, fragment));
    frames.push(serverFrame(0x80, fragment));
    const received = parse(concat(...frames), 16 * 1024, new FrameParser(100 * MiB, false));
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ kind: "message", text: false });
    const payload = (received[0] as { payload: Uint8Array }).payload;
    expect(payload.length).toBe(3_200_000);
    expect(payload.every((byte) => byte === 9)).toBe(true);
  });

  it("applies the limit to a message's payload as received, still compressed", () => {
    const compressed = serverFrame(0xc2, new Uint8Array(1000));
    expect(parse(compressed, Infinity, new FrameParser(1000, true))).toHaveLength(1);
    expect(violationOf(() => parse(compressed, Infinity, new FrameParser(999, true))).closeCode).toBe(1009);
  });
});

/** A client's frame read back as a server reads it: FIN, RSV1, opcode, the masking key and the unmasked payload. */
function decodeClientFrame(frame: Uint8Array) {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  expect(frame[1]! & 0x80).toBe(0x80);
  let length = frame[1]! & 0x7f;
  let at = 2;
  if (length === 126) {
    length = view.getUint16(2);
    at = 4;
  } else if (length === 127) {
    length = Number(view.getBigUint64(2));
    at = 10;
  }
  const key = frame.subarray(at, at + 4);
  const payload = frame.slice(at + 4);
  expect(payload.length).toBe(length);
  for (let index = 0; index < payload.length; index++) payload[index]! ^= key[index % 4]!;
  return {
    fin: (frame[0]! & 0x80) !== 0,
    rsv: (frame[0]! >> 4) & 0x07,
    opcode: frame[0]! & 0x0f,
    key: Array.from(key),
    lengthBytes: at - 2,
    payload,
  };
}

describe("encodeFrame", () => {
  it.each([0, 1, 3, 4, 5, 125, 126, 127, 1000, 65535, 65536, 70_001])(
    "writes a masked frame of %s bytes that decodes to its payload, its length in the fewest bytes",
    (length) => {
      const payload = Uint8Array.from({ length }, (_, index) => (index * 31 + 7) & 0xff);
      const original = payload.slice();
      const decoded = decodeClientFrame(encodeFrame(Opcode.Binary, payload, false));
      expect(decoded).toMatchObject({ fin: true, rsv: 0, opcode: Opcode.Binary });
      expect(decoded.lengthBytes).toBe(length < 126 ? 0 : length < 65536 ? 2 : 8);
      expect(decoded.payload).toEqual(payload);
      expect(payload).toEqual(original);
    },
  );

  it("masks a payload that is a view at an odd offset", () => {
    const backing = Uint8Array.from({ length: 301 }, (_, index) => index & 0xff);
    const payload = backing.subarray(3, 300);
    expect(decodeClientFrame(encodeFrame(Opcode.Text, payload, false)).payload).toEqual(payload);
  });

  it("sets RSV1 for a compressed message and writes each opcode", () => {
    expect(decodeClientFrame(encodeFrame(Opcode.Text, HELLO, true))).toMatchObject({ rsv: 4, opcode: 1 });
    for (const opcode of Object.values(Opcode))
      expect(decodeClientFrame(encodeFrame(opcode, HELLO, false))).toMatchObject({ fin: true, rsv: 0, opcode });
  });

  it("masks every frame with a fresh key, also past the refill of its random pool", () => {
    const keys = new Set<string>();
    for (let count = 0; count < 3000; count++)
      keys.add(decodeClientFrame(encodeFrame(Opcode.Text, HELLO, false)).key.join());
    // 3,000 random 32-bit keys collide with a probability of about 1 in 1,000.
    expect(keys.size).toBeGreaterThan(2990);
  });
});

describe("closeFrame and parseClose", () => {
  it("writes a close frame without a payload, or with the code and the reason in UTF-8", () => {
    expect(decodeClientFrame(closeFrame())).toMatchObject({ opcode: Opcode.Close, payload: new Uint8Array(0) });
    const decoded = decodeClientFrame(closeFrame(4001, "bye ✓"));
    expect(decoded).toMatchObject({ fin: true, opcode: Opcode.Close });
    expect(decoded.payload).toEqual(concat(bytes(0x0f, 0xa1), utf8("bye ✓")));
    expect(parseClose(decoded.payload)).toEqual({ code: 4001, reason: "bye ✓" });
  });

  it("reads 1005 from an empty payload", () => {
    expect(parseClose(new Uint8Array(0))).toEqual({ code: 1005, reason: "" });
  });

  it("closes with 1002 for a 1-byte payload", () => {
    expect(violationOf(() => parseClose(bytes(0x03)))).toMatchObject({ closeCode: 1002 });
  });

  const codeBytes = (code: number) => bytes(code >> 8, code & 0xff);
  const valid = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4000, 4999];
  const invalid = [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535];

  it.each(valid)("takes code %s", (code) => {
    expect(parseClose(concat(codeBytes(code), utf8("why")))).toEqual({ code, reason: "why" });
  });

  it.each(invalid)("closes with 1002 for code %s, which may not be sent", (code) => {
    expect(violationOf(() => parseClose(codeBytes(code)))).toMatchObject({ closeCode: 1002 });
  });

  it.each([
    { what: "a lone continuation byte", reason: bytes(0x80) },
    { what: "a truncated sequence", reason: bytes(0xe2, 0x9c) },
    { what: "an overlong encoding", reason: bytes(0xc0, 0xaf) },
    { what: "a surrogate", reason: bytes(0xed, 0xa0, 0x80) },
  ])("closes with 1007 for a reason with $what", ({ reason }) => {
    expect(violationOf(() => parseClose(concat(codeBytes(1000), reason)))).toMatchObject({ closeCode: 1007 });
  });
});
