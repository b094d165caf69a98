// The hostile-server suite: one scenario per family of misbehaving servers
// (see hostile/families.ts), each running many cases. Every case's request
// must end with a PinnedFetchError of an allowed code or the caller's abort,
// within its limits plus a grace, leave no unhandled rejection, and the next
// request in the same process must succeed. Cases are deterministic by seed:
//   PF_HOSTILE_CASES  cases per runtime over all families (600 in npm test)
//   PF_HOSTILE_SEED   the seed (1)
//   PF_HOSTILE_ONLY   `family:index` runs that case alone, as a failure names it
// The Node fixture reads them and hands them to every runtime.
import { MAZES } from "../support/hostile/chains.js";
import { PinnedFetchError, type PinnedFetchOptions } from "../../src/index.js";
import { type Group, type Scenario, assert, delay, eventually, local, withFetch } from "./harness/check.js";
import type { Fixture } from "./harness/description.js";
import { GRACE, type Outcome, arm, followUp, runCase, watchUnhandledRejections } from "./hostile/drive.js";
import { DEFECTS, type Defect, FAMILIES, type Family } from "./hostile/families.js";
import { runHttp2Case } from "./hostile/http2.js";
import { runWebSocketCase } from "./hostile/websocket.js";

/**
 * Defects of src/ that some cases show and that are not fixed yet. While a
 * defect is listed, its cases are left out of their families (each
 * scenario's line counts them) and its own scenario, which runs the first of
 * them, is left out of the group. Take a defect out of the list once it is
 * fixed: its scenario and its cases run again, and must pass.
 */
const AWAITING_FIX: readonly Defect[] = [];

/** The case numbers a family runs: its share of PF_HOSTILE_CASES, or the one PF_HOSTILE_ONLY names. */
function casesOf(family: Family, fixture: Fixture): number[] {
  const { cases, only } = fixture.hostile;
  if (only !== null) {
    const [key, index] = only.split(":");
    return key === family.key ? [Number(index)] : [];
  }
  return Array.from({ length: Math.max(family.least, Math.round(cases * family.share)) }, (_, index) => index);
}

/** How far into each family to look for a defect's cases, and how many of them its scenario runs. */
const DEFECT_SEARCH = 3_000;
const DEFECT_CASES = 12;

/** The first cases of each family that show `defect`. */
function casesShowing(defect: Defect, family: Family, fixture: Fixture): number[] {
  // Planning thousands of cases takes seconds: only the families that say they may show it are searched.
  if (!family.defects?.includes(defect)) return [];
  const plan = family.planner(fixture.hostile);
  const found: number[] = [];
  for (let index = 0; index < DEFECT_SEARCH && found.length < DEFECT_CASES; index++) {
    if (plan(index).defect === defect) found.push(index);
  }
  return found;
}

/** How the cases of a scenario ended, for the line it prints. */
class Tally {
  readonly #ends = new Map<string, number>();
  #cases = 0;
  #leftOut = 0;
  #slowest = { ms: 0, name: "none" };

  leaveOut(): void {
    this.#leftOut++;
  }

