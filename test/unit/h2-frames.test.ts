// HTTP/2 frame splitting (src/http2/frames.ts): frames whole in one read are views of it, frames spread over reads
// are gathered, and a frame over the size limit is FRAME_SIZE_ERROR before its payload arrives.
import { describe, expect, it } from "vitest";

import {
  ErrorCode,
  type Frame,
  FrameParser,
  FrameType,
  encodeFrame,
  errorName,
  goAwayFrame,
  settingsFrame,
  uint32Frame,
} from "../../src/http2/frames.js";

function parse(parser: FrameParser, ...pieces: Uint8Array[]): Frame[] {
  const frames: Frame[] = [];
  for (const piece of pieces) parser.push(piece, frames);
  return frames;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  return bytes;
}

const data = encodeFrame(FrameType.Data, 0x1, 3, new Uint8Array([1, 2, 3, 4, 5]));
const ping = encodeFrame(FrameType.Ping, 0, 0, new Uint8Array(8).fill(7));
const empty = encodeFrame(FrameType.Settings, 0x1, 0);

describe("FrameParser", () => {
  it("reads the header fields: length, type, flags, stream (the reserved bit dropped)", () => {
    const frame = encodeFrame(FrameType.Headers, 0x5, 0x7fffffff, new Uint8Array([9]));
    frame[5]! |= 0x80;
    expect(parse(new FrameParser(16_384), frame)).toEqual([
      { type: FrameType.Headers, flags: 0x5, stream: 0x7fffffff, payload: new Uint8Array([9]) },
    ]);
  });

  it("hands frames that lie whole in one read as views of it", () => {
    const bytes = concat(data, ping, empty);
    const frames = parse(new FrameParser(16_384), bytes);
    expect(frames.map((frame) => frame.type)).toEqual([FrameType.Data, FrameType.Ping, FrameType.Settings]);
    expect(frames[0]!.payload.buffer).toBe(bytes.buffer);
    expect(frames[2]!.payload.length).toBe(0);
  });

  it("gathers frames that arrive a byte at a time", () => {
    const bytes = concat(data, ping, empty, data);
    const parser = new FrameParser(16_384);
    const frames = parse(parser, ...Array.from(bytes, (byte) => new Uint8Array([byte])));
    expect(frames.map((frame) => [frame.type, Array.from(frame.payload)])).toEqual([
      [FrameType.Data, [1, 2, 3, 4, 5]],
      [FrameType.Ping, [7, 7, 7, 7, 7, 7, 7, 7]],
      [FrameType.Settings, []],
      [FrameType.Data, [1, 2, 3, 4, 5]],
    ]);
  });

  it("gathers a frame split at every point, with whole frames around it", () => {
    const bytes = concat(ping, data, ping);
    for (let split = 1; split < bytes.length; split++) {
      const frames = parse(new FrameParser(16_384), bytes.subarray(0, split), bytes.subarray(split));
      expect(frames.map((frame) => frame.type)).toEqual([FrameType.Ping, FrameType.Data, FrameType.Ping]);
      expect(Array.from(frames[1]!.payload)).toEqual([1, 2, 3, 4, 5]);
    }
  });

  it.each([
    { what: "in one read", pieces: (header: Uint8Array) => [header] },
    { what: "split", pieces: (header: Uint8Array) => [header.subarray(0, 4), header.subarray(4)] },
  ])("refuses a frame over the limit from its header alone, $what", ({ pieces }) => {
    const header = encodeFrame(FrameType.Data, 0, 1, new Uint8Array(16_385)).subarray(0, 9);
    expect(() => parse(new FrameParser(16_384), ...pieces(header))).toThrow(
      expect.objectContaining({ code: ErrorCode.FrameSizeError }),
    );
  });
});

describe("frame encoders", () => {
  it("write SETTINGS, WINDOW_UPDATE, RST_STREAM and GOAWAY as RFC 9113 lays them out", () => {
    expect(
      Array.from(
        settingsFrame([
          [2, 0],
          [4, 65_535],
        ]),
      ),
    ).toEqual([0, 0, 12, 4, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 4, 0, 0, 0xff, 0xff]);
    expect(Array.from(uint32Frame(FrameType.WindowUpdate, 5, 0x10000))).toEqual([
      0, 0, 4, 8, 0, 0, 0, 0, 5, 0, 1, 0, 0,
    ]);
    expect(Array.from(uint32Frame(FrameType.RstStream, 1, ErrorCode.Cancel))).toEqual([
      0, 0, 4, 3, 0, 0, 0, 0, 1, 0, 0, 0, 8,
    ]);
    expect(Array.from(goAwayFrame(7, ErrorCode.ProtocolError))).toEqual([
      0, 0, 8, 7, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 1,
    ]);
  });

  it("names error codes, and unknown ones in hex", () => {
    expect(errorName(ErrorCode.EnhanceYourCalm)).toBe("ENHANCE_YOUR_CALM");
    expect(errorName(0x1f)).toBe("error code 0x1f");
  });
});
