// When a request that failed may be sent again on a fresh connection: a kept-alive connection that the server had
// closed fails the next request before any answer, and an HTTP/2 server says which streams it did not process
// (GOAWAY, REFUSED_STREAM); an idempotent request is then sent once more, as undici and OkHttp do.
import { PinnedFetchError } from "../errors.js";
import type { RequestBody } from "./request-body.js";

/** RFC 9110's idempotent methods: a request that may be sent again if its connection failed unanswered. */
const IDEMPOTENT_METHODS = new Set(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]);

/** What became of an exchange, as its connection saw it: read when it fails. */
export interface ExchangeProgress {
  /** Whether any byte of an answer to it arrived. */
  answered: boolean;
  /** Whether the server said it did not process it (HTTP/2's GOAWAY or REFUSED_STREAM). */
  unprocessed: boolean;
}

/** How a request's attempt failed. */
export interface FailedAttempt extends ExchangeProgress {
  method: string;
  body: RequestBody;
  error: unknown;
  /** Whether the connection had carried a request before. */
  reused: boolean;
  /** Whether fetch.close() took the connection: that is not a stale one. */
  closedByUs: boolean;
}

/**
 * Whether the request may be sent again if its method allows: the server
 * said it did not process it, or the failure may be a kept-alive connection
 * that the server had closed — a reused connection that failed without a
 * byte of answer, other than by our own timeout or close (the server may or
 * may not have received it).
 */
export function failedUnprocessed({ error, reused, closedByUs, answered, unprocessed }: FailedAttempt): boolean {
  if (unprocessed) return !closedByUs;
  return reused && !closedByUs && !answered && !(error instanceof PinnedFetchError && error.code === "ERR_TIMEOUT");
}

/** Whether a request may be sent a second time: its method is idempotent and its body can be sent again. */
export function mayRetry(method: string, body: RequestBody): boolean {
  return IDEMPOTENT_METHODS.has(method) && !(body instanceof ReadableStream);
}

/** The failure of a stale connection's request that may not be sent again. */
export function notRetried(host: string, { method, body, error, unprocessed }: FailedAttempt): PinnedFetchError {
  if (unprocessed) {
    return new PinnedFetchError(
      "ERR_HTTP",
      `${(error as Error).message} It was not sent again because ` +
        `${body instanceof ReadableStream ? "its body is a stream" : `${method} is not idempotent`}; retry it yourself if that is safe.`,
      { cause: error },
    );
  }
  return new PinnedFetchError(
    "ERR_HTTP",
    `A kept-alive connection to ${host} failed before any answer to the ${method} request (${(error as Error).message}), ` +
      `so the server may or may not have received it. It was not sent again because ` +
      `${body instanceof ReadableStream ? "its body is a stream" : `${method} is not idempotent`}; retry it yourself if that is safe.`,
    { cause: error },
  );
}
