// Cold request latency in Node, Deno and Bun: a new TLS connection (full
// handshake, no resumption) plus a 1 KiB GET, pinned-fetch against each
// runtime's own pin-capable client, measured in the same run. The server is
// a separate Node process; everything stays on loopback.
//   npm run bench [-- --rounds 5 --requests 40]
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";

import { BUN, DENO, ROOT, denoRun } from "../../test/support/runtimes.js";

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

/** The first line `child` prints, parsed. */
function firstLine<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once("line", (line) => {
      lines.close();
      resolve(JSON.parse(line) as T);
    });
    child.once("exit", (code) => reject(new Error(`${child.spawnargs.join(" ")} exited with ${code}`)));
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
    const child = spawn(binary, clientArgs, { cwd: ROOT, env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "inherit"] });
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
