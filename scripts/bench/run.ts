// pinned-fetch against each runtime's own pin-capable clients, in Node 20
// (the Node that runs this), Node 24 (`node24`: the LTS binary of
// test/support/runtimes.ts's nodeLts()), Deno and Bun, in one run: cold
// requests (also with a client certificate, with pinned-fetch's postQuantum:
// false, and against a server that speaks the post-quantum hybrid),
// keep-alive requests, a bulk download, 64 requests in flight to one origin
// over at most 6 connections (concurrent), WebSocket echo and throughput, the
// first request of a fresh process, and memory with idle pooled connections.
// Every target is a ratio to the best of the runtime's pin-capable clients in
// that measure and run (common.ts's BASELINES). The servers are separate
// processes; each runtime runs client.ts (the cold measures, keep-alive,
// bulk, interleaved in rounds), concurrent.ts (its clients interleaved in
// rounds), websocket.ts (its measures interleaved in rounds), then first.ts
// in fresh processes and memory.ts in fresh processes. Everything stays on
// loopback. Prints Markdown tables; writes the raw figures as JSON.
//   npm run bench [-- --smoke] [--rounds 10] [--cold 50] [--keep-alive 1000]
//     [--bulk-mib 64] [--concurrent-ms 3000] [--in-flight 64] [--ws-echo 2000]
//     [--ws-mib 32] [--idle 1000] [--fresh 2] [--runtimes node,node24,deno,bun]
//     [--json bench-results.json]
// --smoke: tiny sizes (1 round, 3 requests and round trips, 1 MiB, 10 requests in flight for 200 ms,
// 20 idle connections, 1 fresh process), to show it all runs.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

import { BUN, CHILD_ENV, DENO, ROOT, denoRun, nodeLts } from "../../test/support/runtimes.js";
import type { ClientResult, Sizes } from "./client.js";
import { CONCURRENT_CONNECTIONS, type Target } from "./common.js";
import type { ConcurrentResult, ConcurrentSizes } from "./concurrent.js";
import type { MemoryResult } from "./memory.js";
import { recorded } from "./recorded.js";
import { type Engine, type RuntimeResult, report } from "./report.js";
import type { Counter, Stats } from "./server.js";
import type { WebSocketResult, WebSocketSizes } from "./websocket.js";

const args = process.argv.slice(2);
const smoke = args.includes("--smoke");
const option = (name: string, fallback: string) => {
  const at = args.indexOf(`--${name}`);
  return at === -1 ? fallback : args[at + 1]!;
};
const count = (name: string, normal: number, tiny: number) => {
  const value = Number(option(name, String(smoke ? tiny : normal)));
  if (!Number.isInteger(value) || value < 1 || value > 100_000)
    throw new Error(`--${name} takes a whole number from 1 to 100000`);
  return value;
};
const sizes: Sizes = {
  rounds: count("rounds", 10, 1),
  cold: count("cold", 50, 3),
  keepAlive: count("keep-alive", 1000, 3),
  bulk: count("bulk-mib", 64, 1) * 1024 * 1024,
};
const webSocketSizes: WebSocketSizes = {
  rounds: sizes.rounds,
  echo: count("ws-echo", 2000, 3),
  bytes: count("ws-mib", 32, 1) * 1024 * 1024,
};
const concurrentSizes: ConcurrentSizes = {
  rounds: sizes.rounds,
  ms: count("concurrent-ms", 3000, 200),
  inFlight: count("in-flight", 64, 10),
};
const idle = count("idle", 1000, 20);
const fresh = count("fresh", 2, 1);
const jsonFile = option("json", "bench-results.json");
const RUNTIMES = ["node", "node24", "deno", "bun"];
const runtimes = option("runtimes", RUNTIMES.join(",")).split(",");
for (const runtime of runtimes)
  if (!RUNTIMES.includes(runtime)) throw new Error(`unknown runtime ${runtime} (--runtimes takes ${RUNTIMES})`);
/** Node 24's binary, fetched into npm's cache on first use. */
const node24 = runtimes.includes("node24") ? nodeLts() : undefined;

/** The 1-minute load average: other work on the machine moves every figure. */
const load = () => loadavg()[0]!.toFixed(1);
const loadAtStart = load();

/** A process that prints nothing for this long has hung. */
const SILENCE_LIMIT = 300_000;
const children = new Set<ChildProcess>();
/** Files the run's processes read (the bench CA, for the runtimes' own WebSocket). */
const scratch = mkdtempSync(join(tmpdir(), "pinned-fetch-bench-"));
// However the run ends, no process it started outlives it, nor its files.
process.on("exit", () => {
  for (const child of children) child.kill("SIGKILL");
  rmSync(scratch, { recursive: true, force: true });
});
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(1));

