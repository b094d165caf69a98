// A WebSocket server from the runtime that runs this file: `Deno.serve` with
// `Deno.upgradeWebSocket`, or `Bun.serve` with its `websocket` handler (and
// `perMessageDeflate: true`). Started by ./websocket-libraries.ts with the
// certificate chain and key as PEM in CERT_PEM and KEY_PEM; it prints its
// port and exits when its stdin closes.
//
// Every WebSocket URL carries `?id=`, under which the server records what it
// saw of that connection; `GET /report/<id>` answers the record as JSON.
//   /echo     echoes each message as it came (text as text, binary as binary);
//             a text "ping:<payload>" makes Bun ping with that payload, and the
//             pong it gets back is answered with the text "pong:<payload>".
//             `?idle=S`: Deno pings after S/2 s of silence and closes with
//             1001 if no pong follows within another S/2 s.
//   /close    closes at once with `?code=` and `?reason=`.
// Both take the subprotocol named first in PROTOCOLS that the client offered.
import process from "node:process";

/** What the server saw of one connection. */
export interface WebSocketReport {
  /** The request's Sec-WebSocket-Protocol and Sec-WebSocket-Extensions, and its x-pinned-test header. */
  offeredProtocols: string | null;
  offeredExtensions: string | null;
  testHeader: string | null;
  /** The subprotocol the server chose ("" for none). */
  protocol: string;
  messages: number;
  /** The close the server saw: the client's code and reason, or its own close's. */
  closed: { code: number; reason: string } | null;
}

/** The subprotocols the server speaks, in its order of preference. */
const PROTOCOLS = ["echo.v2", "echo.v1"];

interface Listening {
  port: number;
}
interface ServerSocket {
  send(data: string | ArrayBuffer | Uint8Array, compress?: boolean): unknown;
  close(code?: number, reason?: string): void;
  ping?(data: string): unknown;
}
interface Connection {
  id: string;
  path: string;
  url: URL;
}
interface DenoApi {
  serve(
    options: { hostname: string; port: number; cert: string; key: string; onListen(address: Listening): void },
    handler: (request: Request) => Response,
  ): unknown;
  upgradeWebSocket(
    request: Request,
    options: { protocol?: string; idleTimeout?: number },
  ): { socket: WebSocket; response: Response };
}
interface BunApi {
  serve(options: {
    hostname: string;
    port: number;
    tls: { cert: string; key: string };
    fetch(request: Request, server: { upgrade(request: Request, options: object): boolean }): Response | undefined;
    websocket: {
      perMessageDeflate: boolean;
      open(ws: ServerSocket & { data: Connection }): void;
      message(ws: ServerSocket & { data: Connection }, message: string | Uint8Array): void;
      pong(ws: ServerSocket & { data: Connection }, data: Uint8Array): void;
      close(ws: ServerSocket & { data: Connection }, code: number, reason: string): void;
    };
  }): Listening;
}

const reports = new Map<string, WebSocketReport>();
const hostname = "127.0.0.1";
const cert = process.env.CERT_PEM ?? "";
const key = process.env.KEY_PEM ?? "";
const { Deno, Bun } = globalThis as unknown as { Deno?: DenoApi; Bun?: BunApi };

/** The report of `GET /report/<id>`, or null if the request is not one. */
function reportOf(request: Request): Response | null {
  const { pathname } = new URL(request.url);
  if (!pathname.startsWith("/report/")) return null;
  const report = reports.get(pathname.slice("/report/".length));
  return report ? Response.json(report) : new Response("no such connection", { status: 404 });
}

/** Records the upgrade request; answers the connection's id and the subprotocol to take. */
function begin(request: Request): Connection & { protocol: string } {
  const url = new URL(request.url);
  const offered = request.headers.get("sec-websocket-protocol");
  const names = offered?.split(",").map((name) => name.trim()) ?? [];
  const protocol = PROTOCOLS.find((name) => names.includes(name)) ?? "";
  const id = url.searchParams.get("id") ?? "";
  reports.set(id, {
    offeredProtocols: offered,
    offeredExtensions: request.headers.get("sec-websocket-extensions"),
    testHeader: request.headers.get("x-pinned-test"),
    protocol,
    messages: 0,
    closed: null,
  });
  return { id, path: url.pathname, url, protocol };
}

/** What a connection does once open, the same in both runtimes. */
function opened(socket: ServerSocket, connection: Connection): void {
  if (connection.path === "/close") {
    socket.close(Number(connection.url.searchParams.get("code")), connection.url.searchParams.get("reason") ?? "");
  }
}

function received(socket: ServerSocket, connection: Connection, data: string | ArrayBuffer | Uint8Array): void {
  reports.get(connection.id)!.messages++;
  if (typeof data === "string" && data.startsWith("ping:") && socket.ping) {
    socket.ping(data.slice("ping:".length));
    return;
  }
  socket.send(data, true);
}

function closed(connection: Connection, code: number, reason: string): void {
  reports.get(connection.id)!.closed = { code, reason };
}

if (Deno) {
  const deno = Deno;
  deno.serve({ hostname, port: 0, cert, key, onListen: ({ port }) => console.log(port) }, (request) => {
    const report = reportOf(request);
    if (report) return report;
    const connection = begin(request);
    const idle = connection.url.searchParams.get("idle");
    const { socket, response } = deno.upgradeWebSocket(request, {
      ...(connection.protocol && { protocol: connection.protocol }),
      ...(idle && { idleTimeout: Number(idle) }),
    });
    socket.binaryType = "arraybuffer";
    const server: ServerSocket = {
      send: (data) => socket.send(data),
      close: (code, reason) => socket.close(code, reason),
    };
    socket.onopen = () => opened(server, connection);
    socket.onmessage = (event: MessageEvent) => received(server, connection, event.data as string | ArrayBuffer);
    socket.onclose = (event: CloseEvent) => closed(connection, event.code, event.reason);
    return response;
  });
} else if (Bun) {
  const server = Bun.serve({
    hostname,
    port: 0,
    tls: { cert, key },
    fetch(request, bun) {
      const report = reportOf(request);
      if (report) return report;
      const { protocol, ...connection } = begin(request);
      const headers = protocol ? { "sec-websocket-protocol": protocol } : {};
      return bun.upgrade(request, { data: connection, headers })
        ? undefined
        : new Response("upgrade failed", { status: 400 });
    },
    websocket: {
      perMessageDeflate: true,
      open: (ws) => opened(ws, ws.data),
      message: (ws, message) => received(ws, ws.data, message),
      pong: (ws, data) => void ws.send(`pong:${new TextDecoder().decode(data)}`),
      close: (ws, code, reason) => closed(ws.data, code, reason),
    },
  });
  console.log(server.port);
} else {
  throw new Error("runtime-websocket.ts runs in Deno or Bun");
}
process.stdin.on("end", () => process.exit(0)).resume();
