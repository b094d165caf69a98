// What every adapter's socket keeps the same way: whether it is open, closed or failed, and the checks made on
// it. A failure is kept from the first error until the socket closes; reads report it, and writes are refused
// with it. A failure after the socket closed is the close's own doing (a read or write it cut short) and is
// not kept, so reads after close() end with null in every runtime.
import type { PinnedFetchError } from "../errors.js";
import { closedError } from "./failures.js";
import type { Socket } from "./types.js";

export class SocketState {
  #closed = false;
  #error: PinnedFetchError | null = null;

  /** Whether the socket was closed, by close() or by the runtime. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The socket's first failure, if any. */
  get error(): PinnedFetchError | null {
    return this.#error;
  }

  /** Keeps `error` as the socket's failure; false where it had already failed or closed. */
  fail(error: PinnedFetchError): boolean {
    if (this.#closed || this.#error) return false;
    this.#error = error;
    return true;
  }

  /** Marks the socket closed; true the first time, when the adapter closes its runtime's socket. */
  close(): boolean {
    if (this.#closed) return false;
    this.#closed = true;
    return true;
  }

  /** A write on a failed or closed socket: rejected with the failure or ERR_CONNECT; null while the socket is open. */
  refusedWrite(): Promise<void> | null {
    if (this.#error) return Promise.reject(this.#error);
    if (this.#closed) return Promise.reject(closedError());
    return null;
  }
}

/**
 * Runs `connect` under `signal` as every adapter does: an aborted signal
 * rejects with its reason before the attempt, and a socket that connects
 * after the signal aborted is closed and rejected the same way. Whether an
 * attempt in flight can be cancelled is the runtime's matter (Node's can).
 */
export async function connectUnlessAborted<T extends Socket>(
  signal: AbortSignal | undefined,
  connect: () => Promise<T>,
): Promise<T> {
  signal?.throwIfAborted();
  const socket = await connect();
  if (signal?.aborted) {
    socket.close();
    throw signal.reason;
  }
  return socket;
}