function start(
  binary: string,
  childArgs: string[],
  env: NodeJS.ProcessEnv = CHILD_ENV,
  stdin: "pipe" | "ignore" = "ignore",
): ChildProcess {
  const child = spawn(binary, childArgs, { cwd: ROOT, env, stdio: [stdin, "pipe", "inherit"] });
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

/** The bench script `child` runs, with its binary: its arguments (the target, client keys among it) are left out. */
function described(child: ChildProcess): string {
  return `${child.spawnfile} ${child.spawnargs.find((arg) => arg.startsWith("scripts/bench/")) ?? ""}`.trimEnd();
}

/** The next line `child` prints, parsed; a child that exits or stays silent instead is an error (and is killed). */
function nextLine<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const finish = () => {
      clearTimeout(timer);
      lines.close();
      child.off("exit", onExit);
    };
    const timer = setTimeout(() => {
      finish();
      child.kill("SIGKILL");
      reject(new Error(`${described(child)} printed nothing for ${SILENCE_LIMIT / 1000} s`));
    }, SILENCE_LIMIT);
    const onExit = (code: number | null) => {
      finish();
      reject(new Error(`${described(child)} exited with ${code} before printing its result`));
    };
    lines.once("line", (line) => {
      finish();
      resolve(JSON.parse(line) as T);
    });
    child.once("exit", onExit);
  });
}

/** Flags for the runtime itself, per runtime (node: both Nodes), before the script. */
type RuntimeFlags = { node?: string[]; node24?: string[]; deno?: string[] };

/** How `runtime` runs one of the bench's scripts, and the environment it runs in (`env` and the bench's name for it). */
function command(
  runtime: string,
  script: string,
  scriptArgs: string[],
  flags: RuntimeFlags = {},
  env: NodeJS.ProcessEnv = CHILD_ENV,
): [string, string[], NodeJS.ProcessEnv] {
  const path = `scripts/bench/${script}`;
  if (runtime === "node" || runtime === "node24") {
    const binary = runtime === "node" ? process.execPath : node24!;
    const nodeFlags = flags[runtime] ?? flags.node ?? [];
    return [binary, [...nodeFlags, "--import", "tsx", path, ...scriptArgs], { ...env, PF_BENCH_RUNTIME: runtime }];
  }
  if (runtime === "deno") {
    const denoArgs = denoRun(["127.0.0.1", "localhost"], "--unstable-sloppy-imports", ...(flags.deno ?? []));
    return [DENO, [...denoArgs, path, ...scriptArgs], env];
  }
  return [BUN, [path, ...scriptArgs], env];
}

async function run<T>(
  runtime: string,
  script: string,
  scriptArgs: string[],
  flags?: RuntimeFlags,
  env?: NodeJS.ProcessEnv,
): Promise<T> {
  const child = start(...command(runtime, script, scriptArgs, flags, env));
  const result = await nextLine<T>(child);
  child.kill();
  return result;
}

/** Milliseconds from spawning first.ts to its line. */
async function firstRequest(runtime: string, name: string, target: Target): Promise<number> {
  const began = performance.now();
  const scriptArgs = [name, JSON.stringify(target)];
  const [binary, args, env] = command(runtime, "first.ts", scriptArgs);
  // Node imports the package before tsx's hooks exist: first.mjs says why.
  const node = runtime === "node" || runtime === "node24";
  const child = start(binary, node ? ["scripts/bench/first.mjs", ...scriptArgs] : args, env);
  await nextLine(child);
  const elapsed = performance.now() - began;
  child.kill();
  return elapsed;
}

async function stats(target: Target): Promise<Stats> {
  const response = await fetch(`http://127.0.0.1:${target.statsPort}/stats`, { signal: AbortSignal.timeout(10_000) });
  return (await response.json()) as Stats;
}

