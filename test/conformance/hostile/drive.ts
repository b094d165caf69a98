// Runs one hostile case from the client's side and judges how it ended: a
// PinnedFetchError of an allowed code, the caller's abort, or (where the
// case allows it) the exact healthy response; always within its limits.
import { type PinnedFetch, PinnedFetchError } from "../../../src/index.js";
import type { ServerPlan } from "../../support/hostile/plan.js";
import { HELLO, assert } from "../harness/check.js";
import type { Fixture } from "../harness/description.js";
import type { CasePlan, Expected, Family } from "./families.js";

/** How much later than its limit a request may settle: generous, so that a loaded machine never fails a case. */
export const GRACE = 2_000;

export interface Outcome {
  /** An allowed code, the caller's abort, "completed", or how a WebSocket case ended. */
  end: Expected | string;
  /** Milliseconds from the call until it ended. */
  ms: number;
}

/** What the hostile server's next connection does (null: the healthy server). */
export async function arm(fixture: Fixture, plan: ServerPlan | null): Promise<void> {
  const response = await fetch(`${fixture.control}/hostile`, {
    method: "POST",
    body: JSON.stringify(plan),
    signal: AbortSignal.timeout(10_000),
  });
  assert.equal(response.status, 204, "arming the hostile server");
}

export async function runCase(fetch: PinnedFetch, url: string, family: Family, plan: CasePlan): Promise<Outcome> {
  const controller = new AbortController();
  const aborted = new Error("the caller aborted");
  const bodyTooSlow = new Error("the body took longer than the case allows");
  const timers: ReturnType<typeof setTimeout>[] = [];
  const abortAfter = (ms: number, reason: Error) => timers.push(setTimeout(() => controller.abort(reason), ms));
  if (plan.abortAfter !== undefined) abortAfter(plan.abortAfter, aborted);
  const started = performance.now();
  /** How a failure ended, which must be before `limit` (ms after the call) and the grace; timers can be late, the clock is not. */
  const judge = (error: unknown, limit: number): Outcome => {
    const ms = performance.now() - started;
    assert.ok(
      ms <= limit + GRACE,
      `it failed after ${Math.round(ms)} ms, ${Math.round(ms - limit)} ms after its limit (${String(error)})`,
    );
    if (error === aborted || error === bodyTooSlow) {
      assert.ok(
        !plan.expect || plan.expect.includes("aborted"),
        `ended with the caller's abort, expected ${plan.expect?.join(" or ")}`,
      );
      return { end: "aborted", ms };
    }
    assert.ok(
      error instanceof PinnedFetchError && error instanceof TypeError,
      `rejected with ${String(error)}, not a PinnedFetchError`,
    );
    assert.ok(
      family.codes.includes(error.code),
      `rejected with ${error.code}, not one of ${family.codes.join(", ")}: ${error.message}`,
    );
    assert.ok(
      !plan.expect || plan.expect.includes(error.code),
      `rejected with ${error.code}, expected ${plan.expect?.join(" or ")}: ${error.message}`,
    );
    assert.ok(!plan.says || plan.says.test(error.message), `the message does not say ${plan.says}: ${error.message}`);
    return { end: error.code, ms };
  };
  try {
    if (plan.warmUp) await healthyExchange(fetch, url, "the first request, answered whole");
    const headLimit = Math.min(family.limits.timeout, plan.abortAfter ?? Infinity);
    const init: RequestInit =
      plan.body === undefined
        ? { signal: controller.signal }
        : { signal: controller.signal, method: "POST", body: new Uint8Array(plan.body) };
    const head = await settled(fetch(url, init), headLimit + GRACE, "the response head");
    if (!head.ok) return judge(head.error, headLimit);
    abortAfter(family.limits.body, bodyTooSlow);
    const bodyLimit = Math.min(performance.now() - started + family.limits.body, plan.abortAfter ?? Infinity);
    const body = await settled(readBody(head.value), family.limits.body + GRACE, "the body");
    if (!body.ok) return judge(body.error, bodyLimit);
    const answer = { status: head.value.status, body: body.value };
    assert.ok(
      !plan.expect || plan.expect.includes("completed"),
      `a response came through whole, expected ${plan.expect?.join(" or ")}`,
    );
    const expected = plan.answers ?? [];
    assert.ok(
      expected.some((allowed) => allowed.status === answer.status && allowed.body === answer.body),
      `a response came through whole: ${JSON.stringify(answer).slice(0, 120)}, ${expected.length === 0 ? "but none may" : `not ${JSON.stringify(expected)}`}`,
    );
    return { end: "completed", ms: performance.now() - started };
  } finally {
    for (const timer of timers) clearTimeout(timer);
  }
}

/** The next request, to the same origin and now a healthy server, must succeed. */
export function followUp(fetch: PinnedFetch, url: string): Promise<void> {
  return healthyExchange(fetch, url, "the next request");
}

async function healthyExchange(fetch: PinnedFetch, url: string, what: string): Promise<void> {
  const result = await settled(
    fetch(url).then(async (response) => ({ status: response.status, body: await response.text() })),
    10_000,
    what,
  );
  if (!result.ok) assert.fail(`${what} failed: ${String(result.error)}`);
  assert.deepEqual(result.value, { status: 200, body: HELLO }, what);
}

/** The text of a body, of which at most 64 KiB is kept: an endless one is read until something ends it. */
async function readBody(response: Response): Promise<string> {
  const reader = response.body!.getReader();
  let text = "";
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    if (text.length < 65_536) text += new TextDecoder().decode(read.value);
  }
  return text;
}

/** How `promise` settled, failing the case if it takes longer than `limit` ms. */
async function settled<T>(
  promise: Promise<T>,
  limit: number,
  what: string,
): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no outcome within ${limit} ms`)), limit);
  });
  try {
    return await Promise.race([
      promise.then(
        (value) => ({ ok: true as const, value }),
        (error: unknown) => ({ ok: false as const, error }),
      ),
      hang,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Unhandled promise rejections while it watches: Node and Bun tell
 * process listeners, Deno tells `unhandledrejection` listeners (and exits
 * unless one prevents it).
 */
export function watchUnhandledRejections(): { take(): unknown[]; stop(): void } {
  const seen: unknown[] = [];
  if ("Deno" in globalThis) {
    const listener = (event: PromiseRejectionEvent) => {
      event.preventDefault();
      seen.push(event.reason);
    };
    globalThis.addEventListener("unhandledrejection", listener);
    return { take: () => seen.splice(0), stop: () => globalThis.removeEventListener("unhandledrejection", listener) };
  }
  const listener = (reason: unknown) => void seen.push(reason);
  process.on("unhandledRejection", listener);
  return { take: () => seen.splice(0), stop: () => void process.off("unhandledRejection", listener) };
}
