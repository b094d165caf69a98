// Regressions for ways a request could slip past a pin, hang, or leak.
import type { TLSSocket } from "node:tls";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { connectTls, createPinnedFetch, PinnedFetchError } from "../src/index.js";
import { createPki, issue, type Pki } from "./support/pki.js";
import { rejection } from "./support/rejection.js";
import { pinOf, startHttpsServer, startTlsServer, type TestServer } from "./support/servers.js";

let pki: Pki;
const servers: TestServer[] = [];
beforeAll(async () => {
  pki = await createPki();
});
afterAll(() => Promise.all(servers.map((server) => server.close())));


/** A TLS server (test leaf) answering every request with `respond`. */
async function rawServer(respond: (socket: TLSSocket) => void): Promise<TestServer> {
  const server = await startTlsServer({ chain: [pki.leaf, pki.intermediate], key: pki.leaf }, (socket) =>
    socket.once("data", () => respond(socket)),
  );
  servers.push(server);
  return server;
}

const trusted = () => ({ ca: pki.root.certPem, resolve: { localhost: "127.0.0.1" } });

describe("every spelling of a host is pinned", () => {
  it.each(["localhost.", "LOCALHOST", "LocalHost."])("%s", async (spelling) => {
    const server = await startHttpsServer({ chain: [pki.leaf, pki.intermediate], key: pki.leaf });
    servers.push(server);
    const fetch = createPinnedFetch({ ...trusted(), pins: { localhost: [pinOf(pki.otherRoot)] } });
    const error = await rejection(fetch(`https://${spelling}:${server.port}/hello`));
    expect(error.code).toBe("ERR_PIN_MISMATCH");
    expect(server.requests).toBe(0);
  });

  it("rejects a pinned host that is not a host name", () => {
    expect(() => createPinnedFetch({ pins: { "https://localhost/": [pinOf(pki.root)] } })).toThrow(PinnedFetchError);
  });
});

it("tries another verified path when the first one misses the pins (cross-signed intermediate)", async () => {
  // The same intermediate key, also signed by the other root: two valid paths.
  const crossSigned = await issue({
    commonName: "pinned-fetch Test Intermediate CA",
    ca: true,
    issuer: pki.otherRoot,
    key: pki.intermediate.key,
  });
  const server = await startHttpsServer({ chain: [pki.leaf, pki.intermediate, crossSigned], key: pki.leaf });
  servers.push(server);
  const fetch = createPinnedFetch({
    ca: [pki.root.certPem, pki.otherRoot.certPem],
    resolve: { localhost: "127.0.0.1" },
    pins: { localhost: [pinOf(pki.otherRoot)] },
  });
  expect(await (await fetch(`https://localhost:${server.port}/hello`)).text()).toBe("hello, pinned world");
  await fetch.close();
});

describe("HTTP framing", () => {
  it("reads a chunked body whose CRLF is split across writes", async () => {
    const server = await rawServer((socket) => {
      socket.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r");
      setTimeout(() => socket.end("\n0\r\n\r\n"), 20);
    });
    const fetch = createPinnedFetch(trusted());
    expect(await (await fetch(`https://localhost:${server.port}/`)).text()).toBe("hello");
    await fetch.close();
  });

  it.each([
    ["a head over 64 KiB in one write", `HTTP/1.1 200 OK\r\nx-big: ${"a".repeat(100_000)}\r\ncontent-length: 2\r\n\r\nok`],
    ["a status outside 100-599", "HTTP/1.1 600 Nope\r\ncontent-length: 0\r\n\r\n"],
    ["a control character in the reason", "HTTP/1.1 200 O\x01K\r\ncontent-length: 0\r\n\r\n"],
    ["Content-Length and Transfer-Encoding", "HTTP/1.1 200 OK\r\ncontent-length: 2\r\ntransfer-encoding: chunked\r\n\r\n"],
    ["conflicting Content-Lengths", "HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\nok"],
    ["obsolete line folding", "HTTP/1.1 200 OK\r\nx-a: 1\r\n  folded\r\ncontent-length: 0\r\n\r\n"],
  ])("%s is ERR_HTTP", async (_, response) => {
    const server = await rawServer((socket) => socket.end(response));
    const fetch = createPinnedFetch(trusted());
    expect((await rejection(fetch(`https://localhost:${server.port}/`))).code).toBe("ERR_HTTP");
    await fetch.close();
  });

  it("a body shorter than its Content-Length is ERR_HTTP", async () => {
    const server = await rawServer((socket) => socket.end("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort"));
    const fetch = createPinnedFetch(trusted());
    const response = await fetch(`https://localhost:${server.port}/`);
    expect((await rejection(response.text())).code).toBe("ERR_HTTP");
    await fetch.close();
  });

  it("returns an early answer without waiting for the request body, and cancels it", async () => {
    const server = await rawServer((socket) => socket.end("HTTP/1.1 413 Payload Too Large\r\ncontent-length: 0\r\n\r\n"));
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => controller.enqueue(new Uint8Array(10)),
      cancel: () => {
        cancelled = true;
      },
    });
    const fetch = createPinnedFetch(trusted());
    const response = await fetch(`https://localhost:${server.port}/`, { method: "POST", body, duplex: "half" } as RequestInit);
    expect(response.status).toBe(413);
    expect(cancelled).toBe(true);
    await fetch.close();
  });
});

describe("closing", () => {
  it("fetch.close() closes the connections of concurrent first requests", async () => {
    const open = new Set<TLSSocket>();
    const server = await rawServer((socket) => {
      open.add(socket);
      socket.on("close", () => open.delete(socket));
      socket.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1\r\na\r\n"); // and never ends
    });
    const fetch = createPinnedFetch(trusted());
    const responses = await Promise.all([1, 2, 3].map(() => fetch(`https://localhost:${server.port}/`)));
    expect(open.size).toBe(3);
    await fetch.close();
    await expect.poll(() => open.size).toBe(0);
    for (const response of responses) await rejection(response.text());
  });

  it("connection.close() returns while the peer reads nothing", async () => {
    const server = await startTlsServer({ chain: [pki.leaf, pki.intermediate], key: pki.leaf }, (socket) => socket.pause());
    servers.push(server);
    const connection = await connectTls({ hostname: "localhost", address: "127.0.0.1", port: server.port, ca: pki.root.certPem });
    const writer = connection.writable.getWriter();
    writer.write(new Uint8Array(8 * 1024 * 1024)).catch(() => {});
    await connection.close();
    await expect(writer.closed).rejects.toBeDefined();
  });
});