// first.ts loads the built package: build it from the sources measured.
execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"], {
  cwd: ROOT,
  stdio: "inherit",
  timeout: 120_000,
});
const server = start(process.execPath, ["--import", "tsx", "scripts/bench/server.ts"], CHILD_ENV, "pipe");
const target = await nextLine<Target>(server);
// The runtime's own WebSocket takes no CA in Node and Deno: their processes trust the bench's by flag and
// environment (Bun's takes it as an option). Node 20 has a global WebSocket only with --experimental-websocket.
const caFile = join(scratch, "ca.pem");
writeFileSync(caFile, target.ca);
const webSocketFlags: RuntimeFlags = {
  node: typeof globalThis.WebSocket === "function" ? [] : ["--experimental-websocket"],
  node24: [],
  deno: ["--cert", caFile],
};
const webSocketEnv = { ...CHILD_ENV, NODE_EXTRA_CA_CERTS: caFile };
// Bun's fetch has no per-origin connection limit; this bounds its requests in flight, so its connections, to 6.
const concurrentEnv = { ...CHILD_ENV, BUN_CONFIG_MAX_HTTP_REQUESTS: String(CONCURRENT_CONNECTIONS) };
const results: RuntimeResult[] = [];
for (const runtime of runtimes) {
  process.stderr.write(`bench: ${runtime}: cold (with a client certificate, post-quantum), keep-alive, bulk...\n`);
  const measured = await run<ClientResult>(runtime, "client.ts", [JSON.stringify({ target, sizes })]);
  process.stderr.write(`bench: ${runtime}: concurrent, h2 and HTTP/1.1...\n`);
  const concurrent = await run<ConcurrentResult>(
    runtime,
    "concurrent.ts",
    [JSON.stringify({ target, sizes: concurrentSizes })],
    {},
    concurrentEnv,
  );
  process.stderr.write(`bench: ${runtime}: WebSocket echo, receive, send...\n`);
  const webSocket = await run<WebSocketResult>(
    runtime,
    "websocket.ts",
    [JSON.stringify({ target, sizes: webSocketSizes })],
    webSocketFlags,
    webSocketEnv,
  );
  process.stderr.write(`bench: ${runtime}: first request in fresh processes...\n`);
  const first: Record<string, number[]> = Object.fromEntries(
    ["pinned-fetch", ...measured.baselines, "none"].map((name) => [name, []]),
  );
  for (let round = 0; round < sizes.rounds; round++) {
    const order = round % 2 === 0 ? Object.keys(first) : Object.keys(first).reverse();
    for (let i = 0; i < fresh; i++)
      for (const name of order) first[name]!.push(await firstRequest(runtime, name, target));
  }
  process.stderr.write(`bench: ${runtime}: memory with ${idle} idle connections...\n`);
  const memory: Record<string, MemoryResult> = {};
  for (const name of ["pinned-fetch", ...measured.baselines])
    memory[name] = await run<MemoryResult>(runtime, "memory.ts", [name, JSON.stringify({ target, idle })]);
  const server: Record<string, Counter> = {};
  for (const [tag, counter] of Object.entries((await stats(target)).tags)) {
    if (tag.startsWith(`${runtime}/`)) server[tag.slice(runtime.length + 1)] = counter;
  }
  results.push({ ...measured, concurrent, webSocket, first, memory, server });
}
server.stdin!.end();
const totals = await nextLine<Stats>(server);

const manifest = JSON.parse(
  readFileSync(new URL("../../wasm/pinned_fetch.manifest.json", import.meta.url), "utf8"),
) as Engine;
const engine: Engine = { sha256: manifest.sha256, bytes: manifest.bytes, gzipBytes: manifest.gzipBytes };
const machine = { cpus: cpus().length, model: cpus()[0]?.model ?? "unknown" };
const title =
  `pinned-fetch benchmark, ${new Date().toISOString().slice(0, 10)}: ${sizes.rounds} round(s); cold ${sizes.cold} and keep-alive ` +
  `${sizes.keepAlive} requests per client and round; bulk ${sizes.bulk / 1024 / 1024} MiB; concurrent ` +
  `${concurrentSizes.inFlight} requests in flight over at most ${CONCURRENT_CONNECTIONS} connections for ${concurrentSizes.ms / 1000} s per client and round; WebSocket ` +
  `${webSocketSizes.echo} round trips and ${webSocketSizes.bytes / 1024 / 1024} MiB each way; ${fresh} fresh process(es) per client and round; ` +
  `${idle} idle connections; loopback, TLS 1.3, ECDSA P-256 server certificates, RSA 2048 and ECDSA P-256 client certificates; ` +
  `${machine.cpus} CPUs (${machine.model}); load average ${loadAtStart} at the start, ${load()} at the end.`;
const baseline = recorded(new URL("../../BENCHMARKS.md", import.meta.url));
console.log(`${title}\n\n${report(results, engine, target.hybrid.groups, baseline)}\n`);
console.log(`The Node listeners completed ${totals.handshakes} TLS handshakes, ${totals.resumed} of them resumed.`);
const git = (...gitArgs: string[]) => {
  try {
    return execFileSync("git", gitArgs, {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 10_000,
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  } catch {
    return "unknown";
  }
};
/** The commit measured, and the files that differed from it (uncommitted work is measured too). */
const source = { commit: git("rev-parse", "HEAD"), changed: git("status", "--porcelain").split("\n").filter(Boolean) };
writeFileSync(
  jsonFile,
  `${JSON.stringify({ date: new Date().toISOString(), args, sizes, concurrentSizes, webSocketSizes, idle, fresh, machine, source, engine, totals, results }, null, 1)}\n`,
);
console.log(`Raw figures: ${jsonFile}`);
process.exit(0);
