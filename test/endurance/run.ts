// The soak, concurrency and memory runs of one runtime, against the servers
// of servers.ts, which endurance.test.ts starts in Node:
//   <runtime> test/endurance/run.ts '<EnduranceTarget JSON>' [soak requests]
// Prints a line per check ("ok    ..." or "FAIL  ..."), a JSON line of
// figures, then "N passed, M failed"; exits 1 on a failure.
import { createPinnedFetch, PinnedFetchError, type PinnedFetch } from "../../src/index.js";
import { loadEngine } from "../../src/tls/engine.js";
import type { EnduranceTarget } from "./servers.js";

const target = JSON.parse(process.argv[2]!) as EnduranceTarget;
const SOAK_REQUESTS = Number(process.argv[3] ?? 10_000);
/** Requests the soak keeps in flight at once. */
const SOAK_PARALLEL = 20;
/** Requests in flight at once in the concurrency run, and the connections allowed per origin. */
const IN_FLIGHT = 200;
const PER_ORIGIN = 5;
/** The memory run: bodies streamed at once through one instance, as a proxy would, and the size of each. */
const STREAMS = 100;
const STREAM_BYTES = 2 * 1024 * 1024;
/**
 * What the engine may hold per connection: while a body streams through it
 * (a 64 KiB read, its plaintext and a part record, in buffers that grow by
 * doubling), and once it is idle (what a new connection holds, about 14 KiB).
 */
const STREAMING_BYTES = 320 * 1024;
const IDLE_BYTES = 16 * 1024;
/** The engine's memory is the allocator's high-water mark, in 64 KiB pages, with some fragmentation. */
const WASM_GROWTH = 448 * 1024;
/**
 * How much the process may grow while the bodies stream: a wide margin. Bun
 * collects late; it grows by about 1.5 times the bytes streamed (Node and
 * Deno by half of them).
 */
const RSS_GROWTH = 512 * 1024 * 1024;
/** Codes a request that a server reset may end with (the reset can land in any stage). */
const RESET_CODES = new Set(["ERR_CONNECT", "ERR_TLS", "ERR_HTTP"]);

/** pinned-fetch's timers pending now: setTimeout is counted, so that one left behind by any request shows. */
const pendingTimers = new Set<unknown>();
const { setTimeout: realSetTimeout, clearTimeout: realClearTimeout } = globalThis;
globalThis.setTimeout = ((handler: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
  const timer = realSetTimeout(
    (...handlerArgs: unknown[]) => {
      pendingTimers.delete(timer);
      handler(...handlerArgs);
    },
    ms,
    ...args,
  );
  // Only pinned-fetch's own: the runtime's fetch, which the control calls use, keeps timers of its own.
  if (/[/\\]src[/\\]/.test(new Error().stack ?? "")) pendingTimers.add(timer);
  return timer;
}) as typeof setTimeout;
globalThis.clearTimeout = ((timer: Parameters<typeof clearTimeout>[0]) => {
  pendingTimers.delete(timer);
  realClearTimeout(timer);
}) as typeof clearTimeout;

/** One signal given to every request of the soak: a listener left on it by any request shows. */
const shared = new AbortController();
let sharedListeners = 0;
const { addEventListener: add, removeEventListener: remove } = shared.signal;
shared.signal.addEventListener = function (...args: Parameters<AbortSignal["addEventListener"]>) {
  sharedListeners++;
  return add.apply(this, args);
};
shared.signal.removeEventListener = function (...args: Parameters<AbortSignal["removeEventListener"]>) {
  sharedListeners--;
  return remove.apply(this, args);
};

const engine = await loadEngine();
const url = (port: number, path: string) => `https://localhost:${port}${path}`;
const create = (connections?: number, http2?: boolean) =>
  createPinnedFetch({
    ca: target.ca,
    pins: { localhost: target.pins },
    resolve: { localhost: "127.0.0.1" },
    connections,
    http2,
  });

let passed = 0;
let failed = 0;
function check(name: string, holds: boolean, detail: unknown): void {
  if (holds) passed++;
  else failed++;
  console.log(`${holds ? "ok   " : "FAIL "} ${name}${holds ? "" : `\n      ${JSON.stringify(detail)}`}`);
}

/** The origins' open TCP connections (and the most at once since the last reset), as the servers see them. */
async function connections(reset = false): Promise<Record<string, { open: number; most: number }>> {
  const response = await fetch(target.control, { method: reset ? "POST" : "GET", signal: AbortSignal.timeout(5_000) });
  return (await response.json()) as Record<string, { open: number; most: number }>;
}

