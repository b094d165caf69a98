// Memory with many idle pooled connections, in a fresh process of its own:
// N GETs at once from one client (pinned-fetch's pool is unlimited; the
// runtime's own clients' pools are made so). The fetch-shaped clients get every
// response head before reading any body, so that all their connections go
// idle at the same moment (node:https's agent has no idle timeout). Then -
// well within pinned-fetch's 4 s idle timeout - the growth of the process's
// RSS and, for pinned-fetch, of the engine's WebAssembly memory (which never
// shrinks: it is the high-water mark, handshakes included), against a
// baseline taken after one warm-up request. The server says how many of the
// client's connections are open at that moment.
//   <runtime> scripts/bench/memory.ts pinned-fetch|<baseline> '<json>'
import { type Target, benchRuntime, pathOf, serverStats, sleep } from "./common.js";

export interface MemoryResult {
  name: string;
  /** Requests made at once, and how many of them failed (with each distinct message and its count). */
  requests: number;
  failed: number;
  errors: Record<string, number>;
  /** Milliseconds until every response head had arrived. */
  openMs: number;
  /** The client's connections the server saw open when memory was read. */
  open: number;
  rss: { before: number; after: number };
  engine?: { before: number; after: number };
}

const [name, json] = process.argv.slice(2) as [string, string];
const { target, idle } = JSON.parse(json) as { target: Target; idle: number };
const pinned = name === "pinned-fetch" ? await import("../../src/index.js") : undefined;
/** Bytes of WebAssembly memory the process's engine holds (it never shrinks). */
const engineMemory = async () =>
  pinned ? (await (await import("../../src/tls/engine.js")).loadEngine()).memoryBytes : undefined;
const client = pinned
  ? (await import("./pinned.js")).pinnedClient(target, "pool", pinned.createPinnedFetch)
  : await (await import("./native.js")).nativeClient(name, target, "pool");
const tag = `${benchRuntime}/memory/${name}`;
const path = pathOf("/bytes/1024", tag);

await client.get(path);
await sleep(200);
const before = { rss: process.memoryUsage().rss, engine: await engineMemory() };

const start = performance.now();
let openMs: number;
let outcomes: PromiseSettledResult<unknown>[];
if (client.fetch) {
  // Heads first, bodies after: no connection goes idle (and starts its idle timer) before all are open.
  const heads = await Promise.allSettled(Array.from({ length: idle }, () => client.fetch!(path)));
  openMs = performance.now() - start;
  outcomes = await Promise.allSettled(
    heads.map((head) => (head.status === "fulfilled" ? head.value.arrayBuffer() : Promise.reject(head.reason))),
  );
} else {
  outcomes = await Promise.allSettled(Array.from({ length: idle }, () => client.get(path)));
  openMs = performance.now() - start;
}
const errors: Record<string, number> = {};
let failed = 0;
for (const outcome of outcomes) {
  if (outcome.status === "fulfilled") continue;
  failed++;
  const message = String((outcome.reason as Error)?.message ?? outcome.reason).slice(0, 200);
  errors[message] = (errors[message] ?? 0) + 1;
}

await sleep(500);
const after = { rss: process.memoryUsage().rss, engine: await engineMemory() };
const open = (await serverStats(target)).tags[tag]?.open ?? 0;
const result: MemoryResult = {
  name,
  requests: idle,
  failed,
  errors,
  openMs,
  open,
  rss: { before: before.rss, after: after.rss },
  ...(pinned && { engine: { before: before.engine!, after: after.engine! } }),
};
console.log(JSON.stringify(result));
await client.close();
process.exit(0);