  add(name: string, outcome: Outcome): void {
    this.#cases++;
    this.#ends.set(outcome.end, (this.#ends.get(outcome.end) ?? 0) + 1);
    if (outcome.end !== "completed" && outcome.ms > this.#slowest.ms) this.#slowest = { ms: outcome.ms, name };
  }

  toString(): string {
    const ends = [...this.#ends].sort(([a], [b]) => a.localeCompare(b)).map(([end, count]) => `${end} ${count}`);
    const leftOut = this.#leftOut > 0 ? `, ${this.#leftOut} left out awaiting a fix` : "";
    // Printed only once every case ended as its family allows: the errors counted are the expected ones.
    return `${this.#cases} cases, each ended as allowed (${ends.join(", ")})${leftOut}; the slowest error surfaced after ${Math.round(this.#slowest.ms)} ms (${this.#slowest.name})`;
  }
}

/** Runs the cases `indices` of `family`, one after the other, each followed by a healthy request. */
async function runCases(fixture: Fixture, family: Family, indices: readonly number[], tally: Tally): Promise<void> {
  const plan = family.planner(fixture.hostile);
  const url = `https://localhost:${fixture.ports.hostile}/`;
  const { connectTimeout, timeout } = family.limits;
  const unhandled = watchUnhandledRejections();
  try {
    // One connection at a time, so that one a failure failed to give back would stop the next request.
    await withFetch(
      { ...local(fixture, [fixture.pins.intermediate]), connectTimeout, timeout, connections: 1, ...family.options },
      async (fetch) => {
        for (const index of indices) {
          const casePlan = plan(index);
          if (casePlan.defect && AWAITING_FIX.includes(casePlan.defect) && fixture.hostile.only === null) {
            tally.leaveOut();
            continue;
          }
          try {
            await arm(fixture, casePlan.server);
            const outcome = casePlan.webSocket
              ? await runWebSocketCase(fetch, fixture, url, family, casePlan)
              : casePlan.http2
                ? await runHttp2Case(fetch, fixture, url, family, casePlan)
                : await runCase(fetch, url, family, casePlan);
            // An early abort may leave the plan unused.
            if (casePlan.abortAfter !== undefined) await arm(fixture, null);
            await followUp(fetch, url);
            await delay(0);
            const strays = unhandled.take();
            assert.equal(strays.length, 0, `unhandled rejections: ${strays.map(String).join("; ")}`);
            tally.add(`${family.key}:${index}`, outcome);
          } catch (error) {
            throw new Error(
              `hostile case ${family.key}:${index} (PF_HOSTILE_SEED=${fixture.hostile.seed}, ${fixture.runtime}): ${casePlan.what}\n` +
                `${(error as Error).message}\nplan: ${JSON.stringify(casePlan)}`,
              { cause: error },
            );
          }
        }
      },
    );
  } finally {
    unhandled.stop();
  }
}

/** A scenario that runs `cases`, from one family or several, prints how they ended, and checks that no connection is left open. */
function scenario(name: string, what: string, cases: (fixture: Fixture) => [Family, number[]][]): Scenario {
  return {
    name,
    timeout: (fixture) =>
      cases(fixture).reduce((total, [family, indices]) => total + indices.length * family.costPerCase, 60_000),
    async run(fixture) {
      const before = await fixture.stats("hostile");
      const tally = new Tally();
      for (const [family, indices] of cases(fixture)) await runCases(fixture, family, indices, tally);
      console.log(`hostile ${what} in ${fixture.runtime}: ${tally}`);
      await eventually(
        () => fixture.stats("hostile"),
        (stats) => stats.open <= before.open,
        "connections to the hostile server left open",
      );
    },
  };
}

/**
 * What a maze's handshake may take before the scenario calls it hung: generous, so that a loaded machine
 * cannot turn a refusal into ERR_TIMEOUT. How long each took is printed; the bound that matters is asserted
 * beside: a request with a short timeout still times out in time while mazes run.
 */
const MAZE_CONNECT_TIMEOUT = 10_000;
/** Maze handshakes that run at once beside a request that must still time out. */
const CONCURRENT_MAZES = 5;

/** Trusts the test root and the mazes' root. */
function mazeOptions(fixture: Fixture): PinnedFetchOptions {
  return { ...local(fixture), ca: [fixture.ca.root, fixture.mazes.root], connectTimeout: MAZE_CONNECT_TIMEOUT };
}

/** How `promise` settled, and after how long; fails if it takes longer than `limit` ms and the grace. */
async function settledWithin(
  promise: Promise<unknown>,
  limit: number,
  what: string,
): Promise<{ error: unknown; ms: number }> {
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what}: no outcome within ${limit} ms and the grace of ${GRACE} ms`)),
      limit + GRACE,
    );
  });
  try {
    const error = await Promise.race([
      promise.then(
        () => undefined,
        (error: unknown) => error,
      ),
      hang,
    ]);
    return { error, ms: performance.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

/** Each maze (test/support/hostile/chains.ts) is refused with ERR_CERT_UNTRUSTED and its cause, within the limit. */
const mazes: Scenario = {
  name: "a server whose certificate chain is a maze for path building: refused at once, with its cause",
  async run(fixture) {
    const tally = new Tally();
    await withFetch({ ...mazeOptions(fixture), connections: 1 }, async (fetch) => {
      for (const maze of MAZES) {
        const { error, ms } = await settledWithin(
          fetch(`https://localhost:${fixture.mazes.ports[maze]}/hello`),
          MAZE_CONNECT_TIMEOUT,
          maze,
        );
        assert.ok(error instanceof PinnedFetchError, `${maze}: ${String(error)}`);
        assert.equal(error.code, "ERR_CERT_UNTRUSTED", `${maze}: ${error.message}`);
        assert.ok(
          error.message.includes(fixture.mazes.says[maze]),
          `${maze}: the message does not say "${fixture.mazes.says[maze]}": ${error.message}`,
        );
        assert.ok(ms <= MAZE_CONNECT_TIMEOUT + GRACE, `${maze}: it failed after ${Math.round(ms)} ms`);
        tally.add(maze, { end: error.code, ms });
        await followUp(fetch, `https://localhost:${fixture.ports.hostile}/`);
      }
    });
    console.log(`hostile mazes in ${fixture.runtime}: ${tally}`);
  },
};

