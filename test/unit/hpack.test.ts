// HPACK (src/http2/hpack.ts, src/http2/huffman.ts): RFC 7541 Appendix C's examples decoded with the dynamic
// table checked after each block, and encoded where the encoder makes the RFC's choices; Huffman codes against
// Appendix B and random round trips; every malformed block; HPACK bombs; the encoder's indexing choices.
import { describe, expect, it } from "vitest";

import { HpackDecoder, HpackEncoder, HpackError } from "../../src/http2/hpack.js";
import { HuffmanError, huffmanDecode, huffmanEncode, huffmanLength } from "../../src/http2/huffman.js";

type Field = [string, string];

const hex = (text: string) => Uint8Array.from(text.match(/[0-9a-f]{2}/g)!.map((pair) => parseInt(pair, 16)));
const toHex = (bytes: Uint8Array) => Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
const concat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((part) => Array.from(part)));
const NO_LIMIT = Number.MAX_SAFE_INTEGER;

/**
 * The decoder's dynamic table, newest first, read back through indexed fields (which change nothing): index
 * 62 is the newest entry, and the index after the last one must be refused.
 */
function dynamicTable(decoder: HpackDecoder): { entries: Field[]; size: number } {
  const entries: Field[] = [];
  for (let index = 62; ; index++) {
    const block = index < 127 ? Uint8Array.of(0x80 | index) : Uint8Array.of(0xff, index - 127);
    try {
      entries.push(decoder.decode(block, NO_LIMIT)![0]!);
    } catch (error) {
      expect(error).toBeInstanceOf(HpackError);
      break;
    }
  }
  return { entries, size: entries.reduce((sum, [name, value]) => sum + name.length + value.length + 32, 0) };
}

/** An integer with a `prefixBits`-bit prefix in a first byte that has `flags` (RFC 7541 §5.1), for blocks built here. */
function integer(flags: number, prefixBits: number, value: number): number[] {
  const mask = (1 << prefixBits) - 1;
  if (value < mask) return [flags | value];
  const bytes = [flags | mask];
  for (value -= mask; value >= 128; value = Math.floor(value / 128)) bytes.push((value % 128) | 0x80);
  return [...bytes, value];
}

/** A literal field with a literal name and raw strings: `flags` 0x40 adds it to the table, 0x00 does not. */
function literal(flags: 0x40 | 0x00 | 0x10, name: string, value: string): number[] {
  const string = (text: string) => [...integer(0, 7, text.length), ...Array.from(text, (char) => char.charCodeAt(0))];
  return [flags, ...string(name), ...string(value)];
}

interface Step {
  block: string;
  fields: Field[];
  table: Field[];
  size: number;
}

const REQUEST_1: Field[] = [
  [":method", "GET"],
  [":scheme", "http"],
  [":path", "/"],
  [":authority", "www.example.com"],
];
const REQUEST_2: Field[] = [...REQUEST_1, ["cache-control", "no-cache"]];
const REQUEST_3: Field[] = [
  [":method", "GET"],
  [":scheme", "https"],
  [":path", "/index.html"],
  [":authority", "www.example.com"],
  ["custom-key", "custom-value"],
];
const REQUEST_TABLES: { table: Field[]; size: number }[] = [
  { table: [[":authority", "www.example.com"]], size: 57 },
  {
    table: [
      ["cache-control", "no-cache"],
      [":authority", "www.example.com"],
    ],
    size: 110,
  },
  {
    table: [
      ["custom-key", "custom-value"],
      ["cache-control", "no-cache"],
      [":authority", "www.example.com"],
    ],
    size: 164,
  },
];
const requests = (blocks: string[]): Step[] =>
  [REQUEST_1, REQUEST_2, REQUEST_3].map((fields, at) => ({ block: blocks[at]!, fields, ...REQUEST_TABLES[at]! }));

