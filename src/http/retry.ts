// When a request that failed may be sent again on a fresh connection: a kept-alive connection that the server had
// closed fails the next request before any answer, and an idempotent request is then sent once more, as undici and
// OkHttp do.
import { PinnedFetchError } from "../errors.js";
import type { RequestBody } from "./request-body.js";

/** RFC 9110's idempotent methods: a request that may be sent again if its connection failed unanswered. */
const IDEMPOTENT_METHODS = new Set(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]);

/** How a request's attempt failed. */
export interface FailedAttempt {
  method: string;
  body: RequestBody;
  error: unknown;
  /** Whether the connection had carried a request before. */
  reused: boolean;
  /** Whether fetch.close() took the connection: that is not a stale one. */
  closedByUs: boolean;
  /** Whether a byte of the answer arrived. */
  answered: boolean;
}

/**
 * Whether the failure may be a kept-alive connection that the server had
 * closed: a reused connection that failed without a byte of answer, other
 * than by our own timeout or close. The server may or may not have received
 * the request.
 */
export function failedStale({ error, reused, closedByUs, answered }: FailedAttempt): boolean {
  return reused && !closedByUs && !answered && !(error instanceof PinnedFetchError && error.code === "ERR_TIMEOUT");
}

/** Whether a request may be sent a second time: its method is idempotent and its body can be sent again. */
export function mayRetry(method: string, body: RequestBody): boolean {
  return IDEMPOTENT_METHODS.has(method) && !(body instanceof ReadableStream);
}

/** The failure of a stale connection's request that may not be sent again. */
export function notRetried(host: string, { method, body, error }: FailedAttempt): PinnedFetchError {
  return new PinnedFetchError(
    "ERR_HTTP",
    `A kept-alive connection to ${host} failed before any answer to the ${method} request (${(error as Error).message}), ` +
      `so the server may or may not have received it. It was not sent again because ` +
      `${body instanceof ReadableStream ? "its body is a stream" : `${method} is not idempotent`}; retry it yourself if that is safe.`,
    { cause: error },
  );
}