/** The event loop stays free while maze handshakes run: a request beside them still times out in time. */
const TIMEOUT = 200;
const mazesBesideTimeout: Scenario = {
  name: `a request still ends with ERR_TIMEOUT after its timeout of ${TIMEOUT} ms while ${CONCURRENT_MAZES} maze handshakes run on the same instance`,
  run: (fixture) =>
    withFetch({ ...mazeOptions(fixture), timeout: TIMEOUT }, async (fetch) => {
      // The maze that took longest before path building was bounded.
      const handshakes = Array.from({ length: CONCURRENT_MAZES }, () =>
        fetch(`https://localhost:${fixture.mazes.ports.padded}/hello`).catch((error: unknown) => error),
      );
      const { error, ms } = await settledWithin(
        fetch(`https://localhost:${fixture.ports.silent}/`),
        TIMEOUT,
        "the request beside the mazes",
      );
      assert.ok(error instanceof PinnedFetchError, String(error));
      assert.equal(error.code, "ERR_TIMEOUT", error.message);
      // Timers can be late, the clock is not.
      assert.ok(ms <= TIMEOUT + GRACE, `it timed out after ${Math.round(ms)} ms`);
      // The same timeout bounds the mazes: on a loaded machine one may time out before it is refused.
      for (const outcome of await Promise.all(handshakes)) {
        assert.ok(
          outcome instanceof PinnedFetchError && ["ERR_CERT_UNTRUSTED", "ERR_TIMEOUT"].includes(outcome.code),
          String(outcome),
        );
      }
    }),
};

export const hostile: Group = {
  name: "hostile",
  scenarios: [
    mazes,
    mazesBesideTimeout,
    ...FAMILIES.map((family) => scenario(family.name, family.key, (fixture) => [[family, casesOf(family, fixture)]])),
    ...DEFECTS.filter((defect) => !AWAITING_FIX.includes(defect)).map((defect) =>
      scenario(`the cases that showed a defect: ${defect}`, `cases of "${defect}"`, (fixture) =>
        FAMILIES.map((family): [Family, number[]] => [family, casesShowing(defect, family, fixture)]).filter(
          ([, indices]) => indices.length > 0,
        ),
      ),
    ),
  ],
};
