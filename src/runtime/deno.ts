import { fileURLToPath } from "node:url";

import { PinnedFetchError } from "../errors.js";
import { connectError } from "./failures.js";
import { SocketState, connectUnlessAborted } from "./socket-state.js";
import type { BuiltInRuntime, ConnectOptions, Socket } from "./types.js";

/** The part of `Deno.TcpConn` this adapter uses. */
interface DenoConn {
  read(buffer: Uint8Array): Promise<number | null>;
  write(data: Uint8Array): Promise<number>;
  close(): void;
  setNoDelay(noDelay?: boolean): void;
  ref(): void;
  unref(): void;
}

/** The part of the `Deno` namespace this adapter uses. */
interface DenoApi {
  connect(options: { hostname: string; port: number; transport: "tcp" }): Promise<DenoConn>;
  readFile(path: URL): Promise<Uint8Array<ArrayBuffer>>;
  writeFile(path: URL, data: Uint8Array): Promise<void>;
  /** `get` throws where Deno was not given `--allow-env` for the name. */
  env: { get(name: string): string | undefined };
  unrefTimer(id: number): void;
}

const deno = (): DenoApi => (globalThis as unknown as { Deno: DenoApi }).Deno;

/** Received bytes per read: a TLS record is at most ~16 KiB, so one read often takes several. */
const READ_SIZE = 64 * 1024;

/** Deno's sockets through `Deno.connect`. */
export const denoRuntime: BuiltInRuntime = {
  name: "deno",
  // A new node:crypto cipher per record costs more than the engine takes for a record of 4 KiB.
  smallRecordsInEngine: 4096,
  // node:crypto's X25519 costs as much CPU per cold request as ring's in wasm (its agreement alone takes ~80 µs).
  x25519InHost: false,

  // No signal for Deno.connect: if it aborts just as the connection is made, Deno keeps the socket and
  // rejects, and the socket leaks. The signal is checked before and after instead.
  connect({ host, port, signal }: ConnectOptions): Promise<Socket> {
    return connectUnlessAborted(signal, async () => {
      const conn = await deno()
        .connect({ hostname: host, port, transport: "tcp" })
        .catch((error: unknown) => {
          throw connectError(host, port, error, failedLookup(error) ? "ENOTFOUND" : undefined);
        });
      conn.setNoDelay(true);
      return new DenoSocket(conn, host, port);
    });
  },

  readFile(url: URL): Promise<Uint8Array<ArrayBuffer>> {
    return deno()
      .readFile(url)
      .catch((error: unknown) => permitted(error, "read", url));
  },

  writeFile(url: URL, data: Uint8Array): Promise<void> {
    return deno()
      .writeFile(url, data)
      .catch((error: unknown) => permitted(error, "write", url));
  },

  environment(names: readonly string[]): Record<string, string | undefined> {
    const values: Record<string, string | undefined> = {};
    for (const name of names) {
      try {
        values[name] = deno().env.get(name);
      } catch (error) {
        // Naming every variable, so that one change of flags is enough.
        throw new PinnedFetchError(
          "ERR_CONFIG",
          `Deno did not let pinned-fetch read the environment variables ${names.join(", ")} (${String(error)}). ` +
            `Run it with --allow-env=${names.join(",")}.`,
          { cause: error },
        );
      }
    }
    return values;
  },

  unrefTimer(timer: ReturnType<typeof setTimeout>): void {
    deno().unrefTimer(timer as unknown as number);
  },
};

class DenoSocket implements Socket {
  readonly #conn: DenoConn;
  readonly #host: string;
  readonly #port: number;
  readonly #state = new SocketState();
  readonly #buffer = new Uint8Array(READ_SIZE);
  /** The last queued write: Deno writes may be partial, so each waits for the one before. */
  #writing: Promise<void> = Promise.resolve();

  constructor(conn: DenoConn, host: string, port: number) {
    this.#conn = conn;
    this.#host = host;
    this.#port = port;
  }

  async read(): Promise<Uint8Array | null> {
    if (this.#state.error) throw this.#state.error;
    if (this.#state.closed) return null;
    const length = await this.#conn.read(this.#buffer).catch((error: unknown) => {
      this.#fail(error);
      return null;
    });
    if (length !== null) return this.#buffer.subarray(0, length);
    // A failed write ends reads with its error, as in Node and Bun.
    if (this.#state.error) throw this.#state.error;
    return null;
  }

  write(data: Uint8Array): Promise<void> {
    const refused = this.#state.refusedWrite();
    if (refused) return refused;
    this.#writing = this.#writing.then(() => this.#writeAll(data));
    return this.#writing;
  }

  async #writeAll(data: Uint8Array): Promise<void> {
    try {
      for (let at = 0; at < data.length && !this.#state.closed && !this.#state.error;) {
        at += await this.#conn.write(data.subarray(at));
      }
    } catch (error) {
      // Reported by the next read, as the other runtimes do.
      this.#fail(error);
    }
  }

  #fail(error: unknown): void {
    this.#state.fail(connectError(this.#host, this.#port, error));
  }

  close(): void {
    if (!this.#state.close()) return;
    try {
      this.#conn.close();
    } catch {
      // Already closed by Deno after a failure.
    }
  }

  setKeepsProcessAlive(keep: boolean): void {
    if (this.#state.closed) return;
    if (keep) this.#conn.ref();
    else this.#conn.unref();
  }
}

/**
 * Whether Deno failed to resolve the host name. Deno gives such a failure no
 * code and no error class of its own (a plain Error, where a refused
 * connection is Deno.errors.ConnectionRefused with code ECONNREFUSED), so its
 * message is the only sign; this is the one place that reads it. Named as
 * Node and Bun name them, lookup failures read the same everywhere.
 */
function failedLookup(error: unknown): boolean {
  return /failed to lookup address/i.test(String((error as { message?: unknown } | null)?.message));
}

/** Rethrows `error`; Deno's refusal for want of a permission flag as ERR_CONFIG that names the flag. */
function permitted(error: unknown, access: "read" | "write", url: URL): never {
  if (error instanceof Error && error.name === "NotCapable") {
    const path = fileURLToPath(url);
    throw new PinnedFetchError(
      "ERR_CONFIG",
      `Deno did not let pinned-fetch ${access} ${path} (${error.message}). Run it with --allow-${access}=${path}.`,
      {
        cause: error,
      },
    );
  }
  throw error;
}
