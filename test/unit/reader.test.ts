// ByteReader (src/http/reader.ts) on sources whose chunking each case chooses: sections found whatever the chunk
// boundaries, their size limit, the end of the source, and body bytes handed on after a section.
import { describe, expect, it } from "vitest";

import { PinnedFetchError } from "../../src/errors.js";
import { ByteReader, type ByteSource } from "../../src/http/reader.js";

const text = new TextEncoder();
const bytes = (value: string) => text.encode(value);
const string = (value: Uint8Array | null) => (value === null ? null : new TextDecoder().decode(value));
const CRLF2 = bytes("\r\n\r\n");

/** A source of `chunks`, one per read, as a socket hands them on; then `failure`, or the end. */
function sourceOf(chunks: readonly string[], failure?: Error): ByteSource {
  let next = 0;
  return {
    read: async () => {
      if (next < chunks.length) return bytes(chunks[next++]!);
      if (failure) throw failure;
      return null;
    },
  };
}

/** `value` split into pieces of `size` bytes. */
function split(value: string, size: number): string[] {
  const pieces: string[] = [];
  for (let at = 0; at < value.length; at += size) pieces.push(value.slice(at, at + size));
  return pieces;
}

const HEAD = "HTTP/1.1 200 OK\r\ncontent-length: 5";
const MESSAGE = `${HEAD}\r\n\r\nhello`;

describe("ByteReader.readUntil", () => {
  it.each([
    { chunking: "one chunk", chunks: [MESSAGE] },
    { chunking: "a byte per chunk", chunks: split(MESSAGE, 1) },
    { chunking: "three bytes per chunk", chunks: split(MESSAGE, 3) },
    { chunking: "the delimiter split across chunks", chunks: [`${HEAD}\r\n\r`, "\nhello"] },
    { chunking: "the delimiter in a chunk of its own", chunks: [HEAD, "\r\n\r\n", "hello"] },
    { chunking: "the section ending a chunk early", chunks: [`${HEAD}\r\n\r\nhe`, "llo"] },
  ])("finds the section and keeps what follows, with $chunking", async ({ chunks }) => {
    const reader = new ByteReader(sourceOf(chunks));
    expect(string(await reader.readUntil(CRLF2, 1024, "too long"))).toBe(HEAD);
    let rest = "";
    for (let piece = await reader.read(1024); piece !== null; piece = await reader.read(1024)) rest += string(piece);
    expect(rest).toBe("hello");
    expect(reader.received).toBe(MESSAGE.length);
  });

  it.each([
    { what: "a section one byte over the limit", chunks: [`${"a".repeat(11)}\r\n\r\n`], limit: 10 },
    { what: "a section over the limit, a byte per chunk", chunks: split(`${"a".repeat(11)}\r\n\r\n`, 1), limit: 10 },
    { what: "no delimiter within the limit", chunks: ["a".repeat(100)], limit: 10 },
    { what: "no delimiter, a byte per chunk", chunks: split("a".repeat(100), 1), limit: 10 },
  ])("fails with ERR_HTTP and the given message for $what", async ({ chunks, limit }) => {
    const reader = new ByteReader(sourceOf(chunks));
    const error = await reader.readUntil(CRLF2, limit, "the head is too long").catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PinnedFetchError);
    expect(error).toMatchObject({ code: "ERR_HTTP", message: "the head is too long" });
  });

  it.each([
    { what: "exactly at the limit", section: "a".repeat(10), limit: 10 },
    { what: "empty", section: "", limit: 10 },
    { what: "empty, with a limit of 0", section: "", limit: 0 },
  ])("takes a section $what", async ({ section, limit }) => {
    const reader = new ByteReader(sourceOf(split(`${section}\r\n\r\nrest`, 2)));
    expect(string(await reader.readUntil(CRLF2, limit, "too long"))).toBe(section);
  });

  it.each([
    { what: "a clean end before any byte", chunks: [], result: null },
    { what: "an end right after a section", chunks: ["a\r\n\r\n"], sections: 1, result: null },
  ])("returns null at $what", async ({ chunks, sections = 0, result }) => {
    const reader = new ByteReader(sourceOf(chunks));
    for (let read = 0; read < sections; read++) await reader.readUntil(CRLF2, 100, "too long");
    expect(await reader.readUntil(CRLF2, 100, "too long")).toBe(result);
  });

  it.each([
    { what: "in the middle of a section", chunks: ["HTTP/1.1 200"] },
    { what: "inside the delimiter", chunks: ["HTTP/1.1 200\r\n\r"] },
  ])("fails with ERR_HTTP at an end $what", async ({ chunks }) => {
    const reader = new ByteReader(sourceOf(chunks));
    await expect(reader.readUntil(CRLF2, 100, "too long")).rejects.toMatchObject({
      code: "ERR_HTTP",
      message: "The connection ended in the middle of the response.",
    });
  });

  it("passes on the source's own failure", async () => {
    const failure = new Error("reset");
    const reader = new ByteReader(sourceOf(["HTTP/1.1"], failure));
    await expect(reader.readUntil(CRLF2, 100, "too long")).rejects.toBe(failure);
  });

  it("reads sections one after another from the same chunk", async () => {
    const reader = new ByteReader(sourceOf(["5\r\nhello\r\n0\r\n"]));
    const CRLF = bytes("\r\n");
    const sections = [];
    for (let section = await reader.readUntil(CRLF, 100, "too long"); section;) {
      sections.push(string(section));
      section = await reader.readUntil(CRLF, 100, "too long");
    }
    expect(sections).toEqual(["5", "hello", "0"]);
  });

  it("does not change a section it handed out while the next one arrives in pieces", async () => {
    const reader = new ByteReader(
      sourceOf(["first\r\n", "sec", "ond", "\r\n", ...split("third".repeat(1000), 7), "\r\n"]),
    );
    const CRLF = bytes("\r\n");
    const first = await reader.readUntil(CRLF, 10_000, "too long");
    const second = await reader.readUntil(CRLF, 10_000, "too long");
    const third = await reader.readUntil(CRLF, 10_000, "too long");
    expect([string(first), string(second), string(third)]).toEqual(["first", "second", "third".repeat(1000)]);
  });
});

describe("ByteReader.read", () => {
  it.each([
    { what: "at most max bytes of a chunk", chunks: ["abcdef"], max: 4, reads: ["abcd", "ef", null] },
    { what: "no more than a chunk has", chunks: ["ab", "cd"], max: 10, reads: ["ab", "cd", null] },
    { what: "null at once for an empty stream", chunks: [], max: 10, reads: [null] },
  ])("returns $what", async ({ chunks, max, reads }) => {
    const reader = new ByteReader(sourceOf(chunks));
    const got = [];
    for (const _ of reads) got.push(string(await reader.read(max)));
    expect(got).toEqual(reads);
  });

  it("counts bytes received and shows bytes nobody asked for as buffered", async () => {
    const reader = new ByteReader(sourceOf(["head\r\n\r\nbody"]));
    expect([reader.received, reader.buffered]).toEqual([0, false]);
    await reader.readUntil(CRLF2, 100, "too long");
    expect([reader.received, reader.buffered]).toEqual([12, true]);
    await reader.read(100);
    expect(reader.buffered).toBe(false);
  });

  it("reads ahead: bytes that arrive while nobody asks show as buffered", async () => {
    const reader = new ByteReader(sourceOf(["late"]));
    reader.readAhead();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect([reader.received, reader.buffered]).toEqual([4, true]);
    expect(string(await reader.read(10))).toBe("late");
  });
});
