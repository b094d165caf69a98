import { connectError } from "./failures.js";
import { PushedReads } from "./pushed.js";
import { connectUnlessAborted } from "./socket-state.js";
import type { BuiltInRuntime, ConnectOptions, Socket } from "./types.js";

/** The part of Bun's TCP socket this adapter uses. */
interface BunTcpSocket {
  readonly data: BunSocket;
  /** Bytes taken, which may be fewer than given (the rest is ours to resend on drain); -1 once closed. */
  write(data: Uint8Array): number;
  terminate(): void;
  pause(): void;
  resume(): void;
  ref(): void;
  unref(): void;
  setNoDelay(noDelay?: boolean): boolean;
}

interface BunSocketHandlers {
  open(socket: BunTcpSocket): void;
  data(socket: BunTcpSocket, data: Uint8Array): void;
  drain(socket: BunTcpSocket): void;
  end(socket: BunTcpSocket): void;
  close(socket: BunTcpSocket, error?: Error): void;
  error(socket: BunTcpSocket, error: Error): void;
  connectError(socket: BunTcpSocket, error: Error): void;
}

/** The part of the `Bun` namespace this adapter uses. */
interface BunApi {
  connect(options: {
    hostname: string;
    port: number;
    allowHalfOpen: boolean;
    data: BunSocket;
    socket: BunSocketHandlers;
  }): Promise<BunTcpSocket>;
  file(url: URL): { bytes(): Promise<Uint8Array<ArrayBuffer>> };
  write(destination: URL, data: Uint8Array): Promise<number>;
  readonly env: Record<string, string | undefined>;
}

const bun = (): BunApi => (globalThis as unknown as { Bun: BunApi }).Bun;

/** One set of handlers for every socket; each socket's `data` is its adapter. */
const HANDLERS: BunSocketHandlers = {
  open: (socket) => socket.data.opened(socket),
  data: (socket, data) => socket.data.received(data),
  drain: (socket) => socket.data.flush(),
  end: (socket) => socket.data.ended(),
  close: (socket, error) => socket.data.closed(error),
  error: (socket, error) => socket.data.failed(error),
  connectError: () => {}, // Bun.connect rejects with it
};

/** Bun's sockets through `Bun.connect`. */
export const bunRuntime: BuiltInRuntime = {
  name: "bun",
  // Bun 1.4's node:crypto has no ChaCha20-Poly1305 (ring's suite carries it whole). Should it gain one, its records
  // go to it, as AES-GCM's do: BoringSSL makes a cipher cheaply (not measured for ChaCha20-Poly1305).
  smallRecordsInEngine: 0,
  // BoringSSL's X25519 saves about 18% of the CPU of a cold request against ring's in wasm under JavaScriptCore.
  x25519InHost: true,

  // Bun.connect cannot be cancelled: the signal is checked before and after.
  connect({ host, port, signal }: ConnectOptions): Promise<Socket> {
    return connectUnlessAborted(signal, async () => {
      const adapter = new BunSocket(host, port);
      // Half-open, as in Node and Deno: the peer's FIN ends reads, not our writes.
      await bun()
        .connect({ hostname: host, port, allowHalfOpen: true, data: adapter, socket: HANDLERS })
        .catch((error: unknown) => {
          throw connectError(host, port, error);
        });
      return adapter;
    });
  },

  readFile(url: URL): Promise<Uint8Array<ArrayBuffer>> {
    return bun().file(url).bytes();
  },

  async writeFile(url: URL, data: Uint8Array): Promise<void> {
    await bun().write(url, data);
  },

  environment(names: readonly string[]): Record<string, string | undefined> {
    const { env } = bun();
    return Object.fromEntries(names.map((name) => [name, env[name]]));
  },

  unrefTimer(timer: ReturnType<typeof setTimeout>): void {
    timer.unref();
  },
};

interface PendingWrite {
  data: Uint8Array;
  resolve(): void;
}

class BunSocket implements Socket {
  readonly #host: string;
  readonly #port: number;
  readonly #state: PushedReads;
  #socket: BunTcpSocket | null = null;
  /** Bytes Bun did not take yet, in order; sent on drain. */
  readonly #pending: PendingWrite[] = [];

  constructor(host: string, port: number) {
    this.#host = host;
    this.#port = port;
    this.#state = new PushedReads(() => this.#socket?.resume());
  }

  opened(socket: BunTcpSocket): void {
    this.#socket = socket;
    socket.pause();
    socket.setNoDelay(true);
  }

  received(data: Uint8Array): void {
    if (this.#state.handOver(data)) return;
    this.#state.queue(data);
    this.#socket?.pause();
  }

  ended(): void {
    this.#state.end();
  }

  failed(error: Error): void {
    this.#state.fail(connectError(this.#host, this.#port, error));
  }

  closed(error?: Error): void {
    if (error) this.failed(error);
    this.#state.close();
    this.#releaseWrites();
  }

  /** Writes waiting for Bun to take them end once the socket closed; a failure is reported by read(). */
  #releaseWrites(): void {
    for (const write of this.#pending.splice(0)) write.resolve();
  }

  read(): Promise<Uint8Array | null> {
    return this.#state.read();
  }

  write(data: Uint8Array): Promise<void> {
    const refused = this.#state.refusedWrite();
    if (refused) return refused;
    const socket = this.#socket!; // set by Bun's open handler, before Bun.connect resolves
    if (this.#pending.length === 0) {
      const taken = socket.write(data);
      if (taken >= data.length) return Promise.resolve();
      data = data.subarray(Math.max(taken, 0));
    }
    return new Promise((resolve) => this.#pending.push({ data, resolve }));
  }

  /** Sends what Bun could not take before, as far as it takes it now. */
  flush(): void {
    while (this.#pending.length > 0 && this.#socket) {
      const head = this.#pending[0]!;
      const taken = this.#socket.write(head.data);
      if (taken < head.data.length) {
        head.data = head.data.subarray(Math.max(taken, 0));
        return;
      }
      this.#pending.shift();
      head.resolve();
    }
  }

  close(): void {
    if (this.#state.close()) this.#socket?.terminate();
    this.#releaseWrites();
  }

  setKeepsProcessAlive(keep: boolean): void {
    if (this.#state.closed) return;
    if (keep) this.#socket?.ref();
    else this.#socket?.unref();
  }
}
