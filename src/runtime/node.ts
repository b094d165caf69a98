import { readFile } from "node:fs/promises";
import { connect as netConnect, type Socket as NetSocket } from "node:net";

import { PinnedFetchError } from "../errors.js";
import type { ConnectOptions, Runtime, Socket } from "./types.js";

/** Node's sockets through `node:net`. */
export const nodeRuntime: Runtime = {
  name: "node",

  connect({ host, port, signal }: ConnectOptions): Promise<Socket> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const socket = netConnect({ host, port, noDelay: true });
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
  },

  async readFile(url: URL): Promise<Uint8Array<ArrayBuffer>> {
    return new Uint8Array(await readFile(url));
  },

  unrefTimer(timer: ReturnType<typeof setTimeout>): void {
    timer.unref();
  },
};

class NodeSocket implements Socket {
  #socket: NetSocket;
  #received: Uint8Array[] = [];
  #ended = false;
  #error: PinnedFetchError | null = null;
  #waiting: ((chunk: Uint8Array | null) => void) | null = null;
  #failWaiting: ((error: Error) => void) | null = null;

  constructor(socket: NetSocket, host: string, port: number) {
    this.#socket = socket;
    // Paused until read() asks: TLS is read only as fast as its consumer goes.
    socket.pause();
    socket.on("data", (chunk: Buffer) => {
      const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      socket.pause();
      if (this.#waiting) this.#settle(bytes);
      else this.#received.push(bytes);
    });
    socket.on("end", () => {
      this.#ended = true;
      if (this.#waiting) this.#settle(null);
    });
    socket.on("error", (error) => {
      this.#error = connectError(host, port, error);
      const fail = this.#failWaiting;
      this.#waiting = this.#failWaiting = null;
      fail?.(this.#error);
    });
    socket.on("close", () => {
      this.#ended = true;
      if (this.#waiting) this.#settle(null);
    });
  }

  #settle(chunk: Uint8Array | null) {
    const resolve = this.#waiting;
    this.#waiting = this.#failWaiting = null;
    resolve?.(chunk);
  }

  read(): Promise<Uint8Array | null> {
    const queued = this.#received.shift();
    if (queued) return Promise.resolve(queued);
    if (this.#error) return Promise.reject(this.#error);
    if (this.#ended) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      this.#waiting = resolve;
      this.#failWaiting = reject;
      this.#socket.resume();
    });
  }

  write(data: Uint8Array): Promise<void> {
    if (this.#error) return Promise.reject(this.#error);
    if (this.#socket.destroyed) return Promise.reject(closedError());
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
    this.#socket.destroy();
  }

  setKeepsProcessAlive(keep: boolean): void {
    if (keep) this.#socket.ref();
    else this.#socket.unref();
  }
}

function closedError(): PinnedFetchError {
  return new PinnedFetchError("ERR_CONNECT", "The connection is already closed.");
}

const REASONS: Record<string, string> = {
  ECONNREFUSED: "the connection was refused (is the server running on that port?)",
  ECONNRESET: "the connection was reset by the peer",
  ENOTFOUND: "the host name could not be resolved (check the URL or your DNS, or map it with `resolve`)",
  EAI_AGAIN: "the host name could not be resolved right now (DNS lookup failed temporarily)",
  ETIMEDOUT: "the connection attempt timed out at the network level",
  EHOSTUNREACH: "the host is unreachable",
  ENETUNREACH: "the network is unreachable",
  EPIPE: "the peer closed the connection while we were sending",
};

function connectError(host: string, port: number, error: Error & { code?: string }): PinnedFetchError {
  const reason = (error.code && REASONS[error.code]) ?? error.message;
  return new PinnedFetchError("ERR_CONNECT", `Connection to ${host}:${port} failed: ${reason}.`, {
    host,
    cause: error,
  });
}
