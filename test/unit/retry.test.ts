// The retry decision (src/http/retry.ts): which failures may be a kept-alive connection the server had closed, and
// which requests may then be sent again on a fresh connection.
import { describe, expect, it } from "vitest";

import { PinnedFetchError } from "../../src/errors.js";
import { type FailedAttempt, failedUnprocessed, mayRetry, notRetried } from "../../src/http/retry.js";

const reset = new PinnedFetchError("ERR_CONNECT", "Connection to a.example:443 failed: the connection was reset.");
const timedOut = new PinnedFetchError("ERR_TIMEOUT", "No response within 100 ms.");

function attempt(changes: Partial<FailedAttempt>): FailedAttempt {
  return {
    method: "GET",
    body: null,
    error: reset,
    reused: true,
    closedByUs: false,
    answered: false,
    unprocessed: false,
    ...changes,
  };
}

describe("failedUnprocessed", () => {
  it.each([
    { what: "a reused connection reset before any answer", changes: {}, stale: true },
    { what: "a failure that is not a PinnedFetchError", changes: { error: new TypeError("x") }, stale: true },
    { what: "an ERR_HTTP failure", changes: { error: new PinnedFetchError("ERR_HTTP", "x") }, stale: true },
    { what: "a new connection", changes: { reused: false }, stale: false },
    { what: "a connection that fetch.close() took", changes: { closedByUs: true }, stale: false },
    { what: "a connection that had begun to answer", changes: { answered: true }, stale: false },
    { what: "our own timeout", changes: { error: timedOut }, stale: false },
    {
      what: "a stream the server did not process, on a new connection",
      changes: { unprocessed: true, reused: false },
      stale: true,
    },
    {
      what: "a stream the server did not process, answered",
      changes: { unprocessed: true, answered: true },
      stale: true,
    },
    {
      what: "a stream the server did not process, closed by us",
      changes: { unprocessed: true, closedByUs: true },
      stale: false,
    },
  ])("$what: $stale", ({ changes, stale }) => {
    expect(failedUnprocessed(attempt(changes))).toBe(stale);
  });
});

describe("mayRetry", () => {
  const bytes = new Uint8Array([1]);
  it.each([
    { method: "GET", body: null, retry: true },
    { method: "HEAD", body: null, retry: true },
    { method: "OPTIONS", body: null, retry: true },
    { method: "TRACE", body: null, retry: true },
    { method: "PUT", body: bytes, retry: true },
    { method: "DELETE", body: bytes, retry: true },
    { method: "PUT", body: new ReadableStream<Uint8Array>(), retry: false },
    { method: "POST", body: null, retry: false },
    { method: "POST", body: bytes, retry: false },
    { method: "PATCH", body: bytes, retry: false },
    { method: "get", body: null, retry: false },
  ])("$method with a body of $body: $retry", ({ method, body, retry }) => {
    expect(mayRetry(method, body)).toBe(retry);
  });
});

describe("notRetried", () => {
  it.each([
    { method: "POST", body: null, why: "POST is not idempotent" },
    { method: "PUT", body: new ReadableStream<Uint8Array>(), why: "its body is a stream" },
  ])("says why $method was not sent again: $why", ({ method, body, why }) => {
    const error = notRetried("a.example", attempt({ method, body }));
    expect(error.code).toBe("ERR_HTTP");
    expect(error.cause).toBe(reset);
    expect(error.message).toContain(`to the ${method} request (${reset.message})`);
    expect(error.message).toContain(`It was not sent again because ${why}`);
  });
});