const DATE_1 = "Mon, 21 Oct 2013 20:13:21 GMT";
const DATE_2 = "Mon, 21 Oct 2013 20:13:22 GMT";
const LOCATION = "https://www.example.com";
const COOKIE = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1";
const RESPONSE_1: Field[] = [
  [":status", "302"],
  ["cache-control", "private"],
  ["date", DATE_1],
  ["location", LOCATION],
];
const RESPONSE_2: Field[] = [[":status", "307"], ...RESPONSE_1.slice(1)];
const RESPONSE_3: Field[] = [
  [":status", "200"],
  ["cache-control", "private"],
  ["date", DATE_2],
  ["location", LOCATION],
  ["content-encoding", "gzip"],
  ["set-cookie", COOKIE],
];
const RESPONSE_TABLES: { table: Field[]; size: number }[] = [
  {
    table: [
      ["location", LOCATION],
      ["date", DATE_1],
      ["cache-control", "private"],
      [":status", "302"],
    ],
    size: 222,
  },
  {
    table: [
      [":status", "307"],
      ["location", LOCATION],
      ["date", DATE_1],
      ["cache-control", "private"],
    ],
    size: 222,
  },
  {
    table: [
      ["set-cookie", COOKIE],
      ["content-encoding", "gzip"],
      ["date", DATE_2],
    ],
    size: 215,
  },
];
const responses = (blocks: string[]): Step[] =>
  [RESPONSE_1, RESPONSE_2, RESPONSE_3].map((fields, at) => ({ block: blocks[at]!, fields, ...RESPONSE_TABLES[at]! }));

// The hex dumps of RFC 7541 Appendix C, as printed there.
const C3 = requests([
  "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
  "8286 84be 5808 6e6f 2d63 6163 6865",
  "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
]);
const C4 = requests([
  "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
  "8286 84be 5886 a8eb 1064 9cbf",
  "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
]);
const C5 = responses([
  `4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
   2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70
   6c65 2e63 6f6d`,
  "4803 3330 37c1 c0bf",
  `88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
   54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
   5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e
   3d31`,
]);
const C6 = responses([
  `4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
   2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`,
  "4883 640e ffc1 c0bf",
  `88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
   77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
   9587 3160 65c0 03ed 4ee5 b106 3d50 07`,
]);
/**
 * C.5 and C.6 assume a 256-byte table from the start; over HTTP/2 the table starts at 4096, and an encoder
 * answering our smaller SETTINGS_HEADER_TABLE_SIZE begins its next block with this size update to 256.
 */
const SIZE_256 = "3fe101";

function decodeSteps(steps: Step[], decoder = new HpackDecoder(), first = ""): void {
  steps.forEach((step, at) => {
    expect(decoder.decode(hex((at === 0 ? first : "") + step.block), NO_LIMIT)).toEqual(step.fields);
    expect(dynamicTable(decoder)).toEqual({ entries: step.table, size: step.size });
  });
}

describe("RFC 7541 Appendix C, decoded", () => {
  it("C.1: integers of a 5-bit prefix, 10 in the prefix and 1337 after it, as dynamic table size updates", () => {
    const decoder = new HpackDecoder();
    decoder.decode(hex("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d"), NO_LIMIT); // a 57-byte entry
    expect(decoder.decode(hex("3f9a0a"), NO_LIMIT)).toEqual([]); // 1337: the entry stays
    expect(dynamicTable(decoder).size).toBe(57);
    expect(decoder.decode(hex("2a"), NO_LIMIT)).toEqual([]); // 10: the entry is evicted
    expect(dynamicTable(decoder).size).toBe(0);
    // C.1.3 (42 on a whole byte) has no representation in a header block: every one has a 4- to 7-bit prefix.
  });

  it("C.2.1: a literal field with indexing", () => {
    decodeSteps([
      {
        block: "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572",
        fields: [["custom-key", "custom-header"]],
        table: [["custom-key", "custom-header"]],
        size: 55,
      },
    ]);
  });

  it("C.2.2: a literal field without indexing", () => {
    decodeSteps([
      { block: "040c 2f73 616d 706c 652f 7061 7468", fields: [[":path", "/sample/path"]], table: [], size: 0 },
    ]);
  });

  it("C.2.3: a literal field never indexed", () => {
    decodeSteps([
      { block: "1008 7061 7373 776f 7264 0673 6563 7265 74", fields: [["password", "secret"]], table: [], size: 0 },
    ]);
  });

  it("C.2.4: an indexed field", () => {
    decodeSteps([{ block: "82", fields: [[":method", "GET"]], table: [], size: 0 }]);
  });

  it("C.3: requests without Huffman coding", () => decodeSteps(C3));
  it("C.4: requests with Huffman coding", () => decodeSteps(C4));
  it("C.5: responses without Huffman coding, evicting from a 256-byte table", () => {
    decodeSteps(C5, new HpackDecoder(), SIZE_256);
  });
  it("C.6: responses with Huffman coding, evicting from a 256-byte table", () => {
    decodeSteps(C6, new HpackDecoder(), SIZE_256);
  });
});

