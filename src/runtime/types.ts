/**
 * The one thing a runtime lends pinned-fetch: a raw TCP socket. Everything
 * above it — TLS, HTTP, pins — is the same code in every runtime.
 */
export interface Socket {
  /** The next received bytes, or null once the peer has finished sending. One read at a time. */
  read(): Promise<Uint8Array | null>;
  /**
   * Queues `data` for sending. Bytes go out in the order of the calls, so a
   * caller may start the next write without waiting; the promise resolves when
   * the socket can take more (backpressure).
   */
  write(data: Uint8Array): Promise<void>;
  /** Closes the socket in both directions; pending reads end with null. Idempotent. */
  close(): void;
  /** Whether an open socket keeps the process alive (idle pooled sockets should not). */
  setKeepsProcessAlive(keep: boolean): void;
}

export interface ConnectOptions {
  host: string;
  port: number;
  signal?: AbortSignal;
}

export interface Runtime {
  readonly name: "node" | "deno" | "bun";
  /** Opens a TCP connection; fails with ERR_CONNECT, or the signal's reason once aborted. */
  connect(options: ConnectOptions): Promise<Socket>;
  /** Reads a file shipped with the package (the engine). */
  readFile(url: URL): Promise<Uint8Array<ArrayBuffer>>;
  /** Lets the process exit while `timer` is pending (timers of idle connections). */
  unrefTimer(timer: ReturnType<typeof setTimeout>): void;
}
