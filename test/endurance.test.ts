// Soak and concurrency in Node, Deno and Bun: test/endurance/run.ts in each
// runtime against the servers of test/endurance/servers.ts, started here.
// The figures each run prints (outcomes, time per thousand requests, what
// the client held) are echoed for the record; nothing here is about speed.
import { spawn } from "node:child_process";

import { afterAll, beforeAll, expect, test } from "vitest";

import { type RunningServers, startEnduranceServers } from "./endurance/servers.js";
import { BUN, CHILD_ENV, DENO, ROOT, denoRun } from "./support/runtimes.js";

/** A run that takes longer has hung (10,000 requests take about 15 s on two cores). */
const RUN_TIMEOUT = 180_000;
const SCRIPT = "test/endurance/run.ts";
const COMMANDS: Record<string, [string, string[]]> = {
  node: [process.execPath, ["--import", "tsx", SCRIPT]],
  deno: [DENO, [...denoRun(["127.0.0.1", "localhost"], ROOT, "--unstable-sloppy-imports"), SCRIPT]],
  bun: [BUN, [SCRIPT]],
};

let servers: RunningServers;
beforeAll(async () => {
  servers = await startEnduranceServers();
});
afterAll(() => servers.close());

for (const [runtime, [binary, args]] of Object.entries(COMMANDS)) {
  test(
    `${runtime}: a 10,000-request soak and 200 requests in flight end cleanly and leave nothing behind`,
    async () => {
      const { code, output } = await run(binary, [...args, JSON.stringify(servers.target)]);
      console.log(`${runtime}:\n${output}`);
      expect(output).toMatch(/^9 passed, 0 failed$/m);
      expect(code).toBe(0);
    },
    RUN_TIMEOUT + 5_000,
  );
}

function run(binary: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(binary, args, { cwd: ROOT, env: CHILD_ENV, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (text: string) => (output += text));
    child.stderr.setEncoding("utf8").on("data", (text: string) => (output += text));
    const timer = setTimeout(() => child.kill("SIGKILL"), RUN_TIMEOUT);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}