describe("RFC 7541 Appendix C, encoded", () => {
  it("C.4: the requests, byte for byte (Huffman, incremental indexing)", () => {
    const encoder = new HpackEncoder();
    for (const step of C4) expect(toHex(encoder.encode(step.fields))).toBe(toHex(hex(step.block)));
  });

  it("C.6.1 and C.6.2: the responses, byte for byte, after the size update to 256", () => {
    const encoder = new HpackEncoder();
    encoder.setMaxTableSize(256);
    expect(toHex(encoder.encode(RESPONSE_1))).toBe(SIZE_256 + toHex(hex(C6[0]!.block)));
    expect(toHex(encoder.encode(RESPONSE_2))).toBe(toHex(hex(C6[1]!.block)));
  });

  it("C.3, C.5 and C.6 decode back to their lists through a decoder that keeps step", () => {
    for (const steps of [C3, C5, C6]) {
      const encoder = new HpackEncoder();
      const decoder = new HpackDecoder();
      encoder.setMaxTableSize(256);
      for (const { fields } of steps) expect(decoder.decode(encoder.encode(fields), NO_LIMIT)).toEqual(fields);
    }
  });
});

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

describe("HpackDecoder: malformed blocks throw HpackError", () => {
  const cases: [string, string, RegExp][] = [
    ["index 0", "80", /index 0/],
    ["an index beyond the tables", "be", /index 62/],
    ["a far index", "ff ff ff 03", /index/],
    ["a name index beyond the tables", "7e 01 61", /index 62/],
    ["an integer over 2^31 - 1", "ff ff ff ff ff 0f", /exceeds/],
    ["an integer with too many bytes", "ff 80 80 80 80 80 00", /too many bytes/],
    ["a block ending inside an integer", "ff 80", /inside an integer/],
    ["a block ending before the name", "40", /before a string/],
    ["a block ending before the value", "41", /before a string/],
    ["a block ending inside a string", "40 05 61", /inside a string/],
    ["a string length over 2^31 - 1", "41 7f ff ff ff ff 0f", /exceeds/],
    ["Huffman EOS", "41 84 ff ff ff ff", /EOS/],
    ["Huffman padding of eleven bits", "41 82 1f ff", /padding/],
    ["Huffman padding with a 0 bit", "41 81 1e", /padding/],
    ["a size update over our setting", "3f e2 1f", /4097 exceeds the 4096/],
    ["a size update after a field", "82 20", /follows a header field/],
  ];
  for (const [name, block, message] of cases) {
    it(name, () => {
      const decoder = new HpackDecoder();
      expect(() => decoder.decode(hex(block), NO_LIMIT)).toThrow(HpackError);
      expect(() => new HpackDecoder().decode(hex(block), NO_LIMIT)).toThrow(message);
    });
  }

  it("takes size updates at the start of a block, up to our setting", () => {
    const decoder = new HpackDecoder();
    expect(decoder.decode(hex("20 3f e1 1f 82"), NO_LIMIT)).toEqual([[":method", "GET"]]);
    decoder.setMaxTableSize(100);
    expect(decoder.decode(hex("3f 45"), NO_LIMIT)).toEqual([]); // 100
    expect(() => decoder.decode(hex("3f 46"), NO_LIMIT)).toThrow(/101 exceeds the 100/);
  });
});

