import { readFile, writeFile } from "node:fs/promises";
import { connect as netConnect, type Socket as NetSocket } from "node:net";
import { env } from "node:process";

import { connectError } from "./failures.js";
import { PushedReads } from "./pushed.js";
import { connectUnlessAborted } from "./socket-state.js";
import type { BuiltInRuntime, ConnectOptions, Socket } from "./types.js";

/** Bytes of a small read buffer: a short response, or a handshake flight, fits in one. */
const SMALL_READ = 4 * 1024;
/** Bytes of a large read buffer: Node's own read size, and the most TLS takes per call. */
const LARGE_READ = 64 * 1024;

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
    const buffers = new ReadBuffers();
    let received: (length: number, buffer: Uint8Array) => boolean = () => false; // nothing comes before "connect"
    // Half-open, as in Deno and Bun: the peer's FIN ends reads, not our writes.
    const socket = netConnect({
      host,
      port,
      noDelay: true,
      allowHalfOpen: true,
      // Node asks for the buffer of its next read before its first read and after each.
      onread: {
        buffer: () => buffers.next(),
        callback: (length, buffer) => {
          buffers.read(length, buffer);
          return received(length, buffer);
        },
      },
    });
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
      const adapted = new NodeSocket(socket, host, port);
      received = (length, buffer) => adapted.received(length, buffer);
      resolve(adapted);
    });
  });
}

/**
 * The buffers Node reads a socket into, two in turn, since the buffer of the read before may still be in use (see
 * NodeSocket): two of 4 KiB, and two of 64 KiB from a read that fills its buffer until a read does not, so that a
 * download takes few reads and an idle connection holds 8 KiB (136 KiB if its last read filled a buffer).
 */
class ReadBuffers {
  readonly #small = readBuffers(SMALL_READ);
  #large: readonly [Uint8Array, Uint8Array] | null = null;
  #turn = 0;

  /** The buffer of Node's next read: never the one of the read before, since the pair changes or the turn does. */
  next(): Uint8Array {
    this.#turn ^= 1;
    return (this.#large ?? this.#small)[this.#turn]!;
  }

  /** Node read `length` bytes into `buffer`: it decides the size of the next. */
  read(length: number, buffer: Uint8Array): void {
    if (length === buffer.length) this.#large ??= readBuffers(LARGE_READ);
    else this.#large = null;
  }
}

/**
 * Two buffers of `size` bytes for reads, in one allocation, zeroed so that a chunk's `.buffer` shows no stale
 * memory. Plain Uint8Arrays, whose slice() copies (a Buffer's would not).
 */
function readBuffers(size: number): readonly [Uint8Array, Uint8Array] {
  const both = new Uint8Array(2 * size);
  return [both.subarray(0, size), both.subarray(size)];
}

/**
 * A Node socket that reads into buffers of its own (ReadBuffers) through node:net's `onread`: a new buffer per read,
 * and the stream that carries it, cost 12 to 22 % of a 64 MiB download's CPU (BENCHMARKS.md). A read gets a view of
 * a buffer. As the Socket contract asks, it stays as it is until the next read: Node reads into the other buffer
 * first, and into this one again only after a read has asked since, for received() pauses the socket when none
 * waits.
 */
class NodeSocket implements Socket {
  readonly #socket: NetSocket;
  readonly #state: PushedReads;

  constructor(socket: NetSocket, host: string, port: number) {
    this.#socket = socket;
    this.#state = new PushedReads(() => socket.resume());
    socket.pause();
    socket.on("end", () => this.#state.end());
    socket.on("error", (error) => this.#state.fail(connectError(host, port, error)));
    socket.on("close", () => this.#state.close());
  }

  /**
   * Node's callback for `length` bytes read into `buffer`. A chunk no read waits for is queued as a copy, and pauses
   * the socket (false).
   */
  received(length: number, buffer: Uint8Array): boolean {
    const chunk = buffer.subarray(0, length);
    if (this.#state.handOver(chunk)) return true;
    this.#state.queue(chunk.slice());
    return false;
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
