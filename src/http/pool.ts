import { PinnedFetchError } from "../errors.js";
import type { Runtime } from "../runtime/index.js";
import { coarseTimeout, whenAborted } from "../signals.js";

/** How long an unused connection is kept open, as undici's default keep-alive timeout. */
const IDLE_TIMEOUT = 4_000;

/** A connection the pool keeps: HTTP/1.1, one exchange at a time, or HTTP/2, as many as its server allows. */
export interface PooledConnection {
  /** Whether it carries exchanges at once (HTTP/2). */
  readonly multiplexed: boolean;
  /** Whether it can take a new exchange: open, nothing unasked for arrived, no GOAWAY. */
  readonly open: boolean;
  /** How many exchanges it may carry at once now (0 once it can take no more). */
  readonly streamLimit: number;
  /** Whether it is HTTP/2 and its server has not said yet how many streams it takes. */
  readonly settling: boolean;
  /** Set by the pool: told when its streamLimit grew. */
  onCapacity: () => void;
  watchIdle(): void;
  close(): Promise<void>;
  destroy(): void;
}

export interface Acquired<C extends PooledConnection> {
  connection: C;
  /** Whether it carried an earlier request: the server may have closed it since. */
  reused: boolean;
}

/** A request waiting for a connection of its origin. */
interface Waiter<C extends PooledConnection> {
  open: () => Promise<C>;
  resolve: (acquired: Acquired<C>) => void;
  reject: (reason: unknown) => void;
}

/** A connection of an origin: how many exchanges it carries, and its idle timer while it carries none. */
interface Lease<C extends PooledConnection> {
  origin: Origin<C>;
  connection: C;
  exchanges: number;
  /** It takes no new exchange, and closes once its last one is over. */
  retired: boolean;
  /** Cancels its idle timeout, while it carries no exchange. */
  stopIdling: (() => void) | null;
}

/** One origin's connections under one pin decision, how many are opening, and who waits. */
interface Origin<C extends PooledConnection> {
  /** `host:port`, for messages. */
  name: string;
  key: string;
  leases: Lease<C>[];
  opening: number;
  waiting: Waiter<C>[];
  /** What its server spoke on the last connection opened: whether a second request should wait for a first's. */
  multiplexed: boolean | null;
}

/**
 * Connections per origin and pin decision, at most `limit` per origin and
 * decision; further requests wait in order. An HTTP/1.1 connection carries
 * one exchange at a time, an HTTP/2 one as many as its server allows. While
 * a connection to an origin that may speak HTTP/2 is opening, further
 * requests wait for it instead of opening their own. A connection is reused
 * only under the decision it was verified under (a rule that expires changes
 * it). Idle connections neither keep the process alive nor outlive
 * IDLE_TIMEOUT.
 */
export class Pool<C extends PooledConnection> {
  /** The runtime's, made once: every idle timeout passes it on. */
  readonly #unrefTimer: (timer: ReturnType<typeof setTimeout>) => void;
  readonly #limit: number;
  /** Whether connections may be HTTP/2 (the http2 option). */
  readonly #multiplexing: boolean;
  readonly #origins = new Map<string, Origin<C>>();
  readonly #leases = new Map<C, Lease<C>>();
  #closures = 0;

  constructor(runtime: Runtime, limit: number, multiplexing: boolean) {
    this.#unrefTimer = (timer) => runtime.unrefTimer(timer);
    this.#limit = limit;
    this.#multiplexing = multiplexing;
  }