describe("HpackDecoder: the size limit of the list", () => {
  it("returns the list at the limit and null one byte over it", () => {
    const block = hex("82 86"); // (:method, GET) 42 bytes, (:scheme, http) 43 bytes
    expect(new HpackDecoder().decode(block, 85)).toEqual([
      [":method", "GET"],
      [":scheme", "http"],
    ]);
    expect(new HpackDecoder().decode(block, 84)).toBeNull();
  });

  it("answers a bomb (1000 references to a 4 KiB entry) with null, and keeps the table in step", () => {
    const decoder = new HpackDecoder();
    const big = "b".repeat(4096 - 32 - 1);
    expect(decoder.decode(Uint8Array.from(literal(0x40, "x", big)), 64 * 1024)).toEqual([["x", big]]);
    const references = new Array<number>(1000).fill(0xbe);
    expect(decoder.decode(Uint8Array.from(references), 64 * 1024)).toBeNull();
    const bomb = Uint8Array.from([...references, ...literal(0x40, "after", "bomb")]);
    expect(bomb.length).toBeLessThan(1100);
    expect(decoder.decode(bomb, 64 * 1024)).toBeNull();
    // The entry added after the references evicted the big one, in this decoder as in the server's encoder.
    expect(dynamicTable(decoder)).toEqual({ entries: [["after", "bomb"]], size: 41 });
    expect(decoder.decode(hex("be 82"), 64 * 1024)).toEqual([
      ["after", "bomb"],
      [":method", "GET"],
    ]);
  });

  it("decodes the whole block after the limit, still throwing for what is malformed", () => {
    const decoder = new HpackDecoder();
    const big = Uint8Array.from(literal(0x00, "big", "v".repeat(1000)));
    expect(() => decoder.decode(concat(big, hex("41 81 1e")), 100)).toThrow(HpackError);
    expect(() => decoder.decode(concat(big, hex("be")), 100)).toThrow(/index 62/);
    expect(decoder.decode(concat(big, Uint8Array.from(literal(0x40, "k", "v"))), 100)).toBeNull();
    expect(dynamicTable(decoder).entries).toEqual([["k", "v"]]);
  });

  it("empties the table for an entry bigger than it, kept in the list or not (§4.4)", () => {
    const decoder = new HpackDecoder();
    decoder.decode(hex("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d"), NO_LIMIT);
    const huge = Uint8Array.from(literal(0x40, "huge", "h".repeat(5000)));
    expect(decoder.decode(huge, 100)).toBeNull();
    expect(dynamicTable(decoder).entries).toEqual([]);
    decoder.decode(hex("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d"), NO_LIMIT);
    expect(decoder.decode(huge, NO_LIMIT)).toEqual([["huge", "h".repeat(5000)]]);
    expect(dynamicTable(decoder).entries).toEqual([]);
  });

  it("decodes values as Latin-1, one char per byte", () => {
    const bytes = Array.from({ length: 256 }, (_, byte) => byte);
    const block = Uint8Array.from([0x00, 0x01, 0x76, ...integer(0, 7, 256), ...bytes]);
    expect(new HpackDecoder().decode(block, NO_LIMIT)).toEqual([["v", String.fromCharCode(...bytes)]]);
  });
});

