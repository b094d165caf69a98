// One runtime's side of the WebSocket measures: pinned-fetch's
// `fetch.WebSocket` against the runtime's own WebSocket (unpinned: Deno's has
// no verification hook, and Node's takes no certificate options; the process
// trusts the bench CA through NODE_EXTRA_CA_CERTS or Deno's --cert, and Bun's
// is given it as `tls.ca`) and, in Node, the ws package with a
// checkServerIdentity pin. The server is the ws package's, without
// permessage-deflate, so that every client sends and reads the same frames;
// pinned-fetch is also timed against an endpoint with it, on random (so
// incompressible) binary messages. Interleaved in rounds, the order flipping
// every round; each measure opens a new connection, untimed. The measures:
//   echo: a 32-byte text message sent, its echo awaited, sequentially;
//   receive: the server sends 64 KiB binary messages as fast as the client
//     takes them (the client's read path);
//   send: the client sends 64 KiB binary messages, which the server
//     acknowledges one by one, with 16 (1 MiB) unacknowledged at most (the
//     client's write path; queuing all at once made Deno's own WebSocket
//     stall for over a minute);
// with the client's CPU time (user + system) per message.
//   <runtime> scripts/bench/websocket.ts '<json>'
// where the JSON holds the server's target and the WebSocketSizes. Prints one JSON line.
import {
  type Target,
  WEBSOCKET_DEFLATE,
  WEBSOCKET_MEASURES,
  WEBSOCKET_MESSAGE_BYTES,
  type WebSocketMeasure,
  benchRuntime,
  runtime,
} from "./common.js";
import { pinCheck } from "./native.js";
import { createPinnedFetch } from "../../src/index.js";

export interface WebSocketSizes {
  rounds: number;
  /** Round trips of the echo measure per client and round. */
  echo: number;
  /** Bytes each throughput measure moves per client and round (a multiple of 64 KiB). */
  bytes: number;
}

export interface WebSocketSamples {
  /** Echo: round trips per second; receive and send: MB (10^6 bytes) per second. One figure per round. */
  perSecond: number[];
  /** The client's CPU time over all rounds, and the messages (echo: round trips) it covers. */
  cpuMs: number;
  messages: number;
}

export interface WebSocketResult {
  /** The name of the runtime's own WebSocket, as the tables show it. */
  native: string;
  measures: Record<WebSocketMeasure, Record<string, WebSocketSamples>>;
}

/** What a measure needs of a connection, the same over every client. */
interface Connection {
  send(data: string | Uint8Array): void;
  /** The one handler of incoming messages (text as a string), and of the connection's end or failure. */
  listen(onMessage: (data: string | { byteLength: number }) => void, onEnd: (error: Error) => void): void;
  close(): Promise<void>;
}
type Open = (url: string) => Promise<Connection>;

const ECHO = "0123456789abcdef".repeat(2);
const MESSAGE = crypto.getRandomValues(new Uint8Array(WEBSOCKET_MESSAGE_BYTES));
/** Messages of the send measure sent and not yet acknowledged, at most. */
const SEND_WINDOW = 16;
/** Far above any measure's time: a stalled connection fails the run instead of hanging it. */
const MEASURE_LIMIT = 60_000;

const { target, sizes } = JSON.parse(process.argv[2]!) as { target: Target; sizes: WebSocketSizes };
const origin = `wss://localhost:${target.webSocketPort}`;

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took more than ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** What the measures use of a WHATWG WebSocket; pinned-fetch's and the runtimes' own have it. */
interface StandardSocket {
  binaryType: BinaryType;
  send(data: string | Uint8Array): void;
  close(): void;
  onopen: ((event: Event) => unknown) | null;
  onmessage: ((event: Event) => unknown) | null;
  onerror: ((event: Event) => unknown) | null;
  onclose: ((event: Event) => unknown) | null;
}

/** A WHATWG WebSocket (pinned-fetch's, or the runtime's own) as a Connection, once open. */
function standard(socket: StandardSocket): Promise<Connection> {
  socket.binaryType = "arraybuffer";
  let onEnd = (_error: Error) => {};
  const failed = (event: Event) => {
    const error = (event as Event & { error?: unknown; message?: string }).error;
    return error instanceof Error ? error : new Error(`WebSocket error: ${(event as { message?: string }).message}`);
  };
  return new Promise((resolve, reject) => {
    socket.onerror = (event) => reject(failed(event));
    socket.onclose = (event) => reject(new Error(`closed before open: ${(event as CloseEvent).code}`));
    socket.onopen = () => {
      socket.onerror = (event) => onEnd(failed(event));
      socket.onclose = (event) => {
        const { code, reason } = event as CloseEvent;
        onEnd(new Error(`closed: ${code} ${reason}`));
      };
      resolve({
        send: (data) => socket.send(data),
        listen: (message, end) => {
          socket.onmessage = (event) => message((event as MessageEvent).data);
          onEnd = end;
        },
        close: () =>
          new Promise((closed) => {
            socket.onclose = () => closed();
            socket.close();
          }),
      });
    };
  });
}

function pinnedOpen(): Open {
  const pinnedFetch = createPinnedFetch({
    pins: { localhost: target.pins },
    ca: target.ca,
    resolve: { localhost: "127.0.0.1" },
  });
  return (url) => standard(new pinnedFetch.WebSocket(url));
}

