// What the scenarios are made of, in any runtime: node:assert (which Node,
// Deno and Bun all provide) and a few waits that are always bounded.
import assert from "node:assert/strict";

import {
  type ConnectTlsOptions,
  type TlsConnection,
  connectTls,
  createPinnedFetch,
  type PinnedFetch,
  PinnedFetchError,
  type PinnedFetchOptions,
} from "../../../src/index.js";
import type { Fixture } from "./description.js";

export { assert };
export { HELLO } from "../../support/content.js";

export interface Scenario {
  name: string;
  run(fixture: Fixture): Promise<void> | void;
  /** Milliseconds the scenario may take, for one whose size the fixture sets; the harness's default otherwise. */
  timeout?(fixture: Fixture): number;
  /** Why the scenario means nothing over HTTP/2, in a group that runs over both (harness/http2.ts): it runs over HTTP/1.1 only. */
  http1Only?: string;
}

export interface Group {
  name: string;
  scenarios: Scenario[];
}

/** The PinnedFetchError `promise` rejects with; fails if it resolves or rejects otherwise. */
export async function rejection(promise: Promise<unknown>): Promise<PinnedFetchError> {
  const outcome = await promise.then(
    () => ({ error: undefined, resolved: true }),
    (error: unknown) => ({ error, resolved: false }),
  );
  assert.equal(outcome.resolved, false, "expected a rejection, but it succeeded");
  return asPinnedFetchError(outcome.error);
}

/** Asserts that `promise` rejects with `reason` itself. */
export async function rejectsWith(promise: Promise<unknown>, reason: Error): Promise<void> {
  const outcome = await promise.then(
    () => "it succeeded",
    (error: unknown) => (error === reason ? "the reason" : error),
  );
  assert.equal(outcome, "the reason");
}

/** The PinnedFetchError `run` throws synchronously. */
export function thrown(run: () => unknown): PinnedFetchError {
  try {
    run();
  } catch (error) {
    return asPinnedFetchError(error);
  }
  assert.fail("expected a PinnedFetchError to be thrown");
}

function asPinnedFetchError(error: unknown): PinnedFetchError {
  assert.ok(error instanceof PinnedFetchError, `expected a PinnedFetchError, got ${String(error)}`);
  assert.ok(error instanceof TypeError, "a PinnedFetchError is a TypeError");
  return error;
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Reads `read()` until `accept` holds, for at most about 5 s. */
export async function eventually<T>(read: () => Promise<T>, accept: (value: T) => boolean, what: string): Promise<T> {
  let value = await read();
  for (let attempt = 0; attempt < 500 && !accept(value); attempt++) {
    await delay(10);
    value = await read();
  }
  assert.ok(accept(value), `${what}: still ${JSON.stringify(value)}`);
  return value;
}

/**
 * Runs `use` with what `console.error` is given collected instead of
 * printed: for a scenario that makes pinned-fetch log an error on purpose,
 * so that it asserts what is logged and a passing run prints no error.
 */
export async function loggedErrors(use: (logged: unknown[][]) => Promise<void>): Promise<void> {
  const print = console.error;
  const logged: unknown[][] = [];
  console.error = (...args: unknown[]) => void logged.push(args);
  try {
    await use(logged);
  } finally {
    console.error = print;
  }
}

/** Runs `use` with a pinned fetch and closes it afterwards. */
export async function withFetch(
  options: PinnedFetchOptions,
  use: (fetch: PinnedFetch) => Promise<void>,
): Promise<void> {
  const fetch = createPinnedFetch({ onWarning: ignoreWarning, ...options });
  try {
    await use(fetch);
  } finally {
    await fetch.close();
  }
}

/** Scenarios pin single keys on purpose; the warning about a missing backup pin has its own scenario. */
export const ignoreWarning = () => {};

/** Trusts the test root, and reaches `localhost` at 127.0.0.1 (so SNI and verification use "localhost"). */
export function local(fixture: Fixture, pins?: readonly string[]): PinnedFetchOptions {
  return {
    ca: fixture.ca.root,
    resolve: { localhost: "127.0.0.1" },
    onWarning: ignoreWarning,
    ...(pins && { pins: { localhost: pins } }),
  };
}

/** connectTls to the fixture's server on `port`, as `localhost` at 127.0.0.1, trusting the test root. */
export function connectLocal(
  fixture: Fixture,
  port: number,
  options: Partial<ConnectTlsOptions> = {},
): Promise<TlsConnection> {
  return connectTls({
    hostname: "localhost",
    resolve: { localhost: "127.0.0.1" },
    port,
    ca: fixture.ca.root,
    ...options,
  });
}

/** What the test servers' `/echo` answers: the request as they received it. */
export interface Echo {
  method: string;
  headers: Record<string, string>;
  body: string;
}