describe("HpackEncoder", () => {
  it("never indexes authorization, proxy-authorization, cookie or set-cookie", () => {
    const encoder = new HpackEncoder();
    const secrets: Field[] = [
      ["authorization", "Bearer secret"],
      ["proxy-authorization", "Basic c2VjcmV0"],
      ["cookie", "session=secret"],
      ["set-cookie", "id=secret"],
    ];
    const decoder = new HpackDecoder();
    for (let round = 0; round < 2; round++) {
      const block = encoder.encode(secrets);
      expect(decoder.decode(block, NO_LIMIT)).toEqual(secrets);
      expect(dynamicTable(decoder).entries).toEqual([]);
      // Never-indexed literals with the static table's name: authorization is index 23 (0x1f 0x08).
      expect(toHex(block.subarray(0, 2))).toBe("1f08");
    }
    expect(toHex(encoder.encode([["authorization", "Bearer secret"]]).subarray(0, 2))).toBe("1f08");
  });

  it("indexes a repeated field once, then sends its index", () => {
    const encoder = new HpackEncoder();
    const first = encoder.encode([["user-agent", "pinned-fetch"]]);
    expect(first[0]).toBe(0x40 | 58);
    expect(toHex(encoder.encode([["user-agent", "pinned-fetch"]]))).toBe("be");
    expect(toHex(encoder.encode([["user-agent", "other"]])).slice(0, 2)).toBe("7a"); // static name 58
    expect(toHex(encoder.encode([["x-new", "1"]]).subarray(0, 1))).toBe("40");
    expect(toHex(encoder.encode([["x-new", "2"]]).subarray(0, 1))).toBe("7e"); // the dynamic name, index 62
  });

  it("does not index :path or content-length, whose values change per request", () => {
    const encoder = new HpackEncoder();
    const block = encoder.encode([
      [":path", "/api/items?page=2"],
      ["content-length", "1234"],
    ]);
    const decoder = new HpackDecoder();
    expect(decoder.decode(block, NO_LIMIT)).toEqual([
      [":path", "/api/items?page=2"],
      ["content-length", "1234"],
    ]);
    expect(dynamicTable(decoder).entries).toEqual([]);
    expect(block[0]).toBe(0x04);
  });

  it("does not index a field over three quarters of the table", () => {
    const encoder = new HpackEncoder();
    const field: Field = ["x-big", "v".repeat(3100)];
    const decoder = new HpackDecoder();
    expect(decoder.decode(encoder.encode([field]), NO_LIMIT)).toEqual([field]);
    expect(decoder.decode(encoder.encode([field]), NO_LIMIT)).toEqual([field]);
    expect(dynamicTable(decoder).entries).toEqual([]);
  });

  it("starts the block after setMaxTableSize with the size update, the smallest size first", () => {
    const encoder = new HpackEncoder();
    encoder.setMaxTableSize(10);
    expect(toHex(encoder.encode([]))).toBe("2a"); // C.1.1
    encoder.setMaxTableSize(1337);
    expect(toHex(encoder.encode([]))).toBe("3f9a0a"); // C.1.2
    encoder.setMaxTableSize(0);
    encoder.setMaxTableSize(4096);
    expect(toHex(encoder.encode([[":method", "GET"]]))).toBe("20" + "3fe11f" + "82");
    encoder.setMaxTableSize(65536); // the encoder's table stays at 4096: nothing to announce
    expect(toHex(encoder.encode([[":method", "GET"]]))).toBe("82");
  });

  it("evicts as the decoder does, under table sizes that change between blocks", () => {
    const encoder = new HpackEncoder();
    const decoder = new HpackDecoder();
    const names = ["accept", "x-a", "x-b", "user-agent", "cookie", ":authority", "x-c", "content-type"];
    let seed = 1;
    const random = (below: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % below;
    };
    for (let block = 0; block < 300; block++) {
      if (block % 50 === 49) encoder.setMaxTableSize([0, 100, 256, 4096][random(4)]!);
      const fields = Array.from({ length: 1 + random(12) }, (): Field => {
        const value = String.fromCharCode(
          ...Array.from({ length: random(60) }, () => (random(4) === 0 ? random(256) : 97 + random(3))),
        );
        return [names[random(names.length)]!, value];
      });
      expect(decoder.decode(encoder.encode(fields), NO_LIMIT)).toEqual(fields);
    }
  });

  it("refuses a char that is no byte", () => {
    expect(() => new HpackEncoder().encode([["x-name", "caf\u20ac"]])).toThrow(TypeError);
  });
});