/** The ws package, pinned with checkServerIdentity; text arrives as a Buffer, turned into a string as users do. */
async function wsOpen(): Promise<Open> {
  const { WebSocket: NodeWebSocket } = await import("ws");
  const options = {
    ca: target.ca,
    checkServerIdentity: pinCheck(target.pins),
    lookup: (
      _host: string,
      _options: object,
      callback: (error: null, addresses: { address: string; family: number }[]) => void,
    ) => callback(null, [{ address: "127.0.0.1", family: 4 }]),
  };
  return (url) =>
    new Promise((resolve, reject) => {
      const socket = new NodeWebSocket(url, options);
      socket.once("error", reject);
      socket.once("open", () => {
        socket.off("error", reject);
        let onEnd = (_error: Error) => {};
        socket.on("error", (error) => onEnd(error));
        socket.on("close", (code) => onEnd(new Error(`closed: ${code}`)));
        resolve({
          send: (data) => socket.send(data),
          listen: (message, end) => {
            socket.removeAllListeners("message");
            socket.on("message", (data: Buffer, isBinary) => message(isBinary ? data : data.toString()));
            onEnd = end;
          },
          close: () =>
            new Promise((closed) => {
              socket.removeAllListeners("close");
              socket.once("close", () => closed());
              socket.close();
            }),
        });
      });
    });
}

/** The runtime's own: Bun's takes the CA as an option of its own; Node's and Deno's trust it by the process's flags. */
function nativeOpen(): Open {
  const Native = globalThis.WebSocket as unknown as new (url: string, options?: object) => StandardSocket;
  if (!Native) throw new Error("this runtime has no global WebSocket (Node 20 needs --experimental-websocket)");
  return (url) => standard(runtime === "bun" ? new Native(url, { tls: { ca: target.ca } }) : new Native(url));
}

/** Resolves when the connection has done `count` of `measure`. */
function exchange(connection: Connection, measure: WebSocketMeasure, count: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let left = count;
    const wrong = (data: unknown) =>
      reject(new Error(`${measure}: unexpected message ${typeof data === "string" ? data.slice(0, 40) : "(binary)"}`));
    if (measure === "echo") {
      connection.listen((data) => {
        if (data !== ECHO) wrong(data);
        else if (--left === 0) resolve();
        else connection.send(ECHO);
      }, reject);
      connection.send(ECHO);
    } else if (measure === "receive") {
      connection.listen((data) => {
        if (typeof data === "string" || data.byteLength !== WEBSOCKET_MESSAGE_BYTES) wrong(data);
        else if (--left === 0) resolve();
      }, reject);
      connection.send(`stream ${count}`);
    } else {
      let sent = Math.min(count, SEND_WINDOW);
      connection.listen((data) => {
        if (data !== "+") wrong(data);
        else if (--left === 0) resolve();
        else if (sent < count) (sent++, connection.send(MESSAGE));
      }, reject);
      for (let i = 0; i < sent; i++) connection.send(MESSAGE);
    }
  });
}

const clients = new Map<string, Open>([
  ["pinned-fetch", pinnedOpen()],
  ["native", nativeOpen()],
  ...(runtime === "node" ? [["ws", await wsOpen()] as [string, Open]] : []),
  [WEBSOCKET_DEFLATE, pinnedOpen()],
]);
const counts: Record<WebSocketMeasure, number> = {
  echo: sizes.echo,
  receive: sizes.bytes / WEBSOCKET_MESSAGE_BYTES,
  send: sizes.bytes / WEBSOCKET_MESSAGE_BYTES,
};

/** One measure on a new connection; resolves to its rate and CPU time, the connection closed. */
async function timed(name: string, measure: WebSocketMeasure, count: number, tag: string) {
  const endpoint = name === WEBSOCKET_DEFLATE ? "/deflate" : "/plain";
  const url = `${origin}${endpoint}?tag=${encodeURIComponent(`${benchRuntime}/${tag}/${name}`)}`;
  const connection = await within(clients.get(name)!(url), MEASURE_LIMIT, `${name}: opening`);
  const cpu = process.cpuUsage();
  const start = performance.now();
  await within(exchange(connection, measure, count), MEASURE_LIMIT, `${name}: ${measure}`);
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  await within(connection.close(), MEASURE_LIMIT, `${name}: closing`);
  const perSecond = measure === "echo" ? count / seconds : (count * WEBSOCKET_MESSAGE_BYTES) / 1e6 / seconds;
  return { perSecond, cpuMs: (used.user + used.system) / 1000 };
}

const samples = () =>
  Object.fromEntries([...clients.keys()].map((name) => [name, { perSecond: [], cpuMs: 0, messages: 0 }]));
const result: WebSocketResult = {
  native: runtime === "node" ? "WebSocket (undici, unpinned)" : "WebSocket (unpinned)",
  measures: { echo: samples(), receive: samples(), send: samples() },
};
// Warm-up, not measured: the JIT sees every path once.
for (const name of clients.keys())
  for (const measure of WEBSOCKET_MEASURES) await timed(name, measure, Math.min(counts[measure], 16), "ws-warm-up");
for (let round = 0; round < sizes.rounds; round++) {
  const order = round % 2 === 0 ? [...clients.keys()] : [...clients.keys()].reverse();
  for (const measure of WEBSOCKET_MEASURES) {
    for (const name of order) {
      const { perSecond, cpuMs } = await timed(name, measure, counts[measure], `ws-${measure}`);
      const samples = result.measures[measure][name]!;
      samples.perSecond.push(perSecond);
      samples.cpuMs += cpuMs;
      samples.messages += counts[measure];
    }
  }
}
console.log(JSON.stringify(result));
process.exit(0);
