import { PinnedFetchError } from "../errors.js";
import type { Runtime } from "../runtime/index.js";
import { whenAborted } from "../signals.js";
import type { HttpConnection } from "./connection.js";

/** How long an unused connection is kept open, as undici's default keep-alive timeout. */
const IDLE_TIMEOUT = 4_000;

export interface Acquired {
  connection: HttpConnection;
  /** Whether it carried an earlier request: the server may have closed it since. */
  reused: boolean;
}

interface Idle {
  connection: HttpConnection;
  timer: ReturnType<typeof setTimeout>;
}

/** A request waiting for a connection of its origin to be released. */
interface Waiter {
  open: () => Promise<HttpConnection>;
  resolve: (acquired: Acquired) => void;
  reject: (reason: unknown) => void;
}

/** One origin's connections under one pin decision: idle ones, how many are in use or opening, and who waits. */
interface Origin {
  /** `host:port`, for messages. */
  name: string;
  key: string;
  idle: Idle[];
  active: number;
  waiting: Waiter[];
}

/**
 * Keep-alive connections per origin and pin decision, at most `limit` per
 * origin and decision: further requests wait in order. A connection is reused
 * only under the decision it was verified under (a rule that expires changes
 * it). Idle connections neither keep the process alive (see HttpConnection)
 * nor outlive IDLE_TIMEOUT.
 */
export class Pool {
  readonly #runtime: Runtime;
  readonly #limit: number;
  readonly #origins = new Map<string, Origin>();
  /** Connections in use, with the origin they count against. */
  readonly #busy = new Map<HttpConnection, Origin>();

  constructor(runtime: Runtime, limit: number) {
    this.#runtime = runtime;
    this.#limit = limit;
  }

  /**
   * An idle open connection to `name` (`host:port`) verified under
   * `decision`, a new one from `open`, or — at the limit — the next one
   * released; `signal` ends the wait.
   */
  acquire(
    name: string,
    decision: string,
    open: () => Promise<HttpConnection>,
    signal: AbortSignal | undefined,
  ): Promise<Acquired> {
    const origin = this.#origin(name, decision);
    for (let entry = origin.idle.pop(); entry; entry = origin.idle.pop()) {
      clearTimeout(entry.timer);
      if (entry.connection.open) {
        origin.active++;
        return Promise.resolve({ connection: this.#use(entry.connection, origin), reused: true });
      }
      entry.connection.destroy();
    }
    if (origin.active < this.#limit) return this.#open(origin, open);
    signal?.throwIfAborted();
    return new Promise<Acquired>((resolve, reject) => {
      const onAbort = () => {
        // Once taken from the queue, a waiter is settled by what it was given: its open sees the same signal.
        const at = origin.waiting.indexOf(waiter);
        if (at === -1) return;
        origin.waiting.splice(at, 1);
        reject(signal!.reason);
      };
      const waiter: Waiter = {
        open,
        resolve: (acquired) => {
          stopListening();
          resolve(acquired);
        },
        reject: (reason) => {
          stopListening();
          reject(reason);
        },
      };
      const stopListening = whenAborted(signal, onAbort);
      origin.waiting.push(waiter);
    });
  }

  /** Takes a connection back after its exchange; one that cannot be reused is closed, and its place given to the next waiter. */
  release(connection: HttpConnection, reusable: boolean): void {
    const origin = this.#busy.get(connection);
    if (!origin) return;
    this.#busy.delete(connection);
    // Closed by close() since, or opened while it ran.
    if (origin !== this.#origins.get(origin.key)) return connection.destroy();
    const next = origin.waiting.shift();
    if (reusable && connection.open) {
      if (next) {
        this.#busy.set(connection, origin);
        return next.resolve({ connection, reused: true });
      }
      origin.active--;
      connection.watchIdle();
      const timer = setTimeout(() => {
        const at = origin.idle.findIndex((entry) => entry.connection === connection);
        if (at !== -1) origin.idle.splice(at, 1);
        connection.destroy();
      }, IDLE_TIMEOUT);
      this.#runtime.unrefTimer(timer);
      origin.idle.push({ connection, timer });
      return;
    }
    connection.destroy();
    origin.active--;
    if (next) this.#open(origin, next.open).then(next.resolve, next.reject);
  }

  /** Whether `connection` is in use and not closed by close() since. */
  holds(connection: HttpConnection): boolean {
    return this.#busy.has(connection);
  }

  /** Closes every connection, idle or busy, and turns away every waiting request. */
  async close(): Promise<void> {
    const all = [...this.#busy.keys()];
    this.#busy.clear();
    for (const origin of this.#origins.values()) {
      for (const { connection, timer } of origin.idle) {
        clearTimeout(timer);
        all.push(connection);
      }
      for (const waiter of origin.waiting) {
        waiter.reject(
          new PinnedFetchError(
            "ERR_CONNECT",
            `fetch.close() was called while a request to ${origin.name} waited for a free connection (the connections option).`,
          ),
        );
      }
    }
    this.#origins.clear();
    await Promise.all(all.map((connection) => connection.close()));
  }

  #origin(name: string, decision: string): Origin {
    const key = `${name} ${decision}`;
    let origin = this.#origins.get(key);
    if (!origin) this.#origins.set(key, (origin = { name, key, idle: [], active: 0, waiting: [] }));
    return origin;
  }

  async #open(origin: Origin, open: () => Promise<HttpConnection>): Promise<Acquired> {
    origin.active++;
    try {
      return { connection: this.#use(await open(), origin), reused: false };
    } catch (error) {
      origin.active--;
      // The place is free again: the next waiter tries a connection of its own.
      const next = origin.waiting.shift();
      if (next) this.#open(origin, next.open).then(next.resolve, next.reject);
      throw error;
    }
  }

  #use(connection: HttpConnection, origin: Origin): HttpConnection {
    this.#busy.set(connection, origin);
    return connection;
  }
}
