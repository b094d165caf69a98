import type { Runtime } from "../runtime/index.js";
import type { HttpConnection } from "./connection.js";

/** How long an unused connection is kept open, as undici's default keep-alive timeout. */
export const IDLE_TIMEOUT = 4_000;

interface Idle {
  connection: HttpConnection;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * Keep-alive connections per key (origin and, through its owner, pin
 * policy). Idle connections neither keep the process alive nor outlive
 * IDLE_TIMEOUT.
 */
export class Pool {
  readonly #runtime: Runtime;
  readonly #idle = new Map<string, Idle[]>();
  readonly #busy = new Set<HttpConnection>();

  constructor(runtime: Runtime) {
    this.#runtime = runtime;
  }

  /** An idle open connection for `key`, or a new one from `open`. */
  async acquire(key: string, open: () => Promise<HttpConnection>): Promise<HttpConnection> {
    const idle = this.#idle.get(key);
    for (let entry = idle?.pop(); entry; entry = idle?.pop()) {
      clearTimeout(entry.timer);
      if (entry.connection.open) return this.#use(entry.connection);
      entry.connection.destroy();
    }
    return this.#use(await open());
  }

  #use(connection: HttpConnection): HttpConnection {
    connection.tls.setKeepsProcessAlive(true);
    this.#busy.add(connection);
    return connection;
  }

  /** Takes a connection back after its exchange; one that cannot be reused is closed. */
  release(key: string, connection: HttpConnection, reusable: boolean): void {
    this.#busy.delete(connection);
    if (!reusable || !connection.open) return connection.destroy();
    connection.tls.setKeepsProcessAlive(false);
    const entries = this.#idle.get(key) ?? [];
    const timer = setTimeout(() => {
      const at = entries.findIndex((entry) => entry.connection === connection);
      if (at !== -1) entries.splice(at, 1);
      connection.destroy();
    }, IDLE_TIMEOUT);
    this.#runtime.unrefTimer(timer);
    entries.push({ connection, timer });
    this.#idle.set(key, entries);
  }

  /** Closes every connection, idle or busy. */
  async close(): Promise<void> {
    const idle = [...this.#idle.values()].flat();
    this.#idle.clear();
    for (const { timer } of idle) clearTimeout(timer);
    const all = [...idle.map(({ connection }) => connection), ...this.#busy];
    this.#busy.clear();
    await Promise.all(all.map((connection) => connection.tls.close()));
  }
}
