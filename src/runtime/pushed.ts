/**
 * Reads for sockets that push what they receive (Node, Bun). The adapter
 * pauses its socket after every chunk and `resume` runs only when a read
 * waits, so TLS is read only as fast as its consumer goes.
 */
export class PushedReads {
  readonly #resume: () => void;
  readonly #chunks: Uint8Array[] = [];
  #ended = false;
  #error: Error | null = null;
  #waiter: { resolve(chunk: Uint8Array | null): void; reject(error: Error): void } | null = null;

  constructor(resume: () => void) {
    this.#resume = resume;
  }

  /** The first failure, if any. */
  get error(): Error | null {
    return this.#error;
  }

  push(chunk: Uint8Array): void {
    const waiter = this.#take();
    if (waiter) waiter.resolve(chunk);
    else this.#chunks.push(chunk);
  }

  /** The peer finished sending, or the socket closed. */
  end(): void {
    this.#ended = true;
    this.#take()?.resolve(null);
  }

  fail(error: Error): void {
    this.#error ??= error;
    this.#take()?.reject(this.#error);
  }

  read(): Promise<Uint8Array | null> {
    const queued = this.#chunks.shift();
    if (queued) return Promise.resolve(queued);
    if (this.#error) return Promise.reject(this.#error);
    if (this.#ended) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
      this.#resume();
    });
  }

  #take() {
    const waiter = this.#waiter;
    this.#waiter = null;
    return waiter;
  }
}
