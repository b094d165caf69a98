// One runtime's side of the concurrent measure: 64 requests in flight (by
// default) to one origin, each worker sending its next 1 KiB GET as soon as
// the last one's body has been read, for 3 s (by default); requests per
// second, and the client's CPU time (user + system) per request. Every client
// holds at most 6 connections to the origin (CONCURRENT_CONNECTIONS, the
// browsers' and undici's default): pinned-fetch with `connections: 6`, as it
// comes (h2, since the server offers it: one multiplexed connection) and with
// `http2: false` (HTTP/1.1); node:https with `maxSockets: 6`; undici's fetch
// with `connections: 6` (HTTP/1.1: undici 7 offers h2 only with `allowH2`,
// which is not its default); Bun's fetch, which has no per-origin limit and,
// pinning, opens a new connection per request: run.ts bounds it with
// BUN_CONFIG_MAX_HTTP_REQUESTS=6 (Bun's limit on its fetch's requests in
// flight, process-wide), so that it, too, has at most 6 connections open at
// once. Bun 1.4's fetch offers h2 only when asked (`--experimental-http2-fetch`
// or `protocol: "http2"`), and never together with a checkServerIdentity.
// The server is Go's net/http (server.ts), which offers h2 and http/1.1 and is
// cheap on both, so that pinned-fetch as users get it (h2 wherever a server
// offers it) meets the runtime's clients as they are (HTTP/1.1), and neither
// protocol pays for a slow server. It counts each client's connections, h2
// sessions and the most open at once.
// The base of the ratios is the runtime's pin-capable client with the most
// requests per second. Interleaved in rounds, the order flipping every round;
// each client first sends a burst of requests, untimed, so that its
// connections are open (and reopened, if its pool let them go since the last
// round) when the clock starts.
//   <runtime> scripts/bench/concurrent.ts '<json>'
// where the JSON holds the server's target and the ConcurrentSizes. Prints one JSON line.
import {
  BASELINES,
  CONCURRENT_CONNECTIONS,
  type Client,
  PINNED_HTTP1,
  type Target,
  benchRuntime,
  pathOf,
  runtime,
} from "./common.js";
import { nativeClient } from "./native.js";
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

export type ConcurrentResult = Record<string, ConcurrentSamples>;

const { target: base, sizes } = JSON.parse(process.argv[2]!) as { target: Target; sizes: ConcurrentSizes };
const target: Target = { ...base, port: base.goPort };
const SIZE = 1024;

function expect(length: number): void {
  if (length !== SIZE) throw new Error(`expected ${SIZE} bytes, got ${length}`);
}

const connections = CONCURRENT_CONNECTIONS;
const clients = new Map<string, Client>([
  ["pinned-fetch", pinnedClient(target, "pool", createPinnedFetch, { connections })],
  [PINNED_HTTP1, pinnedClient(target, "pool", createPinnedFetch, { http2: false, connections })],
]);
for (const name of BASELINES[runtime]) clients.set(name, await nativeClient(name, target, "pool", { connections }));
const result: ConcurrentResult = Object.fromEntries(
  [...clients.keys()].map((name) => [name, { perSecond: [], cpuMs: 0, requests: 0 }]),
);

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
    const path = pathOf(`/bytes/${SIZE}`, `${benchRuntime}/concurrent/${name}`);
    await measure(clients.get(name)!, path, result[name]!);
  }
}
for (const client of clients.values()) await client.close();
console.log(JSON.stringify(result));
process.exit(0);
