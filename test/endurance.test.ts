// Soak, concurrency and memory in Node, Deno and Bun: test/endurance/run.ts in
// each runtime against the servers of test/endurance/servers.ts, started
// here; and what keeps a process alive (test/endurance/lifetime.ts). The
// figures each run prints (outcomes, time per thousand requests, what the
// client held) are echoed for the record; nothing here is about speed.
import { spawn } from "node:child_process";

import { afterAll, beforeAll, expect, test } from "vitest";

import { LINGER, type RunningServers, startEnduranceServers } from "./endurance/servers.js";
import { BUN, CHILD_ENV, DENO, ROOT, denoRun } from "./support/runtimes.js";

/** A run that takes longer has hung (10,000 requests take about 15 s on two cores). */
const RUN_TIMEOUT = 180_000;
const COMMANDS: Record<string, [string, string[]]> = {
  node: [process.execPath, ["--import", "tsx"]],
  deno: [DENO, denoRun(["127.0.0.1", "localhost"], "--unstable-sloppy-imports")],
  bun: [BUN, []],
};
/**
 * The cases of lifetime.ts and the line each prints. Each must end by itself
 * well before the server would close its connection (LINGER), and the late
 * ones only after their answer came.
 */
const LIFETIME_CASES: Record<string, string> = {
  unread: "200",
  "unread-large": "200",
  idle: "4194304",
  "late-head": "late",
  "late-body": "late",
};
/** Far below LINGER, and far above what ending takes (about a second). */
const LIFETIME_BOUND = 20_000;

let servers: RunningServers;
beforeAll(async () => {
  servers = await startEnduranceServers();
});
afterAll(() => servers.close());

for (const [runtime, [binary, args]] of Object.entries(COMMANDS)) {
  test(
    `${runtime}: a 10,000-request soak, 200 requests in flight and 100 bodies streamed at once end cleanly and leave nothing behind`,
    async () => {
      const { code, output } = await run(
        binary,
        [...args, "test/endurance/run.ts", JSON.stringify(servers.target)],
        RUN_TIMEOUT,
      );
      console.log(`${runtime}:\n${output}`);
      expect(output).toMatch(/^15 passed, 0 failed$/m);
      expect(code).toBe(0);
    },
    RUN_TIMEOUT + 5_000,
  );
}

for (const [runtime, [binary, args]] of Object.entries(COMMANDS)) {
  test(
    `${runtime}: an unread response body and an idle pooled connection let the process end; a request waiting for its head or body keeps it`,
    async () => {
      const runs = [];
      // One at a time, so that a slow start under load does not eat into the bound.
      for (const name of Object.keys(LIFETIME_CASES)) {
        const start = performance.now();
        const { code, output } = await run(
          binary,
          [...args, "test/endurance/lifetime.ts", JSON.stringify(servers.target), name],
          LIFETIME_BOUND,
        );
        runs.push({ name, code, output: output.trim(), ms: Math.round(performance.now() - start) });
      }
      console.log(
        `${runtime} (the server keeps idle connections ${LINGER / 1000} s):`,
        runs.map(({ name, ms }) => `${name} ended after ${ms} ms`).join(", "),
      );
      expect(runs.map(({ name, code, output }) => ({ name, code, output }))).toEqual(
        Object.entries(LIFETIME_CASES).map(([name, line]) => ({ name, code: 0, output: line })),
      );
    },
    Object.keys(LIFETIME_CASES).length * LIFETIME_BOUND + 5_000,
  );
}

/** Runs a script to its end, or kills it after `timeout` ms (its code is then null). */
function run(binary: string, args: string[], timeout: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(binary, args, { cwd: ROOT, env: CHILD_ENV, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (text: string) => (output += text));
    child.stderr.setEncoding("utf8").on("data", (text: string) => (output += text));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeout);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}
