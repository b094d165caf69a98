// When a connection keeps the process alive: exactly while someone waits on the network through it (a request for
// its response head, a read of its body). An unread body or an idle connection does not, as in undici.
import type { Connection } from "../tls/connection.js";

/** Counts a connection's waits on the network, and lets its socket keep the process alive while there are any. */
export class NetworkWaits {
  readonly #tls: Connection;
  #waits = 0;

  constructor(tls: Connection) {
    this.#tls = tls;
    tls.setKeepsProcessAlive(false);
  }

  /** `work`, during which the process stays alive. */
  async around<T>(work: Promise<T>): Promise<T> {
    if (this.#waits++ === 0) this.#tls.setKeepsProcessAlive(true);
    try {
      return await work;
    } finally {
      if (--this.#waits === 0) this.#tls.setKeepsProcessAlive(false);
    }
  }
}
