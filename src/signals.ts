import { PinnedFetchError } from "./errors.js";

/**
 * Calls `onAbort` once `signal` aborts (soon, if it has); returns what stops
 * that. However many requests share a signal (an application's shutdown
 * signal, say), it carries one listener of pinned-fetch, not one per request
 * (past ten, Node warns of a leak).
 */
export function whenAborted(signal: AbortSignal | undefined, onAbort: () => void): () => void {
  if (!signal) return () => {};
  if (signal.aborted) {
    let wanted = true;
    queueMicrotask(() => wanted && onAbort());
    return () => void (wanted = false);
  }
  let waiters = waiting.get(signal);
  if (!waiters) waiting.set(signal, (waiters = new Waiters(signal)));
  return waiters.add(onAbort);
}

/** The callbacks waiting on one signal, behind one listener that stays only while some wait. */
class Waiters {
  readonly #signal: AbortSignal;
  readonly #callbacks = new Set<() => void>();

  constructor(signal: AbortSignal) {
    this.#signal = signal;
    signal.addEventListener("abort", this.#fire, { once: true });
  }

  add(onAbort: () => void): () => void {
    const entry = () => onAbort();
    this.#callbacks.add(entry);
    return () => {
      if (!this.#callbacks.delete(entry) || this.#callbacks.size > 0) return;
      waiting.delete(this.#signal);
      this.#signal.removeEventListener("abort", this.#fire);
    };
  }

  readonly #fire = () => {
    waiting.delete(this.#signal);
    for (const callback of this.#callbacks) callback();
  };
}

const waiting = new WeakMap<AbortSignal, Waiters>();

/**
 * One signal for a bounded stage: it aborts with the caller's reason, or with
 * ERR_TIMEOUT after `timeoutMs`; none if there is neither. `dispose()`
 * releases the timer and listener.
 */
export function deadline(
  signal: AbortSignal | undefined,
  timeoutMs: number | undefined,
  describe: () => string,
): { signal: AbortSignal | undefined; dispose: () => void } {
  // Without a limit there is nothing to add to the caller's signal (an AbortController per request costs).
  if (timeoutMs === undefined || !Number.isFinite(timeoutMs)) return { signal, dispose: () => {} };
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal!.reason);
  const stopListening = signal?.aborted ? (onAbort(), () => {}) : whenAborted(signal, onAbort);
  const timer = setTimeout(() => controller.abort(new PinnedFetchError("ERR_TIMEOUT", describe())), timeoutMs);
  return {
    signal: controller.signal,
    dispose() {
      clearTimeout(timer);
      stopListening();
    },
  };
}

/** How often the waits of coarseTimeout are looked at. */
const TICK_MS = 500;

interface CoarseWait {
  /** The tick at which it is over. */
  due: number;
  onTimeout: () => void;
}

const coarseWaits = new Set<CoarseWait>();
let ticks = 0;
let ticker: ReturnType<typeof setTimeout> | null = null;
/** The runtime's unref, from the wait that started the ticker: every timer of the ticker is unref'd. */
let unrefTicker: (timer: ReturnType<typeof setTimeout>) => void = () => {};

/**
 * Calls `onTimeout` once `ms` have passed, less than two ticks (1 s) later; returns what cancels it. For the long waits that
 * every request sets and clears (for a response head, for a piece of a body, of an idle connection): one timer ticks
 * for all of them, as undici's fast timers do, instead of a runtime timer each, which costs Deno about 5 µs to set
 * and clear. The ticker stops at the first tick with nothing to wait for, and `unref` keeps it from holding the
 * process open.
 */
export function coarseTimeout(
  ms: number,
  onTimeout: () => void,
  unref: (timer: ReturnType<typeof setTimeout>) => void,
): () => void {
  // The next tick may come at once: one more keeps the wait from ending early. Counting ticks reads no clock.
  const wait: CoarseWait = { due: ticks + Math.ceil(ms / TICK_MS) + 1, onTimeout };
  coarseWaits.add(wait);
  if (ticker === null) {
    unrefTicker = unref;
    armTicker();
  }
  return () => void coarseWaits.delete(wait);
}

function armTicker(): void {
  ticker = setTimeout(tick, TICK_MS);
  unrefTicker(ticker);
}

/** Ends the waits that are due; the next tick is set first, so that a callback that throws stops no other wait. */
function tick(): void {
  ticks++;
  const due: CoarseWait[] = [];
  for (const wait of coarseWaits) {
    if (wait.due > ticks) continue;
    coarseWaits.delete(wait);
    due.push(wait);
  }
  if (coarseWaits.size > 0) armTicker();
  else ticker = null;
  for (const wait of due) {
    try {
      wait.onTimeout();
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    }
  }
}

/**
 * Settles with `work`, or rejects with the signal's reason as soon as it
 * aborts — or, given `timeout`, with its error once `timeout.ms` pass (up to
 * a second later: see coarseTimeout) — calling `onStop` first.
 * `timeout.unref` keeps its timer from holding the process open.
 */
export function abortable<T>(
  work: Promise<T>,
  signal: AbortSignal | undefined,
  onStop: () => void,
  timeout?: { ms: number; error: () => PinnedFetchError; unref: (timer: ReturnType<typeof setTimeout>) => void },
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
    const cancelTimeout = timeout ? coarseTimeout(timeout.ms, () => stop(timeout.error()), timeout.unref) : () => {};
    const stopListening = whenAborted(signal, () => stop(signal!.reason));
    const finish = () => {
      cancelTimeout();
      stopListening();
    };
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
