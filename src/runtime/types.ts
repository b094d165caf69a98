// The one thing a runtime lends pinned-fetch: a raw TCP socket. Everything
// above it — TLS, HTTP, pins — is the same code in every runtime.

/**
 * A raw TCP socket, as a runtime adapter lends it. Every adapter keeps to the
 * same contract (the built-in ones through SocketState):
 * - reads are pulled: nothing is read from the network while nobody asks;
 * - the peer's end (FIN) ends reads with null and leaves writing possible;
 * - failures (refused, reset, DNS) are ERR_CONNECT, from the next read.
 */
export interface Socket {
  /**
   * The next received bytes, or null once the peer has finished sending or
   * the socket was closed. One read at a time; the bytes are valid until the
   * next read (an adapter may reuse its buffer).
   */
  read(): Promise<Uint8Array | null>;
  /**
   * Queues `data` for sending. Bytes go out in the order of the calls, so a
   * caller may start the next write without waiting; the promise resolves
   * when the socket can take more (backpressure), or once the socket is
   * closed or failed — a failure is reported by read(). Rejects if the socket
   * had already failed or closed.
   */
  write(data: Uint8Array): Promise<void>;
  /** Closes the socket in both directions; pending reads end with null. Idempotent. */
  close(): void;
  /** Whether an open socket keeps the process alive: HTTP asks for it only while something waits on the network through it. */
  setKeepsProcessAlive(keep: boolean): void;
}

export interface ConnectOptions {
  host: string;
  port: number;
  /**
   * Aborts the attempt. Every adapter rejects with the signal's reason if it
   * aborted before the attempt, and closes a socket that connects after it
   * aborted (`connectUnlessAborted`); one that can cancel an attempt in
   * flight (Node's) does. Callers still bound the wait themselves, since
   * Deno's and Bun's attempts run on until the system gives up on them.
   */
  signal?: AbortSignal | undefined;
}

/** The runtimes pinned-fetch detects and has adapters for. */
export type RuntimeName = "node" | "deno" | "bun";

/**
 * What a runtime lends: TCP sockets and timers. Only bytes that TLS
 * protects pass through it (and the CONNECT request to a proxy), so an
 * adapter of the caller's cannot weaken verification.
 */
export interface Runtime {
  /** "node", "deno" or "bun" for the built-in adapters. */
  readonly name: string;
  /** Opens a TCP connection; fails with ERR_CONNECT. */
  connect(options: ConnectOptions): Promise<Socket>;
  /** Lets the process exit while `timer` is pending (timers of idle connections). */
  unrefTimer(timer: ReturnType<typeof setTimeout>): void;
}

/**
 * A built-in adapter also does the file I/O of pinned-fetch, so that no other
 * module touches runtime APIs: the files the CLI is given. It reads
 * environment variables (for `proxy: "env"`).
 */
export interface BuiltInRuntime extends Runtime {
  readFile(url: URL): Promise<Uint8Array<ArrayBuffer>>;
  /** Creates or replaces the file. */
  writeFile(url: URL, data: Uint8Array): Promise<void>;
  /**
   * The values of the environment variables `names`, undefined where unset.
   * All at once, so that a runtime that needs permission (Deno) can name
   * every variable in one ERR_CONFIG.
   */
  environment(names: readonly string[]): Record<string, string | undefined>;
  /**
   * ChaCha20-Poly1305 records up to this many bytes are sealed and opened inside the TLS engine instead of
   * through node:crypto, where a new cipher for each record costs more than the engine's own cipher takes for
   * one that small (BENCHMARKS.md, "Figures behind design choices"). 0: every record goes to node:crypto.
   */
  readonly smallRecordsInEngine: number;
  /**
   * Whether X25519 goes to node:crypto (the private key kept here, the engine given a handle) rather than ring's
   * code in the engine (BENCHMARKS.md, "Figures behind design choices").
   */
  readonly x25519InHost: boolean;
}
