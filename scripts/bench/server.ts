// The benchmark's TLS server, in a process of its own so that it takes no
// CPU from the client being measured. No session tickets (Node keeps no
// server-side session cache), so every handshake is a full one. A second
// listener, the same but that it requires a client certificate from a CA of
// its own, serves the cold measure with a client certificate. A third, Go's
// crypto/tls in a process of its own (test/support/go-tls-server.ts), speaks
// the post-quantum hybrid X25519MLKEM768 beside X25519, with the same
// certificate and no session tickets; it counts nothing.
//
// A fourth listener, the same as the first, serves WebSocket with the ws
// package: `/plain` without permessage-deflate, `/deflate` with it (ws's
// defaults: messages of 1 KiB and more compressed).
//
// A fifth, node:http2's secure server with the same TLS setup and routes,
// answers ALPN `h2` with HTTP/2 and `http/1.1` (or no ALPN) with HTTP/1.1
// (allowHTTP1); it counts, per tag, how many of the connections were h2
// sessions, which proves the protocol each client spoke.
//
// A sixth, Go's net/http (the same Go server, in a process of its own, with the
// same certificate, classical groups and no session tickets), offers h2 and
// http/1.1 and serves the concurrent measure: both its protocol paths are
// cheap, unlike node:http2's h2. It counts per tag as below, and GET /stats
// includes its counters.
//
// Every request carries `?tag=<runtime>/<measure>/<client>`; the server
// counts, per tag, the requests, the TLS connections that carried any of
// them, and how many of those are still open (for WebSocket, the messages it
// received count as requests). A plain-HTTP listener on loopback answers
// GET /stats with those counters as JSON.
//
// Prints {port, statsPort, ca, pins, clientAuth: {port, identities}, hybrid: {port, groups}, webSocketPort, http2Port,
// goPort}
// as one JSON line (an identity per client key type, certificate and PKCS#8
// key in PEM); when its stdin closes, prints its counters and exits.
import { constants, randomBytes } from "node:crypto";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { type Http2ServerRequest, type Http2ServerResponse, createSecureServer } from "node:http2";
import { type ServerOptions, createServer, get } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import type { TLSSocket } from "node:tls";

import { type WebSocket, WebSocketServer } from "ws";

import { type Identity, WEBSOCKET_MESSAGE_BYTES } from "./common.js";
import { type GoGroup, startGoTlsServer } from "../../test/support/go-tls-server.js";
import { CLIENT_AUTH, type IssueOptions, createPki, issue } from "../../test/support/pki.js";
import { pinOf } from "../../test/support/servers.js";

export interface Counter {
  /** TLS connections that carried a request with the tag. */
  connections: number;
  /** The most of those connections open at once (counted by the Go server only). */
  maxOpen?: number;
  /** Those connections that were HTTP/2 sessions (the others spoke HTTP/1.1). */
  h2: number;
  requests: number;
  /** Those connections still open. */
  open: number;
  /** Those connections that resumed a session (should stay 0). */
  resumed: number;
  /** WebSocket connections that negotiated permessage-deflate. */
  deflated?: number;
}

export interface Stats {
  /** TLS handshakes completed, and how many of them resumed. */
  handshakes: number;
  resumed: number;
  /** TCP connections open now. */
  open: number;
  tags: Record<string, Counter>;
}

const CHUNK = Buffer.alloc(64 * 1024, 0x61);
const bodies = new Map<number, Buffer>();
const stats: Stats = { handshakes: 0, resumed: 0, open: 0, tags: {} };
/** Per TLS socket (HTTP/1.1) or HTTP/2 session, the tags of the requests it carried. */
const tagsOf = new WeakMap<object, Set<string>>();

function counter(tag: string): Counter {
  return (stats.tags[tag] ??= { connections: 0, h2: 0, requests: 0, open: 0, resumed: 0 });
}

/** Random, so that permessage-deflate gains nothing from it: the cost of its path alone. */
const MESSAGE = randomBytes(WEBSOCKET_MESSAGE_BYTES);
/** Writes of the stream command not yet handed to the kernel, at most: a client that reads slowly slows it. */
const STREAM_WINDOW = 8;

/**
 * Echoes every text message but `stream N`, which sends N binary messages of
 * 64 KiB, as fast as the client takes them; answers every binary message with
 * the text `+`, so that a sender can keep a window of them in flight.
 */
