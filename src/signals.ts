import { PinnedFetchError } from "./errors.js";

/**
 * One signal for a bounded stage: it aborts with the caller's reason, or with
 * ERR_TIMEOUT after `timeoutMs`. `dispose()` releases the timer and listener.
 */
export function deadline(
  signal: AbortSignal | undefined,
  timeoutMs: number | undefined,
  describe: () => string,
): { signal: AbortSignal; dispose: () => void } {
  // Without a limit there is nothing to add to the caller's signal (an AbortController per request costs).
  if (timeoutMs === undefined || !Number.isFinite(timeoutMs)) return { signal: signal ?? NEVER, dispose: () => {} };
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal!.reason);
  if (signal?.aborted) onAbort();
  else signal?.addEventListener("abort", onAbort, { once: true });
  const timer = setTimeout(() => controller.abort(new PinnedFetchError("ERR_TIMEOUT", describe())), timeoutMs);
  return {
    signal: controller.signal,
    dispose() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    },
  };
}

/** A signal that never aborts. */
const NEVER = new AbortController().signal;

/**
 * Settles with `work`, or rejects with the signal's reason as soon as it
 * aborts — or, given `timeout`, with its error once `timeout.ms` pass —
 * calling `onStop` first.
 */
export function abortable<T>(
  work: Promise<T>,
  signal: AbortSignal | undefined,
  onStop: () => void,
  timeout?: { ms: number; error: () => PinnedFetchError },
): Promise<T> {
  if (signal?.aborted) {
    onStop();
    work.catch(() => {});
    return Promise.reject(signal.reason);
  }
  if (!signal && !timeout) return work;
  return new Promise<T>((resolve, reject) => {
    const stop = (reason: unknown) => {
      finish();
      onStop();
      reject(reason);
    };
    const abort = () => stop(signal!.reason);
    const timer = timeout && setTimeout(() => stop(timeout.error()), timeout.ms);
    const finish = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", abort);
    };
    signal?.addEventListener("abort", abort, { once: true });
    work.then(
      (value) => {
        finish();
        resolve(value);
      },
      (error) => {
        finish();
        reject(error);
      },
    );
  });
}
