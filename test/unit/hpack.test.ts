// HPACK's Huffman code (src/http2/huffman.ts): codes against Appendix B, random round trips, and every way a
// Huffman string can be malformed.
import { describe, expect, it } from "vitest";

import { HuffmanError, huffmanDecode, huffmanEncode, huffmanLength } from "../../src/http2/huffman.js";

const hex = (text: string) => Uint8Array.from(text.match(/[0-9a-f]{2}/g)!.map((pair) => parseInt(pair, 16)));
const toHex = (bytes: Uint8Array) => Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");

describe("Huffman code (Appendix B)", () => {
  /** `symbol` alone, Huffman-coded and padded. */
  const coded = (symbol: number) => {
    const output = new Uint8Array(4);
    return toHex(output.subarray(0, huffmanEncode(String.fromCharCode(symbol), output, 0)));
  };
  /** Appendix B's `code` of `length` bits, left-aligned and padded with ones as a string of one symbol is. */
  const padded = (code: number, length: number) => {
    const bytes = Math.ceil(length / 8);
    const value = BigInt(code) * 2n ** BigInt(bytes * 8 - length) + 2n ** BigInt(bytes * 8 - length) - 1n;
    return value.toString(16).padStart(bytes * 2, "0");
  };

  it("codes symbols as Appendix B lists them", () => {
    const listed: [number, number, number][] = [
      [0, 0x1ff8, 13],
      [1, 0x7fffd8, 23],
      [2, 0xfffffe2, 28],
      [9, 0xffffea, 24],
      [10, 0x3ffffffc, 30],
      [13, 0x3ffffffd, 30],
      [22, 0x3ffffffe, 30],
      [26, 0xffffff6, 28],
      [32, 0x14, 6],
      [48, 0x0, 5],
      [97, 0x3, 5],
      [116, 0x9, 5],
      [127, 0xffffffc, 28],
      [128, 0xfffe6, 20],
      [200, 0x3ffffe2, 26],
      [255, 0x3ffffee, 26],
    ];
    for (const [symbol, code, length] of listed) {
      expect(coded(symbol), `symbol ${symbol}`).toBe(padded(code, length));
      expect(huffmanLength(String.fromCharCode(symbol))).toBe(Math.ceil(length / 8));
    }
  });

  it("decodes what it encodes, over random bytes of every length up to 300", () => {
    for (let length = 0; length <= 300; length++) {
      const input = crypto.getRandomValues(new Uint8Array(length));
      const text = String.fromCharCode(...input);
      const encoded = new Uint8Array(huffmanLength(text));
      expect(huffmanEncode(text, encoded, 0)).toBe(encoded.length);
      const decoded = new Uint8Array(Math.ceil((encoded.length * 8) / 5));
      const end = huffmanDecode(encoded, 0, encoded.length, decoded, 0);
      expect(toHex(decoded.subarray(0, end))).toBe(toHex(input));
    }
  });

  it("refuses EOS, padding over seven bits, and padding that is not all ones", () => {
    const decode = (bytes: string) => () => huffmanDecode(hex(bytes), 0, hex(bytes).length, new Uint8Array(16), 0);
    expect(decode("ffffffff")).toThrow(HuffmanError); // EOS: thirty 1 bits
    expect(decode("1fff")).toThrow(/padding/); // "a" (00011), then eleven 1 bits
    expect(decode("1e")).toThrow(/padding/); // "a", then 110
    expect(decode("00")).toThrow(/padding/); // "0" (00000), then 000
    expect(decode("ff")).toThrow(/padding/); // eight 1 bits
    expect(decode("1f")).not.toThrow(); // "a", then 111
  });

  it("refuses to code a char that is no byte", () => {
    expect(() => huffmanLength("caf\u20ac")).toThrow(TypeError);
  });
});
