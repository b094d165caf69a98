// The conformance scenarios under Deno and Bun: starts the fixture here in
// Node, runs test/conformance/run.ts in each runtime against it, and ends
// with the totals as "N passed, M failed". Part of `npm test`. Group names
// as arguments run only those groups.
import { spawn } from "node:child_process";

import { BUN, CHILD_ENV, DENO, ROOT, denoRun } from "../support/runtimes.js";
import { fixtureOf } from "./description.js";
import { startFixture } from "./fixture.js";
import { selectGroups } from "./index.js";

const only = process.argv.slice(2);
const selected = selectGroups(only).flatMap((group) => group.scenarios);
const SCENARIOS = selected.length;

const fixture = await startFixture();
/** A whole run that takes longer has hung; it is stopped and counted as failed. Scenarios with a limit of their own add it. */
const described = fixtureOf(fixture.description, "node");
const RUN_TIMEOUT = selected.reduce((total, scenario) => total + (scenario.timeout?.(described) ?? 0), 300_000);
const { control, unresolvable } = fixture.description;
const runner = "test/conformance/run.ts";
// Deno runs the TypeScript sources as they are; `--unstable-sloppy-imports` lets their
// `.js` specifiers find the `.ts` files, as tsc and Bun do. The proxy scenarios set and
// read the proxy variables, and importing axios reads every variable (its dependency
// `debug` lists them all), so the whole environment is allowed.
const commands = {
  deno: [DENO, denoRun(["127.0.0.1", "localhost", "[::1]", unresolvable], "--allow-env", "--unstable-sloppy-imports", runner)],
  bun: [BUN, [runner]],
} as const;

let passed = 0;
let failed = 0;
for (const [runtime, [binary, args]] of Object.entries(commands)) {
  console.log(`\n${runtime}: ${SCENARIOS} conformance scenarios`);
  const result = await run(binary, [...args, control, runtime, ...only]);
  passed += result.passed;
  failed += result.failed;
}
await fixture.close();
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed === SCENARIOS * Object.keys(commands).length ? 0 : 1);

/** Runs one runtime, echoing its output; a run that dies or hangs counts its unreported scenarios as failed. */
function run(binary: string, args: string[]): Promise<{ passed: number; failed: number }> {
  return new Promise((resolve) => {
    const child = spawn(binary, args, { cwd: ROOT, env: CHILD_ENV, stdio: ["ignore", "pipe", "inherit"] });
    let output = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (text: string) => {
      output += text;
      process.stdout.write(text);
    });
    const timer = setTimeout(() => {
      console.log(`(stopped after ${RUN_TIMEOUT / 1000} s)`);
      child.kill("SIGKILL");
    }, RUN_TIMEOUT);
    child.on("close", () => {
      clearTimeout(timer);
      const passed = (output.match(/^ok {4}/gm) ?? []).length;
      resolve({ passed, failed: SCENARIOS - passed });
    });
  });
}