/** Waits (at most about 5 s) until the servers see none of our connections open. */
async function allClosed(): Promise<boolean> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (Object.values(await connections()).every(({ open }) => open === 0)) return true;
    await new Promise((resolve) => realSetTimeout(resolve, 50));
  }
  return false;
}

/**
 * Waits, at most 2 s, for pinned-fetch's timers to end: the one timer behind its long timeouts stops at its first
 * tick (every 500 ms) with nothing to wait for. A timeout left behind by any request keeps it going.
 */
async function timersSettled(): Promise<void> {
  for (let waited = 0; pendingTimers.size > 0 && waited < 2_000; waited += 50) {
    await new Promise((resolve) => realSetTimeout(resolve, 50));
  }
}

/** Something the client holds, read at a moment of the soak. */
function holdings() {
  return { ...engine.inUse, memoryBytes: engine.memoryBytes, timers: pendingTimers.size, listeners: sharedListeners };
}

const [good, , , resetting] = target.origins as [number, number, number, number];

/** The soak's request `index`: mostly successes, with pin failures, aborts, resets and abandoned bodies mixed in. */
async function soakRequest(pinned: PinnedFetch, index: number): Promise<string> {
  const origin = target.origins[index % 3]!;
  const id = String(index);
  switch (index % 20) {
    case 14:
    case 15: {
      const error = await pinned(url(target.wrongKey, "/id")).catch((reason: unknown) => reason);
      return error instanceof PinnedFetchError && error.code === "ERR_PIN_MISMATCH"
        ? "pin failure"
        : `unexpected: ${String(error)}`;
    }
    case 16: {
      const abort = new AbortController();
      const pending = pinned(url(origin, "/stall"), { signal: abort.signal });
      realSetTimeout(() => abort.abort(new Error("soak abort")), 5);
      const error = await pending.catch((reason: unknown) => reason);
      return (error as Error)?.message === "soak abort" ? "abort" : `unexpected: ${String(error)}`;
    }
    case 17: {
      const error = await pinned(url(resetting, "/reset")).catch((reason: unknown) => reason);
      return error instanceof PinnedFetchError && RESET_CODES.has(error.code)
        ? "reset"
        : `unexpected: ${String(error)}`;
    }
    case 18: {
      const response = await pinned(url(origin, "/id"), {
        method: "POST",
        body: `body ${id}`,
        headers: { "x-id": id },
        signal: shared.signal,
      });
      const echo = (await response.json()) as { id: string; body: string };
      return echo.id === id && echo.body === `body ${id}` ? "success" : `wrong answer: ${JSON.stringify(echo)}`;
    }
    case 19: {
      const response = await pinned(url(origin, "/id"), { headers: { "x-id": id }, signal: shared.signal });
      await response.body!.cancel();
      return "abandoned body";
    }
    default: {
      const response = await pinned(url(origin, "/id"), { headers: { "x-id": id }, signal: shared.signal });
      const echo = (await response.json()) as { id: string };
      return echo.id === id ? "success" : `wrong answer: ${JSON.stringify(echo)}`;
    }
  }
}

/** The soak's connections per origin, and the tickets the engine's cache keeps per server name. */
const POOL_LIMIT = 4;
const TICKETS_KEPT = 8;

/**
 * Rounds of a thousand requests on one instance, each round ended by
 * fetch.close(). The first round is the baseline: it creates the instance's
 * trust config and its TLS session cache, which live as long as the
 * instance. After every later round's close() the engine must hold exactly
 * what it held after the first. The cache keeps at most 8 tickets for a
 * server name (each with the server's certificates); a connection takes one
 * and, if it succeeds, gets two. So that aborts and resets do not leave it
 * less full at random (a connection abandoned as its handshake ends gets
 * none: its Finished never leaves), each round ends with twelve requests
 * in turn that close their connections: the first up to four may find one
 * of the origin's pooled connections, the eight after that are new and
 * fill it. The servers speak HTTP/1.1, and the soak offers only that:
 * offering h2 too, each round's first requests to an origin would wait for
 * its first connection to show which protocol it speaks, and that order of
 * handshakes leaves the cache less full at some rounds' end than at others'
 * (in steps of 1,184 bytes), though never more full.
 */
