// `npm test`, after the type check: every vitest test file in the Node that
// runs this, then the conformance scenarios in Node's LTS line, Deno and Bun
// (cross-runtime.ts). Ends with each runtime's total and the overall one, and
// exits 1 unless every test ran and passed.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

import { runConformance } from "./conformance/harness/cross-runtime.js";
import { ROOT } from "./support/runtimes.js";
import { type Tally, printTotals } from "./support/tally.js";

/** What vitest's JSON reporter writes that is counted here. */
interface VitestResults {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  /** Per test file; a file that failed outside its tests (an import, a hook) has a message. */
  testResults: { name: string; message: string }[];
}

/** Runs vitest in this Node, its usual output on the terminal, and counts its results. */
async function vitest(): Promise<Tally> {
  const label = `Node ${process.versions.node} (vitest)`;
  const directory = mkdtempSync(join(tmpdir(), "pinned-fetch-vitest-"));
  const report = join(directory, "results.json");
  try {
    const args = [
      join(ROOT, "node_modules/vitest/vitest.mjs"),
      "run",
      "--reporter=default",
      "--reporter=json",
      `--outputFile.json=${report}`,
    ];
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: "inherit" });
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    let results: VitestResults;
    try {
      results = JSON.parse(readFileSync(report, "utf8")) as VitestResults;
    } catch {
      return {
        label,
        passed: 0,
        failed: 0,
        notRun: 0,
        problems: [`vitest exited with code ${code} and wrote no results`],
      };
    }
    const tally: Tally = {
      label,
      passed: results.numPassedTests,
      failed: results.numFailedTests,
      notRun: results.numPendingTests + results.numTodoTests,
      problems: results.testResults
        .filter((file) => file.message)
        .map((file) => `${relative(ROOT, file.name)}: ${file.message.split("\n")[0]}`),
    };
    // Errors outside any test (an unhandled rejection) fail the run without failing a test.
    if (code !== 0 && tally.failed === 0 && tally.problems.length === 0)
      tally.problems.push(`vitest exited with code ${code}`);
    console.log(`${tally.passed} passed, ${tally.failed} failed`);
    return tally;
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

const tallies = [await vitest(), ...(await runConformance([]))];
process.exit(printTotals(tallies) ? 0 : 1);
