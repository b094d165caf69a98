import { fileURLToPath } from "node:url";

import { PinnedFetchError } from "../errors.js";
import { closedError, connectError } from "./failures.js";
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

  // No signal for Deno.connect: if it aborts just as the connection is made, Deno keeps the socket and
  // rejects, and the socket leaks. The caller closes a socket that connects after it gave up instead.
  async connect({ host, port }: ConnectOptions): Promise<Socket> {
    const conn = await deno()
      .connect({ hostname: host, port, transport: "tcp" })
      .catch((error: unknown) => {
        throw connectError(host, port, error, failedLookup(error) ? "ENOTFOUND" : undefined);
      });
    conn.setNoDelay(true);
    return new DenoSocket(conn, host, port);
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
  readonly #buffer = new Uint8Array(READ_SIZE);
  /** The last queued write: Deno writes may be partial, so each waits for the one before. */
  #writing: Promise<void> = Promise.resolve();
  #closed = false;
  #error: Error | null = null;

  constructor(conn: DenoConn, host: string, port: number) {
    this.#conn = conn;
    this.#host = host;
    this.#port = port;
  }

  async read(): Promise<Uint8Array | null> {
    if (this.#error) throw this.#error;
    if (this.#closed) return null;
    const length = await this.#conn.read(this.#buffer).catch((error: unknown) => {
      if (!this.#closed) this.#fail(error);
      return null;
    });
    if (length !== null) return this.#buffer.subarray(0, length);
    // A failed write ends reads with its error, as in Node and Bun.
    if (this.#error) throw this.#error;
    return null;
  }

  write(data: Uint8Array): Promise<void> {
    if (this.#error) return Promise.reject(this.#error);
    if (this.#closed) return Promise.reject(closedError());
    this.#writing = this.#writing.then(() => this.#writeAll(data));
    return this.#writing;
  }

  async #writeAll(data: Uint8Array): Promise<void> {
    try {
      for (let at = 0; at < data.length && !this.#closed && !this.#error;) {
        at += await this.#conn.write(data.subarray(at));
      }
    } catch (error) {
      // Reported by the next read, as the other runtimes do.
      if (!this.#closed) this.#fail(error);
    }
  }

  #fail(error: unknown): void {
    this.#error ??= connectError(this.#host, this.#port, error);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed by Deno after a failure.
    }
  }

  setKeepsProcessAlive(keep: boolean): void {
    if (this.#closed) return;
    if (keep) this.#conn.ref();
    else this.#conn.unref();
  }
}

/** Deno's failed lookups carry no code; named as Node and Bun name them, they read the same everywhere. */
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