async function soak(): Promise<Record<string, unknown>> {
  const pinned = create(POOL_LIMIT, false);
  const outcomes: Record<string, number> = {};
  const perThousandMs: number[] = [];
  const peaks: ReturnType<typeof holdings>[] = [];
  const closes: ReturnType<typeof holdings>[] = [];
  const rounds = Math.ceil(SOAK_REQUESTS / 1000);
  for (let round = 0; round < rounds; round++) {
    const start = performance.now();
    const end = Math.min(SOAK_REQUESTS, (round + 1) * 1000);
    let next = round * 1000;
    const worker = async () => {
      while (next < end) {
        const outcome = await soakRequest(pinned, next++).catch((error: unknown) => `unexpected: ${String(error)}`);
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      }
    };
    await Promise.all(Array.from({ length: SOAK_PARALLEL }, worker));
    perThousandMs.push(Math.round(performance.now() - start));
    peaks.push(holdings());
    for (let fill = 0; fill < POOL_LIMIT + TICKETS_KEPT; fill++)
      await (await pinned(url(good, "/id"), { headers: { connection: "close" } })).text();
    await pinned.close();
    await timersSettled();
    closes.push(holdings());
  }
  const [baseline, ...later] = closes as [ReturnType<typeof holdings>, ...ReturnType<typeof holdings>[]];
  const unexpected = Object.keys(outcomes).filter(
    (outcome) => outcome.startsWith("unexpected") || outcome.startsWith("wrong"),
  );
  check(`soak: ${SOAK_REQUESTS} requests, each ended as it should`, unexpected.length === 0, outcomes);
  check(
    "soak: after each fetch.close() the engine holds no session, no record key and no X25519 key",
    closes.every((held) => held.sessions === 0 && held.recordKeys === 0 && held.x25519Keys === 0),
    closes,
  );
  check(
    "soak: after each fetch.close() the engine's allocated memory is back at the first round's",
    later.every((held) => held.allocatedBytes === baseline.allocatedBytes),
    closes.map((held) => held.allocatedBytes),
  );
  check(
    "soak: within 2 s of each fetch.close() no timer and no listener of any request remains",
    closes.every((held) => held.timers === 0 && held.listeners === 0),
    closes,
  );
  check("soak: after fetch.close() the servers see every connection closed", await allClosed(), await connections());
  check(
    "soak: sessions held never exceed the pool's limit (4 per origin, 3 origins) and the handshakes in flight",
    peaks.every((held) => held.sessions <= 3 * POOL_LIMIT + SOAK_PARALLEL),
    peaks.map((held) => held.sessions),
  );
  return {
    requests: SOAK_REQUESTS,
    outcomes,
    perThousandMs,
    allocatedBytesAfterClose: closes.map((held) => held.allocatedBytes),
    memoryBytes: engine.memoryBytes,
  };
}

async function concurrency(): Promise<Record<string, unknown>> {
  const pinned = create(PER_ORIGIN);
  await connections(true);
  const started = performance.now();
  // Every fourth request goes to the resetting origin, a third of those to /reset.
  const requests = Array.from({ length: IN_FLIGHT }, (_, index) => {
    const origin = target.origins[index % 4]!;
    const path = origin === resetting && index % 3 === 0 ? "/reset" : "/id";
    const id = `c${index}`;
    return {
      origin,
      path,
      id,
      outcome: pinned(url(origin, path), { headers: { "x-id": id } }).then(
        (response) => response.json() as Promise<{ id: string }>,
      ),
    };
  });
  const settled = await Promise.allSettled(requests.map(({ outcome }) => outcome));
  const wrong = settled.flatMap((result, index) => {
    const { origin, path, id } = requests[index]!;
    if (result.status === "fulfilled") return result.value.id === id ? [] : [`${id} got ${result.value.id}`];
    const error = result.reason as PinnedFetchError;
    const excused = origin === resetting && error instanceof PinnedFetchError && RESET_CODES.has(error.code);
    return excused
      ? []
      : [
          `${id} (${path} on ${origin === resetting ? "the resetting origin" : "a sound origin"}) failed: ${String(error)}`,
        ];
  });
  const seen = await connections();
  const mostPerOrigin = target.origins.map((origin) => seen[origin]!.most);
  await pinned.close();
  check(
    `concurrency: ${IN_FLIGHT} requests in flight to 4 origins all settled, each with its own answer or (resetting origin) a clean error`,
    wrong.length === 0,
    wrong.slice(0, 5),
  );
  check(
    `concurrency: no origin had more than ${PER_ORIGIN} connections at once`,
    mostPerOrigin.every((most) => most <= PER_ORIGIN),
    mostPerOrigin,
  );
  check(
    "concurrency: after fetch.close() the servers see every connection closed",
    await allClosed(),
    await connections(),
  );
  const fulfilled = settled.filter((result) => result.status === "fulfilled").length;
  return {
    inFlight: IN_FLIGHT,
    fulfilled,
    rejected: IN_FLIGHT - fulfilled,
    mostPerOrigin,
    ms: Math.round(performance.now() - started),
  };
}

