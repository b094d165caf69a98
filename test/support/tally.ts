// What one runtime's part of `npm test` counted, and the lines the run ends
// with: one per runtime, labelled with its version, then the overall total.

export interface Tally {
  /** The runtime and its version, e.g. "Deno 2.9.5". */
  label: string;
  passed: number;
  failed: number;
  /** Tests that were expected but neither passed nor failed: skipped, or lost with a run that died or hung. */
  notRun: number;
  /** What else went wrong, in words: a run that was stopped, exited badly, or wrote no results. */
  problems: string[];
}

function counts({ passed, failed, notRun }: Pick<Tally, "passed" | "failed" | "notRun">): string {
  return `${passed} passed, ${failed} failed${notRun > 0 ? `, ${notRun} did not run` : ""}`;
}

const clean = (tally: Tally) => tally.failed === 0 && tally.notRun === 0 && tally.problems.length === 0;

/** Prints each runtime's total and the overall one; true if every test ran and passed. */
export function printTotals(tallies: readonly Tally[]): boolean {
  const sum = (count: (tally: Tally) => number) => tallies.reduce((total, tally) => total + count(tally), 0);
  console.log();
  for (const tally of tallies) {
    console.log(
      `${tally.label}: ${counts(tally)}${tally.problems.length > 0 ? ` (${tally.problems.join("; ")})` : ""}`,
    );
  }
  const total = {
    passed: sum((tally) => tally.passed),
    failed: sum((tally) => tally.failed),
    notRun: sum((tally) => tally.notRun),
  };
  const problems = sum((tally) => tally.problems.length);
  console.log(
    `Total: ${counts(total)}${problems > 0 ? `, ${problems} other problem${problems > 1 ? "s" : ""} (above)` : ""}`,
  );
  return tallies.every(clean);
}
