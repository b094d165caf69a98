// One runtime's side of the concurrent measure: many requests in flight to
// one origin (node:http2's server, which speaks h2 and HTTP/1.1), each worker
// sending its next 1 KiB GET as soon as the last one's body has been read,
// for a fixed time; requests per second, and the client's CPU time (user +
// system) per request. pinned-fetch over h2 (its default, one multiplexed
// connection) and over HTTP/1.1 (`http2: false`, as many connections as
// requests in flight: `connections` is unlimited by default), against the
// runtime's own client in its best configuration:
//   Node: undici 7 with `allowH2` and a pinning `connect` (checkServerIdentity),
//     through its `request` API and through its `fetch`;
//   Deno: `fetch` with `Deno.createHttpClient({ caCerts })`, which offers h2
//     (it has no verification hook, so it cannot pin: the reference);
//   Bun: `fetch` with `tls.checkServerIdentity`, over HTTP/1.1: Bun 1.4's fetch
//     offers h2 only when asked (`--experimental-http2-fetch`, the environment
//     variable BUN_FEATURE_FLAG_EXPERIMENTAL_HTTP2_CLIENT=1, or `protocol:
//     "http2"` per request), and never with a checkServerIdentity (the flag
//     falls back to HTTP/1.1, `protocol: "http2"` fails with HTTP2Unsupported);
//     nor does it reuse a connection made with one. Its h2 without a pin is
//     not measured either: with 100 requests in flight, node:http2's server
//     saw some of its streams end in REFUSED_STREAM or CANCEL and closed the
//     session with GOAWAY after about 1,000 requests (HTTP2GoAway in fetch).
// The first of each runtime's own clients is the base of the ratios.
// Interleaved in rounds, the order flipping every round; each client first
// sends a burst of requests, untimed, so that its connections are open (and
// reopened, if its pool let them go since the last round) when the clock starts.
//   <runtime> scripts/bench/concurrent.ts '<json>'
// where the JSON holds the server's target and the ConcurrentSizes. Prints one JSON line.
import { type Client, PINNED_HTTP1, type Target, pathOf, readAll, runtime, urlOf } from "./common.js";
import { pinCheck } from "./native.js";
import { pinnedClient } from "./pinned.js";
import { createPinnedFetch } from "../../src/index.js";

export interface ConcurrentSizes {
  rounds: number;
  /** Milliseconds each client is timed, per round. */
  ms: number;
  /** Requests in flight at once. */
  inFlight: number;
}

export interface ConcurrentSamples {
  /** Requests per second, one figure per round. */
  perSecond: number[];
  /** The client's CPU time over all rounds, and the requests it covers. */
  cpuMs: number;
  requests: number;
}

export interface ConcurrentResult {
  /** The runtime's own clients as the table names them, by their key in `measures`. */
  natives: Record<string, string>;
  measures: Record<string, ConcurrentSamples>;
}

const { target: base, sizes } = JSON.parse(process.argv[2]!) as { target: Target; sizes: ConcurrentSizes };
const target: Target = { ...base, port: base.http2Port };
const SIZE = 1024;

function expect(length: number): void {
  if (length !== SIZE) throw new Error(`expected ${SIZE} bytes, got ${length}`);
}

/**
 * undici's Agent, allowed h2, pinning in its TLS `connect` options as node:https does; one connection per
 * origin, which h2 multiplexes (without the limit, a burst opens a connection per request before ALPN answers).
 */