  /**
   * An open connection to `name` (`host:port`) verified under `decision`
   * with room for an exchange, a new one from `open`, or — at the limit —
   * the next one to have room; `signal` ends the wait.
   */
  acquire(
    name: string,
    decision: string,
    open: () => Promise<C>,
    signal: AbortSignal | undefined,
  ): Promise<Acquired<C>> {
    const origin = this.#origin(name, decision);
    const ready = this.#take(origin);
    if (ready) return Promise.resolve({ connection: ready, reused: true });
    if (this.#mayOpen(origin)) return this.#open(origin, open);
    signal?.throwIfAborted();
    return new Promise<Acquired<C>>((resolve, reject) => {
      const onAbort = () => {
        // Once taken from the queue, a waiter is settled by what it was given: its open sees the same signal.
        const at = origin.waiting.indexOf(waiter);
        if (at === -1) return;
        origin.waiting.splice(at, 1);
        reject(signal!.reason);
      };
      const waiter: Waiter<C> = {
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

  /**
   * Takes back an exchange's share of `connection` once the exchange is
   * over. An HTTP/1.1 connection that cannot be reused is closed; an HTTP/2
   * one says itself whether it is still open, whatever became of one stream.
   */
  release(connection: C, reusable: boolean): void {
    const lease = this.#leases.get(connection);
    if (!lease) return;
    lease.exchanges--;
    const origin = lease.origin;
    // Closed by close() since.
    if (origin !== this.#origins.get(origin.key)) {
      if (lease.exchanges === 0) this.#drop(lease);
      return;
    }
    // An HTTP/2 connection whose server has not sent its SETTINGS by the end of an exchange is not trusted with more.
    if (!connection.open || connection.settling || (!reusable && !connection.multiplexed)) lease.retired = true;
    if (lease.exchanges === 0 && lease.retired) this.#drop(lease);
    this.#dispatch(origin);
    if (lease.exchanges === 0 && !lease.retired) this.#idle(lease);
  }

  /** How many times close() has run: a request whose connection it took sees the count change. */
  get closures(): number {
    return this.#closures;
  }

  /** Closes every connection, idle or busy, and turns away every waiting request. */
  async close(): Promise<void> {
    this.#closures++;
    const all: C[] = [];
    for (const origin of this.#origins.values()) {
      for (const lease of origin.leases) {
        lease.stopIdling?.();
        all.push(lease.connection);
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
    for (const origin of this.#origins.values()) origin.waiting.length = 0;
    this.#origins.clear();
    this.#leases.clear();
    await Promise.all(all.map((connection) => connection.close()));
  }

  #origin(name: string, decision: string): Origin<C> {
    const key = `${name} ${decision}`;
    let origin = this.#origins.get(key);
    if (!origin) {
      origin = { name, key, leases: [], opening: 0, waiting: [], multiplexed: this.#multiplexing ? null : false };
      this.#origins.set(key, origin);
    }
    return origin;
  }

  /** A connection of `origin` with room for one more exchange, now counted in; the most recently used first. */
  #take(origin: Origin<C>): C | undefined {
    for (let at = origin.leases.length - 1; at >= 0; at--) {
      const lease = origin.leases[at]!;
      if (lease.retired) continue;
      const connection = lease.connection;
      // Only an idle connection is judged here: a busy HTTP/1.1 one has its answer's bytes waiting, which is no
      // reason to close it; it is judged when released.
      if (lease.exchanges === 0 && !connection.open) {
        lease.retired = true;
        this.#drop(lease);
        continue;
      }
      if (lease.exchanges >= connection.streamLimit) continue;
      lease.stopIdling?.();
      lease.stopIdling = null;
      lease.exchanges++;
      return connection;
    }
    return undefined;
  }

  /**
   * Whether a request may open a connection: below the limit, and not while
   * one that may turn out to be HTTP/2 is opening or awaits its settings.
   */
  #mayOpen(origin: Origin<C>): boolean {
    if (origin.leases.length + origin.opening >= this.#limit) return false;
    if (origin.multiplexed === false) return true;
    return origin.opening === 0 && !origin.leases.some((lease) => !lease.retired && lease.connection.settling);
  }

  /** Gives waiting requests what is free now: room on a connection, or a place to open one. */
  #dispatch(origin: Origin<C>): void {
    if (origin !== this.#origins.get(origin.key)) return;
    while (origin.waiting.length > 0) {
      const connection = this.#take(origin);
      if (connection) {
        origin.waiting.shift()!.resolve({ connection, reused: true });
        continue;
      }
      if (!this.#mayOpen(origin)) return;
      const next = origin.waiting.shift()!;
      this.#open(origin, next.open).then(next.resolve, next.reject);
    }
  }

  async #open(origin: Origin<C>, open: () => Promise<C>): Promise<Acquired<C>> {
    origin.opening++;
    let connection: C;
    try {
      connection = await open();
    } catch (error) {
      origin.opening--;
      // The place is free again: the next waiter tries a connection of its own. Until one succeeds, waiters no
      // longer wait for each other's, so that a host that does not answer fails them together, not in turn.
      origin.multiplexed ??= false;
      this.#dispatch(origin);
      throw error;
    }
    origin.opening--;
    origin.multiplexed = connection.multiplexed;
    const lease: Lease<C> = { origin, connection, exchanges: 1, retired: false, stopIdling: null };
    this.#leases.set(connection, lease);
    if (origin === this.#origins.get(origin.key)) {
      origin.leases.push(lease);
      connection.onCapacity = () => this.#dispatch(origin);
      this.#dispatch(origin);
    }
    return { connection, reused: false };
  }

  /** Starts the idle timer of a connection that carries nothing now. */
  #idle(lease: Lease<C>): void {
    lease.connection.watchIdle();
    lease.stopIdling = coarseTimeout(
      IDLE_TIMEOUT,
      () => {
        lease.stopIdling = null;
        lease.retired = true;
        this.#drop(lease);
        // Its place is free: a request may be waiting for one (for a connection whose streams were all taken).
        this.#dispatch(lease.origin);
      },
      this.#unrefTimer,
    );
  }

  /** Closes a connection and forgets it. */
  #drop(lease: Lease<C>): void {
    lease.stopIdling?.();
    this.#leases.delete(lease.connection);
    const at = lease.origin.leases.indexOf(lease);
    if (at !== -1) lease.origin.leases.splice(at, 1);
    lease.connection.destroy();
  }
}