function serveWebSocket(socket: WebSocket, tag: string, tls: TLSSocket): void {
  const count = counter(tag);
  count.connections++;
  count.open++;
  if (tls.isSessionReused()) count.resumed++;
  if (socket.extensions.includes("permessage-deflate")) count.deflated = (count.deflated ?? 0) + 1;
  socket.once("close", () => count.open--);
  socket.on("message", (data: Buffer, isBinary) => {
    count.requests++;
    if (isBinary) return void socket.send("+");
    const [command, size] = data.toString().split(" ");
    const n = Number(size);
    if (command === "stream" && Number.isSafeInteger(n) && n > 0) {
      let sent = 0;
      let pending = 0;
      const pump = () => {
        for (; sent < n && pending < STREAM_WINDOW && socket.readyState === socket.OPEN; sent++, pending++)
          socket.send(MESSAGE, { binary: true }, () => (pending--, pump()));
      };
      pump();
    } else {
      socket.send(data, { binary: false });
    }
  });
}

/** `/bytes/N`: N bytes at once (N up to 1 MiB); `/stream/N`: N bytes written 64 KiB at a time, as the client reads them. */
function route(request: IncomingMessage | Http2ServerRequest, response: ServerResponse): void {
  const url = new URL(request.url ?? "/", "https://bench");
  const tag = url.searchParams.get("tag") ?? "untagged";
  // Over h2 a connection is the stream's session (request.socket stands for the stream).
  const session = request.httpVersionMajor === 2 ? (request as Http2ServerRequest).stream.session : undefined;
  const connection = session ?? request.socket;
  const socket = (session?.socket ?? request.socket) as TLSSocket;
  let tags = tagsOf.get(connection);
  if (!tags) {
    tagsOf.set(connection, (tags = new Set()));
    connection.once("close", () => {
      for (const seen of tags!) counter(seen).open--;
    });
  }
  const count = counter(tag);
  if (!tags.has(tag)) {
    tags.add(tag);
    count.connections++;
    if (session) count.h2++;
    count.open++;
    if (socket.isSessionReused()) count.resumed++;
  }
  count.requests++;
  const [, kind, length] = url.pathname.split("/");
  const size = Number(length);
  if (!Number.isSafeInteger(size) || size < 0 || (kind === "bytes" && size > 1024 * 1024)) {
    response.writeHead(404, { "content-length": "0" }).end();
  } else if (kind === "bytes") {
    if (!bodies.has(size)) bodies.set(size, Buffer.alloc(size, 0x61));
    response.writeHead(200, { "content-length": String(size) }).end(bodies.get(size));
  } else if (kind === "stream") {
    response.writeHead(200, { "content-length": String(size) });
    let left = size;
    const pump = () => {
      while (left > 0) {
        const part = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
        left -= part.length;
        if (!response.write(part)) return void response.once("drain", pump);
      }
      response.end();
    };
    response.on("close", () => (left = 0));
    pump();
  } else {
    response.writeHead(404, { "content-length": "0" }).end();
  }
}

const pki = await createPki();
const options: ServerOptions = {
  key: pki.leaf.keyPem,
  cert: pki.leaf.certPem + pki.intermediate.certPem,
  // Without it, Nagle's algorithm holds a response's last small segment for a delayed ACK.
  noDelay: true,
  secureOptions: constants.SSL_OP_NO_TICKET,
  // Each client's preference picks the cipher, as with nginx's default (ssl_prefer_server_ciphers off);
  // Node's own default is the server's order, which puts AES-GCM first.
  honorCipherOrder: false,
};
const clientCa = await issue({ commonName: "pinned-fetch bench client CA", ca: true });
const CLIENT_KEYS: Record<string, IssueOptions["algorithm"]> = { "RSA 2048": "RSA-2048", "ECDSA P-256": "P-256" };
const identities: Record<string, Identity> = {};
for (const [keyType, algorithm] of Object.entries(CLIENT_KEYS)) {
  const { certPem, keyPem } = await issue({
    commonName: `bench client ${keyType}`,
    issuer: clientCa,
    algorithm,
    extendedKeyUsage: [CLIENT_AUTH],
  });
  identities[keyType] = { cert: certPem, key: keyPem };
}
const server = createServer(options, route);
const clientAuthServer = createServer(
  { ...options, requestCert: true, rejectUnauthorized: true, ca: clientCa.certPem },
  route,
);
// The compatibility API's response has the methods `route` calls, with the same meaning.
const http2Server = createSecureServer({ ...options, allowHTTP1: true }, (request, response: Http2ServerResponse) =>
  route(request, response as unknown as ServerResponse),
);
// Idle keep-alive connections stay open for the clients to close (pinned-fetch's pool closes its own after 4 s);
// node:http2 closes no idle session, nor (with allowHTTP1) an idle HTTP/1.1 connection.
server.keepAliveTimeout = 60_000;
clientAuthServer.keepAliveTimeout = 60_000;
for (const listener of [server, clientAuthServer, http2Server]) {
  listener.on("secureConnection", (socket: TLSSocket) => {
    stats.handshakes++;
    if (socket.isSessionReused()) stats.resumed++;
  });
  listener.on("connection", (socket: Socket) => {
    stats.open++;
    socket.once("close", () => stats.open--);
  });
  listener.on("tlsClientError", () => {});
}
// A backlog above the 1,000 connections the memory measure opens at once, so that no SYN is dropped.
await new Promise<void>((resolve) => server.listen({ port: 0, host: "127.0.0.1", backlog: 2048 }, resolve));
await new Promise<void>((resolve) => clientAuthServer.listen({ port: 0, host: "127.0.0.1" }, resolve));
await new Promise<void>((resolve) => http2Server.listen({ port: 0, host: "127.0.0.1", backlog: 2048 }, resolve));

