// permessage-deflate's compression (src/runtime/message-deflate.ts): RFC 7692 §7.2.3's examples, context
// takeover and its absence, window sizes, a deflate bomb against the limit, invalid data, messages kept in
// order, and the examples' frames read by FrameParser. Run in Node here; the same checks were run by hand in
// Deno and Bun, whose node:zlib differ.
import { deflateRawSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";

import { type DeflateParams, type MessageDeflate, messageDeflate } from "../../src/runtime/message-deflate.js";
import { FrameParser } from "../../src/websocket/frames.js";

const MiB = 1024 * 1024;
const hex = (value: string) => Uint8Array.from(value.split(" "), (byte) => parseInt(byte, 16));
const utf8 = (value: string) => new TextEncoder().encode(value);
const text = (value: Uint8Array | null) => (value === null ? null : new TextDecoder().decode(value));
const HELLO = utf8("Hello");
const HELLO_COMPRESSED = hex("f2 48 cd c9 c9 07 00");

const opened: MessageDeflate[] = [];
afterEach(() => opened.splice(0).forEach((deflate) => deflate.close()));

function open(params: Partial<DeflateParams> = {}): MessageDeflate {
  const deflate = messageDeflate({
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: 15,
    clientMaxWindowBits: 15,
    ...params,
  });
  opened.push(deflate);
  return deflate;
}

/** Bytes that do not compress: a simple generator's, the same every run. */
function noise(length: number, seed = 1): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let index = 0, state = seed; index < length; index++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    bytes[index] = state >>> 24;
  }
  return bytes;
}

describe("decompress on RFC 7692 §7.2.3's examples", () => {
  it("reads a message compressed in one block (§7.2.3.1)", async () => {
    expect(text(await open().decompress(HELLO_COMPRESSED, 100))).toBe("Hello");
  });

  it("reads a second message that refers back to the first, with context takeover (§7.2.3.2)", async () => {
    const deflate = open();
    expect(text(await deflate.decompress(HELLO_COMPRESSED, 100))).toBe("Hello");
    expect(text(await deflate.decompress(hex("f2 00 11 00 00"), 100))).toBe("Hello");
  });

  it("reads a block with no compression (§7.2.3.3)", async () => {
    expect(text(await open().decompress(hex("00 05 00 fa ff 48 65 6c 6c 6f 00"), 100))).toBe("Hello");
  });

  it("reads a block with BFINAL set, and a message after it (§7.2.3.4)", async () => {
    const deflate = open();
    expect(text(await deflate.decompress(hex("f3 48 cd c9 c9 07 00 00"), 100))).toBe("Hello");
    expect(text(await deflate.decompress(HELLO_COMPRESSED, 100))).toBe("Hello");
  });

  it("reads two blocks in one message (§7.2.3.5)", async () => {
    expect(text(await open().decompress(hex("f2 48 05 00 00 00 ff ff ca c9 c9 07 00"), 100))).toBe("Hello");
  });

  it("reads an empty message, compressed to one 00 byte (§7.2.3.6)", async () => {
    expect(await open().decompress(hex("00"), 100)).toEqual(new Uint8Array(0));
  });

  it("reads the examples' frames through FrameParser, whole and fragmented (§7.2.3.1)", async () => {
    const frames = hex("c1 07 f2 48 cd c9 c9 07 00 41 03 f2 48 cd 80 04 c9 c9 07 00");
    const messages = new FrameParser(MiB, true).push(frames);
    expect(messages).toEqual([
      { kind: "message", text: true, compressed: true, payload: HELLO_COMPRESSED },
      { kind: "message", text: true, compressed: true, payload: HELLO_COMPRESSED },
    ]);
    const deflate = open({ serverNoContextTakeover: true });
    for (const message of messages) expect(text(await deflate.decompress(message.payload, 100))).toBe("Hello");
  });
});

