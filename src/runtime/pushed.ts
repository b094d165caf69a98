// The state and reads of a socket that pushes what it receives (Node, Bun). The adapter queues a chunk that no read
// waits for and pauses its socket, and `resume` runs only when a read waits, so TLS is read only as fast as its
// consumer goes. A chunk handed straight to a waiting read leaves the socket flowing: pausing and resuming it for
// every response cost a keep-alive request about a tenth of its CPU in Bun.
import type { PinnedFetchError } from "../errors.js";
import { SocketState } from "./socket-state.js";

export class PushedReads extends SocketState {
  readonly #resume: () => void;
  readonly #chunks: Uint8Array[] = [];
  /** Whether the peer finished sending. */
  #ended = false;
  /** The read that waits for the next chunk. */
  #pending: { resolve(chunk: Uint8Array | null): void; reject(error: Error): void } | null = null;

  constructor(resume: () => void) {
    super();
    this.#resume = resume;
  }

  /** Hands `chunk` to the read that waits; false if none waits: then the adapter queues it and pauses its socket. */
  handOver(chunk: Uint8Array): boolean {
    const pending = this.#takePending();
    pending?.resolve(chunk);
    return pending !== null;
  }

  /** Keeps `chunk`, which must stay as it is, for the next read. */
  queue(chunk: Uint8Array): void {
    this.#chunks.push(chunk);
  }

  /** The peer finished sending: reads end with null, and writing stays possible. */
  end(): void {
    this.#ended = true;
    this.#takePending()?.resolve(null);
  }

  override fail(error: PinnedFetchError): boolean {
    if (!super.fail(error)) return false;
    this.#takePending()?.reject(error);
    return true;
  }

  override close(): boolean {
    const first = super.close();
    this.#takePending()?.resolve(null);
    return first;
  }

  /** The next chunk received; its failure once the socket failed; null once the peer finished or it closed. */
  read(): Promise<Uint8Array | null> {
    const queued = this.#chunks.shift();
    if (queued) return Promise.resolve(queued);
    if (this.error) return Promise.reject(this.error);
    if (this.#ended || this.closed) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject };
      this.#resume();
    });
  }

  /** The waiting read, which the caller settles; none waits after it. */
  #takePending() {
    const pending = this.#pending;
    this.#pending = null;
    return pending;
  }
}
