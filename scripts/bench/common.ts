// What every bench client shares, in Node, Deno and Bun alike. It imports
// neither pinned-fetch nor a native client, so that a fresh process loads
// only the client it measures.

/** What the server printed, as run.ts hands it on. */
export interface Target {
  port: number;
  /** A plain-HTTP port on loopback whose GET /stats answers the server's counters. */
  statsPort: number;
  ca: string;
  pins: string[];
  /**
   * A second listener, the same but that it requires a client certificate from a CA of its own,
   * and an identity for it per key type (`RSA 2048`, `ECDSA P-256`).
   */
  clientAuth: { port: number; identities: Record<string, Identity> };
  /**
   * Go's crypto/tls with the same certificate, which speaks the post-quantum hybrid: it takes X25519MLKEM768
   * (preferred) and X25519, and names the group of each response's connection in `x-key-exchange`.
   */
  hybrid: { port: number; groups: string[] };
  /** A WebSocket server (the ws package): `/plain` without permessage-deflate, `/deflate` with it. */
  webSocketPort: number;
  /** node:http2's server, the same routes and TLS setup, answering ALPN `h2` with HTTP/2 and the rest with HTTP/1.1. */
  http2Port: number;
  /** Go's net/http, the same certificate, offering h2 and http/1.1: the concurrent measure's server. */
  goPort: number;
}

/** The size of the WebSocket throughput measures' binary messages. */
export const WEBSOCKET_MESSAGE_BYTES = 64 * 1024;

export const WEBSOCKET_MEASURES = ["echo", "receive", "send"] as const;
export type WebSocketMeasure = (typeof WEBSOCKET_MEASURES)[number];

/** The WebSocket measures' name for pinned-fetch against the endpoint with permessage-deflate. */
export const WEBSOCKET_DEFLATE = "pinned-fetch-deflate";

/** A client certificate and its private key, PEM (the key PKCS#8). */
export interface Identity {
  cert: string;
  key: string;
}

/**
 * How a client holds its connections: `close`, a new one for each request;
 * `keep-alive`, one connection for sequential requests; `pool`, kept-alive
 * connections, as many as there are requests at once or `connections` at most.
 */
export type Mode = "close" | "keep-alive" | "pool";

/** The connections the concurrent measure allows every client: the browsers' and undici's default per origin. */
export const CONCURRENT_CONNECTIONS = 6;

export interface Client {
  /** GETs `path` and reads the body to its end; resolves to its length in bytes. */
  get(path: string): Promise<number>;
  /** As `get`; resolves to the response's header `name` (null if it has none). */
  header?(path: string, name: string): Promise<string | null>;
  /** For clients shaped as fetch: the response, its body unread. */
  fetch?(path: string): Promise<Response>;
  close(): Promise<void>;
}

/** The cold measure's name for pinned-fetch with `postQuantum: false`. */
export const CLASSICAL = "pinned-fetch-classical";

/** The keep-alive and bulk measures' name for pinned-fetch against the server that speaks h2 (`http2Port`). */
export const PINNED_H2 = "pinned-fetch-h2";

/** The concurrent measure's name for pinned-fetch with `http2: false` (its default, `pinned-fetch`, speaks h2). */
export const PINNED_HTTP1 = "pinned-fetch-h1";

export type RuntimeName = "node" | "deno" | "bun";

const host = globalThis as unknown as { Deno?: { version: { deno: string } }; Bun?: { version: string } };
export const runtime: RuntimeName = host.Bun ? "bun" : host.Deno ? "deno" : "node";
export const runtimeVersion = host.Bun?.version ?? host.Deno?.version.deno ?? process.versions.node;
/**
 * The bench's name for this runtime, in results and request tags: `node24` for the Node LTS that run.ts starts
 * beside the Node it runs in (it says so in PF_BENCH_RUNTIME; Deno is not asked, which would need a permission).
 */
export const benchRuntime: string = (runtime === "node" && process.env.PF_BENCH_RUNTIME) || runtime;

/**
 * Each runtime's pin-capable clients, by the bench's name for them (native.ts makes them): every target is a ratio
 * to the best of them in the measure, in the same run.
 */
export const BASELINES: Record<RuntimeName, string[]> = {
  node: ["node:https", "undici-fetch"],
  deno: ["node:https"],
  bun: ["bun-fetch", "node:https"],
};

/** Bun's fetch without pins, in Bun's keep-alive and bulk: a reference row, never a base (it cannot pin). */
export const UNPINNED = "bun-fetch-unpinned";

/** The tables' names for the clients native.ts makes. */
export const BASELINE_SHOWN: Record<string, string> = {
  "node:https": "node:https + checkServerIdentity",
  "undici-fetch": "undici fetch + pinning connect",
  "bun-fetch": "fetch + tls.checkServerIdentity",
  [UNPINNED]: "fetch without pins (cannot pin: not a base)",
};

export const urlOf = (target: Target, path: string) => `https://localhost:${target.port}${path}`;

/** A GET's path; `tag` tells the server whose connection it is. */
export const pathOf = (route: string, tag: string) => `${route}?tag=${encodeURIComponent(tag)}`;

/** Reads a fetch Response's body to its end, counting bytes (nothing is kept). */
export async function readAll(response: Response): Promise<number> {
  if (response.status !== 200) throw new Error(`status ${response.status}`);
  const reader = response.body!.getReader();
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return length;
    length += value.length;
  }
}

/** Reads a fetch Response's body to its end; its header `name`. */
export async function readHeader(response: Response, name: string): Promise<string | null> {
  await readAll(response);
  return response.headers.get(name);
}

/** The server's counters now. */
export async function serverStats(
  target: Target,
): Promise<{ open: number; tags: Record<string, { connections: number; requests: number; open: number }> }> {
  const response = await fetch(`http://127.0.0.1:${target.statsPort}/stats`, { signal: AbortSignal.timeout(10_000) });
  return (await response.json()) as Awaited<ReturnType<typeof serverStats>>;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
