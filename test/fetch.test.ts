import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createPinnedFetch, type PinnedFetch } from "../src/index.js";
import { createPki, type Pki } from "./support/pki.js";
import { rejection } from "./support/rejection.js";
import { pinOf, startHttpsServer, type TestServer } from "./support/servers.js";

let pki: Pki;
beforeAll(async () => {
  pki = await createPki();
});


const MISSING_PIN = "sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

describe.each(["TLSv1.3", "TLSv1.2"] as const)("pinned requests over %s", (version) => {
  let server: TestServer;
  let impostor: TestServer;
  let impostorWithPinnedIntermediate: TestServer;
  const fetches: PinnedFetch[] = [];
  const url = (target: TestServer, path = "/hello") => `https://localhost:${target.port}${path}`;
  const pinnedFetch = (pins: string[]) => {
    const fetch = createPinnedFetch({
      pins: { localhost: pins },
      ca: [pki.root.certPem, pki.otherRoot.certPem],
      resolve: { localhost: "127.0.0.1" },
    });
    fetches.push(fetch);
    return fetch;
  };

  beforeAll(async () => {
    const tls = { minVersion: version, maxVersion: version };
    server = await startHttpsServer({ chain: [pki.leaf, pki.intermediate], key: pki.leaf, ...tls });
    impostor = await startHttpsServer({ chain: [pki.otherLeaf, pki.otherIntermediate], key: pki.otherLeaf, ...tls });
    impostorWithPinnedIntermediate = await startHttpsServer({
      chain: [pki.otherLeaf, pki.otherIntermediate, pki.intermediate],
      key: pki.otherLeaf,
      ...tls,
    });
  });
  afterAll(async () => {
    await Promise.all(fetches.map((fetch) => fetch.close()));
    await Promise.all([server, impostor, impostorWithPinnedIntermediate].map((target) => target.close()));
  });

  it.each([
    ["the leaf", () => pki.leaf],
    ["the intermediate", () => pki.intermediate],
    ["the root", () => pki.root],
  ])("accepts a pin on %s", async (_, certificate) => {
    const response = await pinnedFetch([pinOf(certificate())])(url(server));
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("hello, pinned world");
  });

  it("accepts a backup pin when the first pin matches nothing", async () => {
    const response = await pinnedFetch([MISSING_PIN, pinOf(pki.intermediate)])(url(server));
    expect(await response.text()).toBe("hello, pinned world");
  });

  it("rejects another CA's valid certificate before sending a byte", async () => {
    const before = { bytes: impostor.receivedBytes, failures: impostor.handshakeFailures };
    const error = await rejection(pinnedFetch([pinOf(pki.intermediate), pinOf(pki.root)])(url(impostor)));
    expect(error.code).toBe("ERR_PIN_MISMATCH");
    expect(error.host).toBe("localhost");
    expect(error.expected).toEqual([pinOf(pki.intermediate), pinOf(pki.root)]);
    expect(error.chain?.map((certificate) => certificate.pin)).toEqual([
      pinOf(pki.otherLeaf),
      pinOf(pki.otherIntermediate),
      pinOf(pki.otherRoot),
    ]);
    expect(error.chain?.[0]?.subject).toContain("CN=localhost");
    expect(error.message).toContain(pinOf(pki.otherLeaf));
    expect(impostor.receivedBytes).toBe(before.bytes);
    expect(impostor.requests).toBe(0);
    await expect.poll(() => impostor.handshakeFailures).toBe(before.failures + 1); // aborted by our alert
  });

  it("ignores the pinned intermediate when the server merely appends it", async () => {
    const target = impostorWithPinnedIntermediate;
    const error = await rejection(pinnedFetch([pinOf(pki.intermediate)])(url(target)));
    expect(error.code).toBe("ERR_PIN_MISMATCH");
    expect(error.chain?.map((certificate) => certificate.pin)).not.toContain(pinOf(pki.intermediate));
    expect(target.receivedBytes).toBe(0);
    expect(target.requests).toBe(0);
  });
});

describe("certificate failures win over matching pins", () => {
  const servers: TestServer[] = [];
  const start = async (leaf: () => Pki["leaf"], intermediate: () => Pki["leaf"]) => {
    const server = await startHttpsServer({ chain: [leaf(), intermediate()], key: leaf() });
    servers.push(server);
    return server;
  };
  afterAll(async () => Promise.all(servers.map((server) => server.close())));

  it.each([
    ["an expired leaf", "ERR_CERT_EXPIRED", () => pki.expiredLeaf, () => pki.intermediate],
    ["a leaf for another name", "ERR_CERT_HOSTNAME", () => pki.wrongNameLeaf, () => pki.intermediate],
    ["a leaf from an untrusted CA", "ERR_CERT_UNTRUSTED", () => pki.otherLeaf, () => pki.otherIntermediate],
  ] as const)("%s -> %s", async (_, code, leaf, intermediate) => {
    const server = await start(leaf, intermediate);
    const fetch = createPinnedFetch({
      pins: { localhost: [pinOf(leaf()), pinOf(intermediate())] },
      ca: pki.root.certPem,
      resolve: { localhost: "127.0.0.1" },
    });
    const error = await rejection(fetch(`https://localhost:${server.port}/hello`));
    expect(error.code).toBe(code);
    expect(error.host).toBe("localhost");
    expect(server.receivedBytes).toBe(0);
    await fetch.close();
  });

  it("trusts Mozilla's roots, not a local test CA, when no ca is given", async () => {
    const server = await start(() => pki.leaf, () => pki.intermediate);
    const fetch = createPinnedFetch({ resolve: { localhost: "127.0.0.1" } });
    expect((await rejection(fetch(`https://localhost:${server.port}/hello`))).code).toBe("ERR_CERT_UNTRUSTED");
  });
});