/** Reads a body to its end, noting what the engine holds after each piece; returns its length. */
async function drain(response: Response, note: () => void = () => {}): Promise<number> {
  const reader = response.body!.getReader();
  let length = 0;
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    length += read.value.length;
    note();
  }
  return length;
}

/**
 * A proxy's load: STREAMS bodies of STREAM_BYTES streamed at once through one
 * instance, each handed on as a proxy hands it on (in a new Response), then
 * the connections idle in the pool. Bun reads 512 KiB from a socket at once,
 * which the engine once took whole, and kept room for.
 */
async function memory(): Promise<Record<string, unknown>> {
  const pinned = create();
  // An origin that keeps its connections: others close them 5 s after a body was sent, which may be before it was read.
  const origin = target.lingering;
  await (await pinned(url(origin, "/id"))).text();
  const afterSmall = engine.inUse.allocatedBytes;
  const large = await drain(await pinned(url(origin, `/bytes?size=${STREAM_BYTES}`)));
  const afterLarge = engine.inUse.allocatedBytes;
  check(
    "memory: an idle connection holds as much after a 2 MiB body as after a small one",
    large === STREAM_BYTES && afterLarge <= afterSmall + 1024,
    { large, afterSmall, afterLarge },
  );
  await pinned.close();

  const before = { ...engine.inUse, memoryBytes: engine.memoryBytes, rss: process.memoryUsage().rss };
  let most = 0;
  let rss = before.rss;
  const note = () => {
    most = Math.max(most, engine.inUse.allocatedBytes);
    rss = Math.max(rss, process.memoryUsage().rss);
  };
  const started = performance.now();
  const lengths = await Promise.all(
    Array.from({ length: STREAMS }, async () => {
      const upstream = await pinned(url(origin, `/bytes?size=${STREAM_BYTES}`));
      return drain(new Response(upstream.body, upstream), note);
    }),
  );
  const ms = Math.round(performance.now() - started);
  const idle = { ...engine.inUse, memoryBytes: engine.memoryBytes };
  check(
    `memory: ${STREAMS} bodies of ${STREAM_BYTES / 1024 / 1024} MiB streamed at once arrived whole`,
    lengths.every((length) => length === STREAM_BYTES),
    lengths.filter((length) => length !== STREAM_BYTES),
  );
  check(
    `memory: while they streamed, the engine held at most ${STREAMING_BYTES / 1024} KiB per connection`,
    most - before.allocatedBytes <= STREAMS * STREAMING_BYTES,
    { before: before.allocatedBytes, most },
  );
  check(
    `memory: the engine's WebAssembly memory grew by at most ${WASM_GROWTH / 1024} KiB per connection`,
    idle.memoryBytes - before.memoryBytes <= STREAMS * WASM_GROWTH,
    { before: before.memoryBytes, after: idle.memoryBytes },
  );
  // Those that finished first may have been closed after their idle timeout (4 s) already; the last one is idle.
  check(
    `memory: idle in the pool, each connection holds at most ${IDLE_BYTES / 1024} KiB in the engine`,
    idle.sessions > 0 && idle.allocatedBytes - before.allocatedBytes <= idle.sessions * IDLE_BYTES,
    { before, idle },
  );
  check(
    `memory: the process grew by less than ${RSS_GROWTH / 1024 / 1024} MiB meanwhile`,
    rss - before.rss < RSS_GROWTH,
    { before: before.rss, most: rss },
  );
  await pinned.close();
  const mb = (bytes: number) => Math.round(bytes / 1e5) / 10;
  return {
    streams: STREAMS,
    ms,
    engineMostMB: mb(most),
    engineIdleMB: mb(idle.allocatedBytes),
    idleConnections: idle.sessions,
    wasmMemoryMB: mb(idle.memoryBytes),
    rssBeforeMB: mb(before.rss),
    rssMostMB: mb(rss),
  };
}

// A warm-up request, so that the soak's baseline has the engine loaded and a session's worth of memory.
const warm = create();
await (await warm(url(good, "/id"))).text();
await warm.close();

const figures = { soak: await soak(), concurrency: await concurrency(), memory: await memory() };
console.log(JSON.stringify(figures));
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
