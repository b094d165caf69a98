// One runtime's side of the cold, cold with a client certificate, cold
// against the post-quantum server, keep-alive and bulk measures: pinned-fetch
// against each of the runtime's own pin-capable clients (native.ts),
// interleaved in rounds (the order flips every round) so that drift hits all
// alike. Keep-alive and bulk also time pinned-fetch over h2, against
// node:http2's server, and in Bun, Bun's fetch without pins. The cold measure
// also times pinned-fetch with `postQuantum: false`: the default sends an
// X25519MLKEM768 share beside the X25519 one, which the bench server (Node's
// OpenSSL, classical groups only) ignores.
//   <runtime> scripts/bench/client.ts '<json>'
// where the JSON holds the server's target and the Sizes. Prints one JSON line.
import {
  BASELINES,
  CLASSICAL,
  type Client,
  type Identity,
  type Mode,
  PINNED_H2,
  type Target,
  UNPINNED,
  benchRuntime,
  pathOf,
  runtime,
  runtimeVersion,
} from "./common.js";
import { nativeClient } from "./native.js";
import { createPinnedFetch } from "../../src/index.js";
import { pinnedClient } from "./pinned.js";
import { subtlsClient } from "./subtls.js";

export interface Sizes {
  rounds: number;
  /** Cold requests per contender and round. */
  cold: number;
  /** Keep-alive requests per contender and round. */
  keepAlive: number;
  /** Bytes of the bulk download. */
  bulk: number;
}

/** Milliseconds per request, and the client's CPU time (user + system) over all of them. */
export interface ColdSamples {
  ms: number[];
  cpuMs: number;
}

/** A cold measure against the post-quantum server, with the group the client negotiated in each round. */
export interface HybridSamples extends ColdSamples {
  keyExchange: string[];
}

export interface ClientResult {
  /** The bench's name for the runtime (common.ts's benchRuntime). */
  runtime: string;
  version: string;
  /** The runtime's pin-capable clients (common.ts's BASELINES): the bases of the ratios. */
  baselines: string[];
  subtls?: string;
  cold: Record<string, ColdSamples>;
  /** The cold measure against the listener that requires a client certificate, per client key type. */
  coldClientCert: Record<string, Record<string, ColdSamples>>;
  /** The cold measure against the server that speaks X25519MLKEM768 (`target.hybrid`). */
  coldHybrid: Record<string, HybridSamples>;
  /** Requests per second, one figure per round. */
  keepAlive: Record<string, number[]>;
  /** MB (10^6 bytes) per second, one figure per round. */
  bulk: Record<string, number[]>;
}

const { target, sizes } = JSON.parse(process.argv[2]!) as { target: Target; sizes: Sizes };
const KIB = "/bytes/1024";

/** pinned-fetch, then the runtime's pin-capable clients, by name. */
async function contenders(at: Target, mode: Mode, identity?: Identity): Promise<Map<string, Client>> {
  const clients = new Map([["pinned-fetch", pinnedClient(at, mode, createPinnedFetch, { identity })]]);
  for (const name of BASELINES[runtime]) clients.set(name, await nativeClient(name, at, mode, { identity }));
  return clients;
}
const subtls = runtime === "node" ? await subtlsClient(target) : undefined;

function expect(length: number, size: number): void {
  if (length !== size) throw new Error(`expected ${size} bytes, got ${length}`);
}

const tag = (measure: string, name: string) => `${benchRuntime}/${measure}/${name}`;
const cold = await contenders(target, "close");
cold.set(CLASSICAL, pinnedClient(target, "close", createPinnedFetch, { postQuantum: false }));
if (subtls) cold.set("subtls", subtls.client);
const hybrid = await contenders({ ...target, port: target.hybrid.port }, "close");
const kept = await contenders(target, "keep-alive");
// The same, against the server that speaks h2: pinned-fetch over h2 beside its HTTP/1.1 row above.
kept.set(PINNED_H2, pinnedClient({ ...target, port: target.http2Port }, "keep-alive", createPinnedFetch));
if (runtime === "bun") kept.set(UNPINNED, await nativeClient(UNPINNED, target, "keep-alive"));
const clientAuth = { ...target, port: target.clientAuth.port };
/** Per client key type, the cold clients given that certificate. */
const certified = new Map<string, Map<string, Client>>();
for (const [keyType, identity] of Object.entries(target.clientAuth.identities))
  certified.set(keyType, await contenders(clientAuth, "close", identity));
