import { createServer as createTlsServer, type Server as TlsServer } from "node:tls";
import type { AddressInfo } from "node:net";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { connectTls, createPinnedFetch, PinnedFetchError } from "../src/index.js";
import { createPki, type Pki } from "./support/pki.js";
import { rejection } from "./support/rejection.js";
import { pinOf, startTcpServer, type TestServer } from "./support/servers.js";

let pki: Pki;
let echo: TlsServer;
let echoPort: number;

beforeAll(async () => {
  pki = await createPki();
  echo = createTlsServer(
    {
      key: pki.leaf.keyPem,
      cert: pki.leaf.certPem + pki.intermediate.certPem,
      ALPNProtocols: ["echo/1", "http/1.1"],
      noDelay: true,
    },
    (socket) => socket.pipe(socket),
  );
  await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve));
  echoPort = (echo.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => echo.close(() => resolve())));


describe("connectTls", () => {
  it("round-trips bytes through an echo server, with ALPN and the verified path", async () => {
    const connection = await connectTls({
      hostname: "localhost",
      address: "127.0.0.1",
      port: echoPort,
      pins: [pinOf(pki.intermediate)],
      ca: pki.root.certPem,
      alpn: ["echo/1"],
    });
    expect(connection.alpn).toBe("echo/1");
    expect(connection.protocol).toBe("TLSv1.3");
    expect(connection.peerCertificates.map((certificate) => certificate.pin)).toEqual([
      pinOf(pki.leaf),
      pinOf(pki.intermediate),
      pinOf(pki.root),
    ]);
    expect(connection.peerCertificates[2]?.notAfter).toBeInstanceOf(Date);

    const writer = connection.writable.getWriter();
    const reader = connection.readable.getReader();
    const message = new Uint8Array(200_000).map((_, index) => index % 251);
    const received = new Uint8Array(message.length);
    let length = 0;
    const reading = (async () => {
      while (length < message.length) {
        const { done, value } = await reader.read();
        if (done) break;
        received.set(value, length);
        length += value.length;
      }
    })();
    await writer.write(message);
    await reading;
    expect(length).toBe(message.length);
    expect(Buffer.compare(received, message)).toBe(0);
    await connection.close();
  });

  it("rejects a pin mismatch with the chain", async () => {
    const error = await rejection(
      connectTls({
        hostname: "localhost",
        address: "127.0.0.1",
        port: echoPort,
        pins: [pinOf(pki.otherRoot)],
        ca: pki.root.certPem,
      }),
    );
    expect(error.code).toBe("ERR_PIN_MISMATCH");
    expect(error.chain).toHaveLength(3);
  });
});

describe("configuration errors are thrown at once", () => {
  it.each([
    ["a pin without its algorithm", { pins: { localhost: ["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="] } }],
    ["a pin of the wrong length", { pins: { localhost: ["sha256/AAAA"] } }],
    ["a pin that is not base64", { pins: { localhost: ["sha256/not base64 at all, not at all, no no!!="] } }],
    ["the SHA-256 of empty input", { pins: { localhost: ["sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="] } }],
    ["a host with no pins", { pins: { localhost: [] } }],
    ["a ca that is not PEM", { ca: "not a certificate" }],
    ["a PEM block that is not a certificate", { ca: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n" }],
    ["a negative connectTimeout", { connectTimeout: -1 }],
  ])("%s", (_, options) => {
    let thrown: unknown;
    try {
      createPinnedFetch(options);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(PinnedFetchError);
    expect((thrown as PinnedFetchError).code).toBe("ERR_CONFIG");
  });

  it("names the bad pin and the expected form", () => {
    expect(() => createPinnedFetch({ pins: { "api.example.com": ["sha1/abc"] } })).toThrow(
      /api\.example\.com.*"sha1\/abc".*sha256\//,
    );
  });

  it("refuses plain http URLs", async () => {
    const fetch = createPinnedFetch();
    expect((await rejection(fetch("http://127.0.0.1:1/"))).code).toBe("ERR_CONFIG");
  });
});

describe("network failures", () => {
  const servers: TestServer[] = [];
  afterAll(() => Promise.all(servers.map((server) => server.close())));
  const tcp = async (onConnection: Parameters<typeof startTcpServer>[0]) => {
    const server = await startTcpServer(onConnection);
    servers.push(server);
    return server;
  };
  const fetchOptions = { ca: "" as string, connectTimeout: 300 };
  beforeAll(() => {
    fetchOptions.ca = pki.root.certPem;
  });

  it("a refused connection is ERR_CONNECT", async () => {
    const closed = await tcp(() => {});
    await closed.close();
    const fetch = createPinnedFetch(fetchOptions);
    expect((await rejection(fetch(`https://127.0.0.1:${closed.port}/`))).code).toBe("ERR_CONNECT");
  });

  it("a server that never answers the handshake is ERR_TIMEOUT", async () => {
    const silent = await tcp(() => {});
    const fetch = createPinnedFetch(fetchOptions);
    const error = await rejection(fetch(`https://127.0.0.1:${silent.port}/`));
    expect(error.code).toBe("ERR_TIMEOUT");
    expect(error.message).toMatch(/connectTimeout/);
  });

  it("a server that answers with garbage is ERR_TLS", async () => {
    const garbage = await tcp((socket) => socket.end("HTTP/1.1 400 Bad Request\r\n\r\nthis is not TLS at all"));
    const fetch = createPinnedFetch(fetchOptions);
    expect((await rejection(fetch(`https://127.0.0.1:${garbage.port}/`))).code).toBe("ERR_TLS");
  });

  it("a server that closes during the handshake is ERR_TLS", async () => {
    const closing = await tcp((socket) => socket.once("data", () => socket.end()));
    const fetch = createPinnedFetch(fetchOptions);
    expect((await rejection(fetch(`https://127.0.0.1:${closing.port}/`))).code).toBe("ERR_TLS");
  });

  it("an aborted signal rejects with its reason", async () => {
    const silent = await tcp(() => {});
    const fetch = createPinnedFetch({ ca: pki.root.certPem });
    const controller = new AbortController();
    const pending = fetch(`https://127.0.0.1:${silent.port}/`, { signal: controller.signal });
    const reason = new Error("stop");
    setTimeout(() => controller.abort(reason), 20);
    await expect(pending).rejects.toBe(reason);
  });
});
