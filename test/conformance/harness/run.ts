// Runs every conformance scenario in the runtime that runs this file — Node's
// LTS line, Deno and Bun, started by cross-runtime.ts — against a fixture
// that Node serves:
//   <runtime> test/conformance/harness/run.ts <control URL> <expected runtime name> [group...]
// One line per scenario, then "N passed, M failed"; exit status 1 on failure.
import type { RuntimeName } from "../../../src/index.js";
import { type FixtureDescription, fixtureOf } from "./description.js";
import { selectGroups } from "../index.js";

/** A scenario that takes longer (than its own limit, if it has one) has hung. */
const SCENARIO_TIMEOUT = 30_000;

const [control, runtime, ...only] = process.argv.slice(2);
if (!control || !runtime) throw new Error("usage: run.ts <control URL> <runtime name>");
const description = (await (await fetch(`${control}/description`)).json()) as FixtureDescription;
const fixture = fixtureOf(description, runtime as RuntimeName);

let passed = 0;
let failed = 0;
for (const group of selectGroups(only)) {
  for (const scenario of group.scenarios) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const limit = scenario.timeout?.(fixture) ?? SCENARIO_TIMEOUT;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no outcome within ${limit / 1000} s`)), limit);
    });
    try {
      await Promise.race([scenario.run(fixture), timeout]);
      passed++;
      console.log(`ok    ${group.name} › ${scenario.name}`);
    } catch (error) {
      failed++;
      console.log(
        `FAIL  ${group.name} › ${scenario.name}\n${String((error as Error)?.stack ?? error).replace(/^/gm, "      ")}`,
      );
    } finally {
      clearTimeout(timer);
    }
  }
}
console.log(`${passed} passed, ${failed} failed`);
// Exit even if a failed scenario left a socket open.
process.exit(failed === 0 ? 0 : 1);