describe("compress", () => {
  it("writes RFC 7692's bytes, the trailing 00 00 ff ff removed, then refers back with context takeover", async () => {
    const deflate = open();
    expect(await deflate.compress(HELLO)).toEqual(HELLO_COMPRESSED);
    expect(await deflate.compress(HELLO)).toEqual(hex("f2 00 11 00 00"));
  });

  it("starts afresh for each message with client_no_context_takeover", async () => {
    const deflate = open({ clientNoContextTakeover: true });
    expect(await deflate.compress(HELLO)).toEqual(HELLO_COMPRESSED);
    expect(await deflate.compress(HELLO)).toEqual(HELLO_COMPRESSED);
  });

  it("compresses an empty message to one 00 byte (§7.2.3.6)", async () => {
    expect(await open().compress(new Uint8Array(0))).toEqual(hex("00"));
  });

  it.each([8, 9, 10, 12, 15])(
    "round-trips through a %s-bit window, with and without context takeover",
    async (windowBits) => {
      const message = utf8(`${"abcdefghij".repeat(500)}${"0123456789abcdef".repeat(100)}`);
      for (const noContextTakeover of [false, true]) {
        const client = open({ clientMaxWindowBits: windowBits, clientNoContextTakeover: noContextTakeover });
        // The server inflates the client's messages with the client's window, as the far side must.
        const server = open({ serverMaxWindowBits: windowBits, serverNoContextTakeover: noContextTakeover });
        for (let round = 0; round < 3; round++) {
          const compressed = await client.compress(message);
          expect(compressed.length).toBeLessThan(message.length / 10);
          expect(await server.decompress(compressed, MiB)).toEqual(message);
        }
      }
    },
  );

  it("round-trips 16 MiB of bytes that do not compress, and 16 MiB that do", async () => {
    const client = open();
    const server = open();
    for (const message of [noise(16 * MiB), new Uint8Array(16 * MiB).fill(97)]) {
      const decompressed = await server.decompress(await client.compress(message), 16 * MiB);
      // Compared as Buffers: vitest's deep equality takes minutes over 16 MiB.
      expect(decompressed && Buffer.compare(decompressed, message)).toBe(0);
    }
  });

  it("keeps messages in order when they are compressed and decompressed without waiting", async () => {
    const client = open();
    const server = open();
    const messages = Array.from({ length: 40 }, (_, index) => utf8(`message ${index};`.repeat(index * 100 + 1)));
    const compressed = await Promise.all(messages.map((message) => client.compress(message)));
    const decompressed = await Promise.all(compressed.map((payload) => server.decompress(payload, MiB)));
    expect(decompressed.map(text)).toEqual(messages.map(text));
  });
});

describe("decompress's limit", () => {
  it("gives null for 10 MiB of zeros, about 10 KB compressed, against a 1 MiB limit", async () => {
    const bomb = new Uint8Array(deflateRawSync(new Uint8Array(10 * MiB)));
    expect(bomb.length).toBeLessThan(11_000);
    const started = performance.now();
    expect(await open().decompress(bomb, MiB)).toBeNull();
    console.log(`deflate bomb of ${bomb.length} bytes refused in ${(performance.now() - started).toFixed(1)} ms`);
  });

  it("gives a message of exactly the limit, and null for one byte more", async () => {
    const message = noise(100_000);
    const compressed = await open().compress(message);
    expect(await open().decompress(compressed, 100_000)).toEqual(message);
    expect(await open().decompress(compressed, 99_999)).toBeNull();
  });

  it("still decompresses the next message after one over the limit", async () => {
    const deflate = open({ serverNoContextTakeover: true });
    expect(await deflate.decompress(new Uint8Array(deflateRawSync(new Uint8Array(MiB))), 1000)).toBeNull();
    expect(text(await deflate.decompress(HELLO_COMPRESSED, 100))).toBe("Hello");
  });
});

describe("decompress's failures", () => {
  it("rejects data that is not DEFLATE, then decompresses the next message afresh", async () => {
    const deflate = open();
    await expect(deflate.decompress(hex("ff ff ff ff 12 34"), 100)).rejects.toThrow(
      "invalid compressed data: invalid block type",
    );
    expect(text(await deflate.decompress(HELLO_COMPRESSED, 100))).toBe("Hello");
  });

  it("rejects the calls still waiting, and later ones, once closed", async () => {
    const deflate = messageDeflate({
      serverNoContextTakeover: false,
      clientNoContextTakeover: false,
      serverMaxWindowBits: 15,
      clientMaxWindowBits: 15,
    });
    const pending = [deflate.decompress(HELLO_COMPRESSED, 100), deflate.compress(HELLO)];
    deflate.close();
    for (const call of pending) await expect(call).rejects.toThrow("permessage-deflate was closed");
    await expect(deflate.compress(HELLO)).rejects.toThrow("permessage-deflate was closed");
  });
});
