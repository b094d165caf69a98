// Loading the engine: it is compiled as the package is imported, without
// blocking, and the first connection waits for that compile; a compile that
// fails surfaces at the first connection as ERR_CONFIG, and a later one tries
// again. Each test imports a fresh copy of the modules, whose import starts
// its own compile.
import { afterEach, expect, it, vi } from "vitest";

import type { PinnedFetchError } from "../src/errors.js";
import manifest from "../wasm/pinned_fetch.manifest.json" with { type: "json" };
import { createPki } from "./support/pki.js";
import { pinOf, startHttpsServer } from "./support/servers.js";

const ENGINE_BYTES = manifest.bytes;

afterEach(() => {
  vi.restoreAllMocks();
  vi.resetModules();
});

it("starts compiling at import, and a request made while it compiles waits for it", async () => {
  const compile = WebAssembly.compile.bind(WebAssembly);
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  /** The engine's compiles (the runtime may compile WebAssembly of its own, such as undici's llhttp). */
  let engineCompiles = 0;
  vi.spyOn(WebAssembly, "compile").mockImplementation(async (bytes) => {
    if (ArrayBuffer.isView(bytes) && bytes.byteLength === ENGINE_BYTES) {
      engineCompiles++;
      await held;
    }
    return compile(bytes);
  });
  vi.resetModules();
  const { createPinnedFetch } = await import("../src/index.js");
  expect(engineCompiles, "compiling began as the package was imported").toBe(1);

  const pki = await createPki();
  const server = await startHttpsServer({ chain: [pki.leaf, pki.intermediate], key: pki.leaf });
  const fetch = createPinnedFetch({ ca: pki.root.certPem, pins: { localhost: [pinOf(pki.leaf)] } });
  try {
    let settled = false;
    const response = fetch(`https://localhost:${server.port}/`).finally(() => (settled = true));
    // Give the request every chance to go ahead without the engine: it may dial, but not finish.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(settled, "the request waits for the compile").toBe(false);
    expect(server.connections, "no handshake without the engine").toBe(0);
    release();
    await (await response).arrayBuffer();
    expect(server.requests, "the request went through once the engine was ready").toBe(1);
    expect(engineCompiles, "the request used the compile begun at import").toBe(1);
  } finally {
    release();
    await fetch.close();
    await server.close();
  }
});

it("reports a compile that failed as ERR_CONFIG at the first connection, and compiles again for the next", async () => {
  const compiling = vi.spyOn(WebAssembly, "compile").mockRejectedValue(new TypeError("WebAssembly is disabled"));
  vi.resetModules();
  const { loadEngine } = await import("../src/tls/engine.js");
  let refused: unknown;
  try {
    await loadEngine();
  } catch (error) {
    refused = error;
  }
  expect((refused as PinnedFetchError).code).toBe("ERR_CONFIG");
  expect((refused as PinnedFetchError).message).toContain("The TLS engine could not be compiled");
  expect((refused as PinnedFetchError).message).toContain("WebAssembly is disabled");

  compiling.mockRestore();
  await expect(loadEngine()).resolves.toBeDefined();
});