const webSocketServer = createServer(options, (_request, response) => {
  response.writeHead(426, { "content-length": "0" }).end();
});
const endpoints: Record<string, WebSocketServer> = {
  "/plain": new WebSocketServer({ noServer: true, perMessageDeflate: false }),
  "/deflate": new WebSocketServer({ noServer: true, perMessageDeflate: true }),
};
webSocketServer.on("upgrade", (request: IncomingMessage, socket: TLSSocket, head: Buffer) => {
  const url = new URL(request.url ?? "/", "https://bench");
  const endpoint = endpoints[url.pathname];
  if (!endpoint) return void socket.destroy();
  endpoint.handleUpgrade(request, socket, head, (webSocket) =>
    serveWebSocket(webSocket, url.searchParams.get("tag") ?? "untagged", socket),
  );
});
webSocketServer.on("secureConnection", (socket: TLSSocket) => {
  stats.handshakes++;
  if (socket.isSessionReused()) stats.resumed++;
});
webSocketServer.on("tlsClientError", () => {});
await new Promise<void>((resolve) => webSocketServer.listen({ port: 0, host: "127.0.0.1" }, resolve));

// The hybrid preferred, as Go's own default; X25519 for the clients that do not offer it.
const hybridGroups: GoGroup[] = ["X25519MLKEM768", "X25519"];
const hybridServer = await startGoTlsServer({
  chain: [pki.leaf, pki.intermediate],
  key: pki.leaf,
  groups: hybridGroups,
  noTickets: true,
});

// Classical groups, as the Node listeners take: the concurrent measure is about requests, not key exchange.
const goServer = await startGoTlsServer({
  chain: [pki.leaf, pki.intermediate],
  key: pki.leaf,
  groups: ["X25519", "secp256r1", "secp384r1"],
  noTickets: true,
  h2: true,
});

/** The Go server's counters, by tag. */
function goCounters(): Promise<Record<string, Counter>> {
  return new Promise((resolve, reject) => {
    const url = `https://127.0.0.1:${goServer.port}/counters`;
    const request = get(url, { ca: pki.root.certPem, servername: "localhost", timeout: 10_000 }, (response) => {
      const parts: Buffer[] = [];
      response.on("data", (part: Buffer) => parts.push(part));
      response.on("end", () => resolve(JSON.parse(Buffer.concat(parts).toString()) as Record<string, Counter>));
      response.on("error", reject);
    });
    request.on("timeout", () => request.destroy(new Error("the Go server's counters took more than 10 s")));
    request.on("error", reject);
  });
}

const statsServer = createHttpServer((_request, response) => {
  goCounters().then(
    (counters) => {
      const tags = { ...stats.tags, ...counters };
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ...stats, tags }));
    },
    (error: Error) => response.writeHead(500, { "content-type": "text/plain" }).end(error.message),
  );
});
await new Promise<void>((resolve) => statsServer.listen(0, "127.0.0.1", resolve));

console.log(
  JSON.stringify({
    port: (server.address() as AddressInfo).port,
    statsPort: (statsServer.address() as AddressInfo).port,
    ca: pki.root.certPem,
    pins: [pinOf(pki.leaf), pinOf(pki.intermediate)],
    clientAuth: { port: (clientAuthServer.address() as AddressInfo).port, identities },
    hybrid: { port: hybridServer.port, groups: hybridGroups },
    webSocketPort: (webSocketServer.address() as AddressInfo).port,
    http2Port: (http2Server.address() as AddressInfo).port,
    goPort: goServer.port,
  }),
);
process.stdin.resume();
process.stdin.on("end", () => {
  console.log(JSON.stringify(stats));
  void hybridServer.close();
  void goServer.close();
  server.closeAllConnections();
  clientAuthServer.closeAllConnections();
  clientAuthServer.close();
  http2Server.close();
  for (const endpoint of Object.values(endpoints)) for (const client of endpoint.clients) client.terminate();
  webSocketServer.closeAllConnections();
  webSocketServer.close();
  statsServer.close();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2_000).unref();
});
