// A request as fetch sends it (src/http/request-fields.ts, src/http/request-body.ts): its header fields with fetch's
// defaults and the body's framing, and a Request's body read as bytes or a stream.
import { describe, expect, it } from "vitest";

import { type RequestBody, UnreadBody, bodyOf } from "../../src/http/request-body.js";
import { requestFields, requestHeaders } from "../../src/http/request-fields.js";

const URL_ = new URL("https://a.example:8443/path?q=1");
const DEFAULTS: [string, string][] = [
  ["accept", "*/*"],
  ["accept-encoding", "gzip, deflate, br"],
  ["user-agent", "pinned-fetch/0.1.0"],
];

interface FieldsCase {
  what: string;
  method: string;
  headers: Record<string, string>;
  body: RequestBody;
  framing: [string, string][];
}

describe("requestFields", () => {
  it.each<FieldsCase>([
    { what: "a GET without headers", method: "GET", headers: {}, body: null, framing: [] },
    { what: "a POST without a body", method: "POST", headers: {}, body: null, framing: [["content-length", "0"]] },
    { what: "a PATCH without a body", method: "PATCH", headers: {}, body: null, framing: [["content-length", "0"]] },
    { what: "a DELETE without a body", method: "DELETE", headers: {}, body: null, framing: [] },
    {
      what: "a body of bytes",
      method: "POST",
      headers: {},
      body: new Uint8Array(5),
      framing: [["content-length", "5"]],
    },
    {
      what: "a streamed body",
      method: "POST",
      headers: {},
      body: new ReadableStream<Uint8Array>(),
      framing: [["transfer-encoding", "chunked"]],
    },
    {
      what: "the caller's own framing and Host, which fetch replaces",
      method: "POST",
      headers: { host: "evil.example", "content-length": "99", "transfer-encoding": "chunked" },
      body: new Uint8Array(2),
      framing: [["content-length", "2"]],
    },
  ])("$what", ({ method, headers, body, framing }) => {
    expect(requestFields(method, new Headers(headers), URL_, body)).toEqual([
      ["host", "a.example:8443"],
      ...DEFAULTS,
      ...framing,
    ]);
  });

  it("keeps the caller's Accept, Accept-Encoding and User-Agent instead of the defaults", () => {
    const headers = new Headers({
      accept: "text/plain",
      "accept-encoding": "identity",
      "user-agent": "me",
      "x-a": "1",
    });
    expect(requestFields("GET", headers, URL_, null)).toEqual([
      ["host", "a.example:8443"],
      ["accept", "text/plain"],
      ["accept-encoding", "identity"],
      ["user-agent", "me"],
      ["x-a", "1"],
    ]);
  });
});

describe("requestHeaders", () => {
  it.each([
    { what: "a string body without a Content-Type", init: { body: "x" }, type: "text/plain;charset=UTF-8" },
    { what: "a string body with one", init: { body: "x", headers: { "content-type": "a/b" } }, type: "a/b" },
    { what: "no body", init: {}, type: null },
  ])("gives $what the Content-Type $type", ({ init, type }) => {
    const request = new Request("https://a.example/", { method: "POST", ...init });
    expect(requestHeaders(request, { method: "POST", ...init }).get("content-type")).toBe(type);
  });
});

describe("bodyOf and UnreadBody", () => {
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  const streamOf = (chunks: Uint8Array[]) =>
    new ReadableStream<Uint8Array>({
      pull(controller) {
        const chunk = chunks.shift();
        if (chunk) controller.enqueue(chunk);
        else controller.close();
      },
    });

  it("takes an init body as bytes, an init stream as it is, and a Request's body unread", async () => {
    const stream = streamOf([]);
    expect(
      text(
        (await bodyOf(new Request("https://a.example/", { method: "POST", body: "hi" }), { body: "hi" })) as Uint8Array,
      ),
    ).toBe("hi");
    expect(await bodyOf(new Request("https://a.example/", { method: "POST", body: "hi" }), { body: stream })).toBe(
      stream,
    );
    expect(await bodyOf(new Request("https://a.example/"), undefined)).toBe(null);
    expect(await bodyOf(new Request("https://a.example/", { method: "POST", body: "hi" }), undefined)).toBeInstanceOf(
      UnreadBody,
    );
  });

  it.each([
    { what: "a body within 64 KiB as bytes", sizes: [65_536], stream: false },
    { what: "a body in pieces within 64 KiB as bytes", sizes: [30_000, 30_000, 5_536], stream: false },
    { what: "a longer body as a stream of all its bytes", sizes: [65_536, 1], stream: true },
    { what: "a body in many pieces as a stream", sizes: [40_000, 40_000, 40_000], stream: true },
  ])("reads $what", async ({ sizes, stream }) => {
    const chunks = sizes.map((size, index) => new Uint8Array(size).fill(index + 1));
    const read = await new UnreadBody(streamOf([...chunks])).read(undefined);
    expect(read instanceof ReadableStream).toBe(stream);
    const bytes = read instanceof ReadableStream ? new Uint8Array(await new Response(read).arrayBuffer()) : read!;
    const expected = new Uint8Array(sizes.reduce((sum, size) => sum + size, 0));
    let at = 0;
    for (const chunk of chunks) {
      expected.set(chunk, at);
      at += chunk.length;
    }
    expect(bytes.length).toBe(expected.length);
    expect(Buffer.compare(bytes, expected), "the bytes differ").toBe(0);
  });

  it("stops reading with the signal's reason", async () => {
    const controller = new AbortController();
    const reason = new Error("stop");
    controller.abort(reason);
    const pending = new UnreadBody(new ReadableStream<Uint8Array>()).read(controller.signal);
    await expect(pending).rejects.toBe(reason);
  });
});
