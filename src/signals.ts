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
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal!.reason);
  if (signal?.aborted) onAbort();
  else signal?.addEventListener("abort", onAbort, { once: true });
  const timer =
    timeoutMs === undefined || !Number.isFinite(timeoutMs)
      ? undefined
      : setTimeout(() => controller.abort(new PinnedFetchError("ERR_TIMEOUT", describe())), timeoutMs);
  return {
    signal: controller.signal,
    dispose() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    },
  };
}

/** Settles with `work`, or rejects with the signal's reason as soon as it aborts (calling `onAbort`). */
export function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined, onAbort: () => void): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) {
    onAbort();
    work.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const abort = () => {
      onAbort();
      reject(signal.reason);
    };
    signal.addEventListener("abort", abort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", abort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener("abort", abort);
        reject(error);
      },
    );
  });
}
