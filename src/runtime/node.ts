import { readFile, writeFile } from "node:fs/promises";
import { connect as netConnect, type Socket as NetSocket } from "node:net";
import { env } from "node:process";

import { connectError } from "./failures.js";
import { PushedReads } from "./pushed.js";
import { connectUnlessAborted } from "./socket-state.js";
import type { BuiltInRuntime, ConnectOptions, Socket } from "./types.js";

/** Node's sockets through `node:net`. */
export const nodeRuntime: BuiltInRuntime = {
  name: "node",
  // A new node:crypto cipher per record costs more than the engine takes for a record of 4 KiB.
  smallRecordsInEngine: 4096,
  // node:crypto's X25519 (OpenSSL 3's key generation and export) costs as much CPU per cold request as ring's in wasm.
  x25519InHost: false,

  connect({ host, port, signal }: ConnectOptions): Promise<Socket> {
    return connectUnlessAborted(signal, () => netSocket(host, port, signal));
  },

  async readFile(url: URL): Promise<Uint8Array<ArrayBuffer>> {
    return new Uint8Array(await readFile(url));
  },

  writeFile(url: URL, data: Uint8Array): Promise<void> {
    return writeFile(url, data);
  },

  environment(names: readonly string[]): Record<string, string | undefined> {
    return Object.fromEntries(names.map((name) => [name, env[name]]));
  },

  unrefTimer(timer: ReturnType<typeof setTimeout>): void {
    timer.unref();
  },
};

/** A connected socket; `signal` cancels the attempt in flight, which Node (unlike Deno and Bun) can do. */
function netSocket(host: string, port: number, signal: AbortSignal | undefined): Promise<Socket> {
  return new Promise((resolve, reject) => {
    // Half-open, as in Deno and Bun: the peer's FIN ends reads, not our writes.
    const socket = netConnect({ host, port, noDelay: true, allowHalfOpen: true });
    const onAbort = () => {
      socket.destroy();
      reject(signal?.reason);
    };
    const settle = () => {
      signal?.removeEventListener("abort", onAbort);
      socket.off("error", onError);
    };
    const onError = (error: Error) => {
      settle();
      socket.destroy();
      reject(connectError(host, port, error));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    socket.once("error", onError);
    socket.once("connect", () => {
      settle();
      resolve(new NodeSocket(socket, host, port));
    });
  });
}

class NodeSocket implements Socket {
  readonly #socket: NetSocket;
  readonly #state: PushedReads;

  constructor(socket: NetSocket, host: string, port: number) {
    this.#socket = socket;
    this.#state = new PushedReads(() => socket.resume());
    socket.pause();
    socket.on("data", (chunk: Buffer) => {
      if (!this.#state.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))) socket.pause();
    });
    socket.on("end", () => this.#state.end());
    socket.on("error", (error) => this.#state.fail(connectError(host, port, error)));
    socket.on("close", () => this.#state.close());
  }

  read(): Promise<Uint8Array | null> {
    return this.#state.read();
  }

  write(data: Uint8Array): Promise<void> {
    const refused = this.#state.refusedWrite();
    if (refused) return refused;
    if (this.#socket.write(data)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.#socket.off("drain", done);
        this.#socket.off("close", done);
        resolve();
      };
      this.#socket.on("drain", done);
      this.#socket.on("close", done);
    });
  }

  close(): void {
    if (this.#state.close()) this.#socket.destroy();
  }

  setKeepsProcessAlive(keep: boolean): void {
    if (this.#state.closed) return;
    if (keep) this.#socket.ref();
    else this.#socket.unref();
  }
}