const certifiedClients = [...certified.values()].flatMap((clients) => [...clients]);
const samplesOf = (clients: Map<string, Client>) =>
  Object.fromEntries([...clients.keys()].map((name) => [name, { ms: [], cpuMs: 0 }]));
const result: ClientResult = {
  runtime: benchRuntime,
  version: runtimeVersion,
  baselines: BASELINES[runtime],
  ...(subtls && { subtls: subtls.version }),
  cold: samplesOf(cold),
  coldClientCert: Object.fromEntries([...certified].map(([keyType, clients]) => [keyType, samplesOf(clients)])),
  coldHybrid: Object.fromEntries([...hybrid.keys()].map((name) => [name, { ms: [], cpuMs: 0, keyExchange: [] }])),
  keepAlive: Object.fromEntries([...kept.keys()].map((name) => [name, []])),
  bulk: Object.fromEntries([...kept.keys()].map((name) => [name, []])),
};

/** Sequential cold requests, each timed, and the CPU time they took together. */
async function timeCold(client: Client, path: string, samples: ColdSamples): Promise<void> {
  const cpu = process.cpuUsage();
  for (let i = 0; i < sizes.cold; i++) {
    const start = performance.now();
    expect(await client.get(path), 1024);
    samples.ms.push(performance.now() - start);
  }
  const used = process.cpuUsage(cpu);
  samples.cpuMs += (used.user + used.system) / 1000;
}

// Warm-up, not measured: loads the engine and lets the JIT see every path once.
for (const [name, client] of [...cold, ...hybrid, ...kept])
  expect(await client.get(pathOf(KIB, tag("warm-up", name))), 1024);
for (const [name, client] of certifiedClients)
  expect(await client.get(pathOf(KIB, tag("warm-up-client-cert", name))), 1024);
for (const [name, client] of kept)
  expect(await client.get(pathOf(`/stream/${1024 * 1024}`, tag("warm-up", name))), 1024 * 1024);

for (let round = 0; round < sizes.rounds; round++) {
  const order = round % 2 === 0 ? [...cold.keys()] : [...cold.keys()].reverse();
  for (const name of order) await timeCold(cold.get(name)!, pathOf(KIB, tag("cold", name)), result.cold[name]!);
  for (const [keyType, clients] of certified) {
    for (const name of order.filter((name) => clients.has(name))) {
      const path = pathOf(KIB, tag(`cold-client-cert/${keyType}`, name));
      await timeCold(clients.get(name)!, path, result.coldClientCert[keyType]![name]!);
    }
  }
  for (const name of order.filter((name) => hybrid.has(name))) {
    const client = hybrid.get(name)!;
    const samples = result.coldHybrid[name]!;
    // Not timed: the group of a connection like the timed ones, as the server names it.
    samples.keyExchange.push(
      (await client.header!(pathOf(KIB, tag("key-exchange", name)), "x-key-exchange")) ?? "none",
    );
    await timeCold(client, pathOf(KIB, tag("cold-hybrid", name)), samples);
  }
  const keptOrder = round % 2 === 0 ? [...kept.keys()] : [...kept.keys()].reverse();
  for (const name of keptOrder) {
    const client = kept.get(name)!;
    const path = pathOf(KIB, tag("keep-alive", name));
    // Not timed: (re)opens the connection if the client let it go since the last round.
    expect(await client.get(path), 1024);
    const start = performance.now();
    for (let i = 0; i < sizes.keepAlive; i++) expect(await client.get(path), 1024);
    result.keepAlive[name]!.push(sizes.keepAlive / ((performance.now() - start) / 1000));
  }
  for (const name of keptOrder) {
    const start = performance.now();
    expect(await kept.get(name)!.get(pathOf(`/stream/${sizes.bulk}`, tag("bulk", name))), sizes.bulk);
    result.bulk[name]!.push(sizes.bulk / 1e6 / ((performance.now() - start) / 1000));
  }
}
for (const [, client] of [...cold, ...hybrid, ...kept, ...certifiedClients]) await client.close();
console.log(JSON.stringify(result));
process.exit(0);
