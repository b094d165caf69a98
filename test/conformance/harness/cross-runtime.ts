// The conformance scenarios outside vitest: starts the fixture here in Node,
// then runs test/conformance/harness/run.ts against it in Node's LTS line, in Deno
// and in Bun, one after the other. Part of `npm test` (test/all.ts). Run
// alone, it ends with each runtime's total; group names as arguments run only
// those groups:
//   npx tsx test/conformance/harness/cross-runtime.ts [group...]
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

import type { RuntimeName } from "../../../src/index.js";
import { BUN, CHILD_ENV, DENO, ROOT, denoRun, nodeLts, versionOf } from "../../support/runtimes.js";
import { type Tally, printTotals } from "../../support/tally.js";
import { fixtureOf } from "./description.js";
import { startFixture } from "./fixture.js";
import { selectGroups } from "../index.js";

const RUNNER = "test/conformance/harness/run.ts";
// Deno runs the TypeScript sources as they are; `--unstable-sloppy-imports` lets their
// `.js` specifiers find the `.ts` files, as tsc and Bun do. The proxy scenarios set and
// read the proxy variables, and importing axios reads every variable (its dependency
// `debug` lists them all), so the whole environment is allowed.

/** Runs the scenarios of the groups named (all when none are) in each runtime, echoing their output. */
export async function runConformance(only: readonly string[]): Promise<Tally[]> {
  const selected = selectGroups(only).flatMap((group) => group.scenarios);
  const fixture = await startFixture();
  // A whole run that takes longer has hung; it is stopped. Scenarios with a limit of their own add it.
  const described = fixtureOf(fixture.description, "node");
  const limit = selected.reduce((total, scenario) => total + (scenario.timeout?.(described) ?? 0), 300_000);
  const { control, unresolvable } = fixture.description;
  const hosts = ["127.0.0.1", "localhost", "[::1]", unresolvable];
  // Each binary is looked for when its turn comes: Node's LTS binary may have to be fetched first.
  const runtimes: [string, RuntimeName, () => [string, string[]]][] = [
    ["Node", "node", () => [nodeLts(), ["--import", "tsx", RUNNER]]],
    ["Deno", "deno", () => [DENO, denoRun(hosts, "--allow-env", "--unstable-sloppy-imports", RUNNER)]],
    ["Bun", "bun", () => [BUN, [RUNNER]]],
  ];
  const tallies: Tally[] = [];
  try {
    for (const [name, runtime, command] of runtimes) {
      let binary: string;
      let args: string[];
      let label: string;
      try {
        [binary, args] = command();
        label = `${name} ${versionOf(binary)}`;
      } catch (error) {
        const reason = String((error as Error)?.message ?? error).split("\n")[0];
        tallies.push({
          label: name,
          passed: 0,
          failed: 0,
          notRun: selected.length,
          problems: [`not started: ${reason}`],
        });
        continue;
      }
      console.log(`\n${label}: ${selected.length} conformance scenarios`);
      const run = await runScenarios(binary, [...args, control, runtime, ...only], limit);
      const notRun = selected.length - run.passed - run.failed;
      tallies.push({
        label,
        passed: run.passed,
        failed: run.failed,
        notRun,
        problems: run.problem ? [run.problem] : [],
      });
    }
  } finally {
    await fixture.close();
  }
  return tallies;
}

interface Run {
  passed: number;
  failed: number;
  /** A run that had to be stopped or exited with a failure that no scenario reported. */
  problem?: string;
}

/** Runs one runtime, echoing its output and counting run.ts's "ok" and "FAIL" lines. */
function runScenarios(binary: string, args: string[], limit: number): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(binary, args, { cwd: ROOT, env: CHILD_ENV, stdio: ["ignore", "pipe", "inherit"] });
    let output = "";
    let stopped = false;
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (text: string) => {
      output += text;
      process.stdout.write(text);
    });
    const timer = setTimeout(() => {
      console.log(`(stopped after ${limit / 1000} s)`);
      stopped = true;
      child.kill("SIGKILL");
    }, limit);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const passed = (output.match(/^ok {4}/gm) ?? []).length;
      const failed = (output.match(/^FAIL {2}/gm) ?? []).length;
      const problem = stopped
        ? `stopped after ${limit / 1000} s`
        : code !== 0 && failed === 0
          ? `exited with ${signal ?? `code ${code}`}`
          : undefined;
      resolve({ passed, failed, ...(problem && { problem }) });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const tallies = await runConformance(process.argv.slice(2));
  process.exit(printTotals(tallies) ? 0 : 1);
}
