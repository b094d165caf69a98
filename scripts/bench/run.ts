// Cold request latency in Node, Deno and Bun: a new TLS connection (full
// handshake, no resumption) plus a 1 KiB GET, pinned-fetch against each
// runtime's own pin-capable client, measured in the same run. The server is
// a separate Node process; everything stays on loopback.
//   npm run bench [-- --rounds 5 --requests 40]
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";

import { BUN, CHILD_ENV, DENO, ROOT, denoRun } from "../../test/support/runtimes.js";

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const at = args.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(args[at + 1]);
};
const rounds = option("rounds", 5);
const requests = option("requests", 40);

interface Result {
  runtime: string;
  version: string;
  native: string;
  samples: Record<string, number[]>;
}

/** A process that prints nothing for this long has hung. */
const SILENCE_LIMIT = 600_000;

/** The first line `child` prints, parsed; a child that exits or stays silent instead is an error (and is killed). */
function firstLine<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`${child.spawnargs[0]} printed nothing for ${SILENCE_LIMIT / 1000} s`));
    }, SILENCE_LIMIT);
    lines.once("line", (line) => {
      clearTimeout(timer);
      lines.close();
      resolve(JSON.parse(line) as T);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${child.spawnargs[0]} exited with ${code}`));
    });
  });
}

const server = spawn(process.execPath, ["--import", "tsx", "scripts/bench/server.ts"], { cwd: ROOT, stdio: ["pipe", "pipe", "inherit"] });
const target = await firstLine<{ port: number; ca: string; pins: string[] }>(server);
const setup = JSON.stringify({ ...target, rounds, requests });

const client = "scripts/bench/client.ts";
const commands: [string, string[]][] = [
  [process.execPath, ["--import", "tsx", client, setup]],
  [DENO, [...denoRun(["127.0.0.1", "localhost"], ROOT, "--unstable-sloppy-imports"), client, setup]],
  [BUN, [client, setup]],
];

const results: Result[] = [];
try {
  for (const [binary, clientArgs] of commands) {
    const child = spawn(binary, clientArgs, { cwd: ROOT, env: CHILD_ENV, stdio: ["ignore", "pipe", "inherit"] });
    results.push(await firstLine<Result>(child));
  }
} finally {
  server.stdin!.end();
}
const counters = await firstLine<{ connections: number; resumed: number; requests: number }>(server);

const sorted = (values: number[]) => [...values].sort((a, b) => a - b);
const median = (values: number[]) => sorted(values)[Math.floor(values.length / 2)]!;
const p99 = (values: number[]) => sorted(values)[Math.min(values.length - 1, Math.floor(values.length * 0.99))]!;
console.log(`Cold request (new connection + 1 KiB GET), ${rounds} rounds x ${requests} per contender, loopback, TLS 1.3:\n`);
console.log("| runtime | client | median ms | p99 ms | ratio to the native client |\n|---|---|---|---|---|");
for (const { runtime, version, native, samples } of results) {
  const baseline = median(samples[native]!);
  for (const [name, values] of Object.entries(samples)) {
    const ratio = (median(values) / baseline).toFixed(2);
    console.log(`| ${runtime} ${version} | ${name} | ${median(values).toFixed(2)} | ${p99(values).toFixed(2)} | ${ratio}x |`);
  }
}
console.log(`\nThe server saw ${counters.connections} TLS connections, ${counters.resumed} of them resumed.`);