describe("HTTP over the pinned connection", () => {
  let server: TestServer;
  let fetch: PinnedFetch;
  const url = (path: string) => `https://localhost:${server.port}${path}`;

  beforeAll(async () => {
    server = await startHttpsServer({ chain: [pki.leaf, pki.intermediate], key: pki.leaf });
    fetch = createPinnedFetch({
      pins: { localhost: [pinOf(pki.intermediate)], "127.0.0.1": [pinOf(pki.intermediate)] },
      ca: pki.root.certPem,
      resolve: { localhost: "127.0.0.1" },
    });
  });
  afterAll(async () => {
    await fetch.close();
    await server.close();
  });

  it("reads a Content-Length body", async () => {
    const response = await fetch(url("/hello"));
    expect(response.headers.get("content-length")).toBe("19");
    expect(response.url).toBe(url("/hello"));
    expect(await response.text()).toBe("hello, pinned world");
  });

  it("reads a chunked body", async () => {
    const response = await fetch(url("/chunked"));
    expect(response.headers.get("transfer-encoding")).toBe("chunked");
    expect(await response.text()).toBe("one,two,three");
  });

  it("streams a large body", async () => {
    const response = await fetch(url("/bytes/1000000"));
    const reader = response.body!.getReader();
    let total = 0;
    let chunks = 0;
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      total += read.value.length;
      chunks++;
    }
    expect(total).toBe(1_000_000);
    expect(chunks).toBeGreaterThan(1);
  });

  it("sends a request body with its headers", async () => {
    const response = await fetch(url("/echo"), { method: "POST", body: "ping", headers: { "x-test": "yes" } });
    const echo = (await response.json()) as { method: string; headers: Record<string, string>; body: string };
    expect(echo.method).toBe("POST");
    expect(echo.body).toBe("ping");
    expect(echo.headers["x-test"]).toBe("yes");
    expect(echo.headers["content-length"]).toBe("4");
    expect(echo.headers["host"]).toBe(`localhost:${server.port}`);
    expect(echo.headers["user-agent"]).toMatch(/^pinned-fetch\//);
  });

  it("sends a streamed request body chunked", async () => {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("str"));
        controller.enqueue(new TextEncoder().encode("eam"));
        controller.close();
      },
    });
    const response = await fetch(url("/echo"), { method: "PUT", body, duplex: "half" } as RequestInit);
    const echo = (await response.json()) as { headers: Record<string, string>; body: string };
    expect(echo.body).toBe("stream");
    expect(echo.headers["transfer-encoding"]).toBe("chunked");
  });

  it("reuses one connection for 20 sequential requests", async () => {
    const reuse = createPinnedFetch({
      pins: { localhost: [pinOf(pki.leaf)] },
      ca: pki.root.certPem,
      resolve: { localhost: "127.0.0.1" },
    });
    const before = server.connections;
    for (let i = 0; i < 20; i++) {
      expect(await (await reuse(url("/hello"))).text()).toBe("hello, pinned world");
    }
    expect(server.connections - before).toBe(1);
    await reuse.close();
  });

  it("resumes TLS sessions within one instance, never across instances", async () => {
    const options = { pins: { localhost: [pinOf(pki.leaf)] }, ca: pki.root.certPem, resolve: { localhost: "127.0.0.1" } };
    const first = createPinnedFetch(options);
    const before = { connections: server.connections, resumed: server.resumed };
    await (await first(url("/hello"))).text();
    await first.close();
    await (await first(url("/hello"))).text();
    await first.close();
    expect(server.connections - before.connections).toBe(2);
    expect(server.resumed - before.resumed).toBe(1);

    const second = createPinnedFetch(options);
    await (await second(url("/hello"))).text();
    await second.close();
    expect(server.connections - before.connections).toBe(3);
    expect(server.resumed - before.resumed).toBe(1);
  });

  it("pins an IP address host", async () => {
    const response = await fetch(`https://127.0.0.1:${server.port}/hello`);
    expect(await response.text()).toBe("hello, pinned world");
  });

  it("returns status and headers of a 404", async () => {
    const response = await fetch(url("/missing"));
    expect(response.status).toBe(404);
    expect(response.ok).toBe(false);
    expect(await response.text()).toBe("not found");
  });

  it("uses the URL's host for SNI and verification when resolve redirects the connection", async () => {
    const named = await startHttpsServer({ chain: [pki.wrongNameLeaf, pki.intermediate], key: pki.wrongNameLeaf });
    const resolved = createPinnedFetch({
      pins: { "wrong.example": [pinOf(pki.intermediate)] },
      ca: pki.root.certPem,
      resolve: { "wrong.example": "127.0.0.1" },
    });
    const response = await resolved(`https://wrong.example:${named.port}/hello`);
    expect(await response.text()).toBe("hello, pinned world");
    await resolved.close();
    await named.close();
  });
});