async function undiciClients(): Promise<Record<string, [string, Client]>> {
  const { Agent, fetch: undiciFetch } = await import("undici");
  const agent = () =>
    new Agent({
      allowH2: true,
      connections: 1,
      connect: {
        ca: target.ca,
        checkServerIdentity: pinCheck(target.pins),
        lookup: (_host, _options, callback) => callback(null, [{ address: "127.0.0.1", family: 4 }]),
      },
    });
  const origin = `https://localhost:${target.port}`;
  const requests = agent();
  const fetches = agent();
  return {
    "undici-request": [
      "undici.request, allowH2, connections: 1 + checkServerIdentity",
      {
        get: async (path) => {
          const { statusCode, body } = await requests.request({ origin, path, method: "GET" });
          if (statusCode !== 200) throw new Error(`status ${statusCode}`);
          let length = 0;
          for await (const chunk of body) length += (chunk as Uint8Array).length;
          return length;
        },
        close: () => requests.close(),
      },
    ],
    "undici-fetch": [
      "undici.fetch, allowH2, connections: 1 + checkServerIdentity",
      {
        get: async (path) => readAll((await undiciFetch(urlOf(target, path), { dispatcher: fetches })) as Response),
        close: () => fetches.close(),
      },
    ],
  };
}

/** Deno's fetch with the bench CA: it negotiates h2, and cannot pin. */
function denoClients(): Record<string, [string, Client]> {
  const deno = (
    globalThis as unknown as { Deno: { createHttpClient(options: { caCerts: string[] }): { close(): void } } }
  ).Deno;
  const client = deno.createHttpClient({ caCerts: [target.ca] });
  return {
    "deno-fetch": [
      "fetch + createHttpClient (cannot pin: reference)",
      {
        get: async (path) => readAll(await fetch(urlOf(target, path), { client } as RequestInit)),
        close: async () => client.close(),
      },
    ],
  };
}

/** Bun's fetch pinning in `tls.checkServerIdentity` (HTTP/1.1). */
function bunClients(): Record<string, [string, Client]> {
  const init = { keepalive: true, tls: { ca: target.ca, checkServerIdentity: pinCheck(target.pins) } } as RequestInit;
  return {
    "bun-fetch": [
      "fetch + tls.checkServerIdentity",
      { get: async (path) => readAll(await fetch(urlOf(target, path), init)), close: async () => {} },
    ],
  };
}

const natives = runtime === "node" ? await undiciClients() : runtime === "deno" ? denoClients() : bunClients();
const clients = new Map<string, Client>([
  ["pinned-fetch", pinnedClient(target, "pool", createPinnedFetch)],
  [PINNED_HTTP1, pinnedClient(target, "pool", createPinnedFetch, { http2: false })],
  ...Object.entries(natives).map(([name, [, client]]) => [name, client] as [string, Client]),
]);
const result: ConcurrentResult = {
  natives: Object.fromEntries(Object.entries(natives).map(([name, [shown]]) => [name, shown])),
  measures: Object.fromEntries([...clients.keys()].map((name) => [name, { perSecond: [], cpuMs: 0, requests: 0 }])),
};

/** `sizes.inFlight` requests at once, each worker sending its next as its last one ends. */
async function measure(client: Client, path: string, samples: ConcurrentSamples): Promise<void> {
  // Not timed: opens the connections the timed requests will use.
  await Promise.all(Array.from({ length: sizes.inFlight }, async () => expect(await client.get(path))));
  let requests = 0;
  const cpu = process.cpuUsage();
  const start = performance.now();
  const deadline = start + sizes.ms;
  const worker = async () => {
    while (performance.now() < deadline) {
      expect(await client.get(path));
      requests++;
    }
  };
  await Promise.all(Array.from({ length: sizes.inFlight }, worker));
  const elapsed = performance.now() - start;
  const used = process.cpuUsage(cpu);
  samples.perSecond.push(requests / (elapsed / 1000));
  samples.cpuMs += (used.user + used.system) / 1000;
  samples.requests += requests;
}

for (let round = 0; round < sizes.rounds; round++) {
  const order = round % 2 === 0 ? [...clients.keys()] : [...clients.keys()].reverse();
  for (const name of order) {
    const path = pathOf(`/bytes/${SIZE}`, `${runtime}/concurrent/${name}`);
    await measure(clients.get(name)!, path, result.measures[name]!);
  }
}
for (const client of clients.values()) await client.close();
console.log(JSON.stringify(result));
process.exit(0);
