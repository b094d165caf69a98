// Real TLS servers on loopback for the tests: node:https (and raw node:tls)
// with certificates from the test PKI, counting what they receive; raw TCP
// peers; and a port where connecting never completes.
import { spawn } from "node:child_process";
import { constants, createHash, X509Certificate } from "node:crypto";
import { once } from "node:events";
import { type IncomingMessage, type ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { createServer as createHttpsServer, type Server } from "node:https";
import {
  type AddressInfo,
  createConnection,
  createServer as createTcpServer,
  type Socket as NetSocket,
} from "node:net";
import { createInterface } from "node:readline";
import { Duplex } from "node:stream";
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from "node:zlib";
import { createSecureContext, type SecureVersion, TLSSocket } from "node:tls";

import {
  ClientCertificateObserver,
  type Handshake,
  HandshakeObserver,
  type Observation,
  OBSERVABLE_CIPHERS,
} from "./wire-observer.js";
import { ENCODED_TEXT, HELLO } from "./content.js";
import type { Issued } from "./pki.js";

/** The sha256/ SPKI pin of a certificate, computed by node:crypto (independently of the code under test). */
export function pinOf(certificate: Issued): string {
  const spki = new X509Certificate(certificate.certPem).publicKey.export({ type: "spki", format: "der" });
  return `sha256/${createHash("sha256").update(spki).digest("base64")}`;
}

export interface TestServer {
  port: number;
  /** TLS connections that completed a handshake. */
  connections: number;
  /** Decrypted bytes the server received, over all connections. */
  receivedBytes: number;
  /** HTTP requests the server saw. */
  requests: number;
  /** Handshakes the client aborted or that failed. */
  handshakeFailures: number;
  /** Handshakes that resumed an earlier TLS session. */
  resumed: number;
  /** TCP connections open now. */
  open: number;
  /** Bytes a streaming TCP server has handed to the network. */
  sentBytes: number;
  close(): Promise<void>;
}

export interface ServerOptions {
  /** The leaf first, then what else the server sends. */
  chain: Issued[];
  key: Issued;
  minVersion?: SecureVersion;
  maxVersion?: SecureVersion;
  /** false: no session tickets, so every handshake is a full one (benchmarks). */
  resumption?: boolean;
  /** The key-exchange groups the server accepts (OpenSSL's names), if not its defaults. */
  ecdhCurve?: string;
  /** Serve a chain signed with SHA-1, which OpenSSL's default security level refuses to load. */
  sha1?: true;
  /** The cipher suites the server takes (OpenSSL's names, TLS 1.3's among them), if not its defaults. */
  ciphers?: string;
}

/** What every test server presents and accepts: its chain and key, and TLS 1.2 and 1.3 unless `options` limit them. */
export function serverTls(options: ServerOptions) {
  return {
    key: options.key.keyPem,
    cert: options.chain.map((certificate) => certificate.certPem).join(""),
    minVersion: options.minVersion ?? ("TLSv1.2" as const),
    maxVersion: options.maxVersion ?? ("TLSv1.3" as const),
  };
}

/** An HTTPS server on 127.0.0.1 with a few routes (see `route`). */
export async function startHttpsServer(options: ServerOptions): Promise<TestServer> {
  const stats = newStats();
  const server: Server = createHttpsServer(
    {
      ...serverTls(options),
      // Without it, Nagle's algorithm holds a response's last small segment for a delayed ACK.
      noDelay: true,
      // Node keeps no server-side session cache, so without tickets nothing resumes.
      ...(options.resumption === false && { secureOptions: constants.SSL_OP_NO_TICKET }),
      ...(options.sha1 && { ciphers: "DEFAULT@SECLEVEL=0" }),
      ...(options.ciphers && { ciphers: options.ciphers }),
      ...(options.ecdhCurve && { ecdhCurve: options.ecdhCurve }),
    },
    (request, response) => {
      stats.requests++;
      route(request, response);
    },
  );
  server.on("secureConnection", (socket: TLSSocket) => {
    stats.connections++;
    if (socket.isSessionReused()) stats.resumed++;
    socket.on("data", (chunk: Buffer) => (stats.receivedBytes += chunk.length));
  });
  server.on("tlsClientError", () => stats.handshakeFailures++);
  return listen(server, stats);
}

export interface ClientAuthServer extends TestServer {
  /** What each connection's client sent, seen on the wire, in the order they came. */
  readonly clientCertificates: Observation[];
}

/** What a client-auth server answers every request with. */
export interface ClientAuthAnswer {
  /** The CN of the client certificate the handshake authenticated (from the session, when resumed), or "none". */
  subject: string;
  /** Certificates the client sent on this connection: 0 if none (a resumed session sends none), null if unknown. */
  certificates: number | null;
  resumed: boolean;
}

/**
 * An HTTPS server on 127.0.0.1 that asks each client for a certificate from
 * `clientCa`, and refuses the handshake without one if `require` holds. Every
 * request gets a ClientAuthAnswer as JSON; `?close` closes the connection
 * after it. Each connection's client bytes pass through a
 * ClientCertificateObserver on their way in.
 */
export async function startClientAuthServer(
  options: ServerOptions & { clientCa: string; require: boolean },
): Promise<ClientAuthServer> {
  const stats = newStats();
  const observer = new ClientCertificateObserver();
  const https = createHttpsServer(
    {
      ...serverTls(options),
      noDelay: true,
      requestCert: true,
      rejectUnauthorized: options.require,
      ca: options.clientCa,
      ciphers: OBSERVABLE_CIPHERS,
    },
    (request, response) => {
      stats.requests++;
      const socket = request.socket as TLSSocket;
      const answer: ClientAuthAnswer = {
        subject: String(socket.getPeerCertificate().subject?.CN ?? "none"),
        certificates: observer.of(socket)?.certificates ?? null,
        resumed: socket.isSessionReused(),
      };
      const close = new URL(request.url ?? "/", "https://test").searchParams.has("close");
      const body = JSON.stringify(answer);
      request.resume();
      request.on("end", () =>
        response
          .writeHead(200, {
            "content-type": "application/json",
            "content-length": String(Buffer.byteLength(body)),
            ...(close && { connection: "close" }),
          })
          .end(body),
      );
    },
  );
  https.on("keylog", (line: Buffer, socket: TLSSocket) => observer.keylog(line, socket));
  https.on("secureConnection", (socket: TLSSocket) => {
    stats.connections++;
    if (socket.isSessionReused()) stats.resumed++;
    socket.on("data", (chunk: Buffer) => (stats.receivedBytes += chunk.length));
  });
  https.on("tlsClientError", () => stats.handshakeFailures++);
  // The TLS server reads each connection through a stream of our own, which shows the observer what comes in.
  const server = createTcpServer((tcp) => {
    tcp.setNoDelay(true);
    tcp.on("error", () => {});
    const observe = observer.connection();
    const wire = new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, done) {
        tcp.write(chunk, () => done());
      },
      final(done) {
        tcp.end(done);
      },
      destroy(error, done) {
        tcp.destroy();
        done(error);
      },
    });
    tcp.on("data", (chunk: Buffer) => {
      observe(chunk);
      wire.push(chunk);
    });
    tcp.on("end", () => wire.push(null));
    tcp.on("close", () => wire.destroy());
    https.emit("connection", wire);
  });
  const running = await listen(server, stats);
  return Object.defineProperty(running, "clientCertificates", {
    enumerable: true,
    get: () => observer.observations(),
  }) as ClientAuthServer;
}

/** A TLS server on 127.0.0.1 that hands each decrypted connection, and the TCP socket under it, to `onConnection`. */
export async function startTlsServer(
  options: ServerOptions & { alpn?: string[] },
  onConnection: (socket: TLSSocket, tcp: NetSocket) => void,
): Promise<TestServer> {
  const stats = newStats();
  const secureContext = secureContextOf(options);
  const server = createTcpServer((tcp) => {
    tcp.setNoDelay(true);
    tcp.on("error", () => {});
    const socket = new TLSSocket(tcp, {
      isServer: true,
      secureContext,
      ...(options.alpn && { ALPNProtocols: options.alpn }),
    });
    let secure = false;
    socket.on("error", () => {
      if (!secure) stats.handshakeFailures++;
    });
    socket.on("secure", () => {
      secure = true;
      stats.connections++;
      socket.on("data", (chunk: Buffer) => (stats.receivedBytes += chunk.length));
      onConnection(socket, tcp);
    });
  });
  return listen(server, stats);
}

/**
 * A TLS server on 127.0.0.1 that, once the handshake is done, sends `text`
 * in a TLS record and then the raw bytes `trailer` in one TCP write, so that
 * a client reads them together. `sentBytes` counts that write once it is out.
 */
export async function startCoalescingTlsServer(
  options: ServerOptions,
  text: string,
  trailer: Uint8Array,
): Promise<TestServer> {
  const stats = newStats();
  const secureContext = secureContextOf(options);
  const server = createTcpServer((tcp) => {
    tcp.setNoDelay(true);
    tcp.on("error", () => {});
    // TLS over a stream of our own, so that its records can be held back and sent with the trailer.
    let held: Buffer[] | null = null;
    const wire = new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, done) {
        if (held) held.push(chunk);
        else tcp.write(chunk);
        done();
      },
    });
    tcp.on("data", (chunk: Buffer) => wire.push(chunk));
    tcp.on("end", () => wire.push(null));
    const socket = new TLSSocket(wire, { isServer: true, secureContext });
    socket.on("error", () => {});
    socket.on("secure", () => {
      stats.connections++;
      held = [];
      socket.write(text, () => {
        const bytes = Buffer.concat([...held!, trailer]);
        held = null;
        tcp.write(bytes, () => (stats.sentBytes += bytes.length));
      });
    });
  });
  return listen(server, stats);
}

/** What a raw TLSSocket of these options presents and accepts. */
function secureContextOf(options: ServerOptions) {
  return createSecureContext({
    ...serverTls(options),
    // A raw TLSSocket has no session cache either, so without tickets nothing resumes.
    ...(options.resumption === false && { secureOptions: constants.SSL_OP_NO_TICKET }),
    ...(options.ecdhCurve && { ecdhCurve: options.ecdhCurve }),
  });
}

/** A TCP server on 127.0.0.1 whose connections get `onConnection` (for broken, silent or streaming peers). */
export async function startTcpServer(
  onConnection: (socket: NetSocket, stats: TestServer) => void,
): Promise<TestServer> {
  const stats = newStats();
  const server = createTcpServer((socket) => {
    stats.connections++;
    socket.on("data", (chunk) => (stats.receivedBytes += chunk.length));
    socket.on("error", () => {});
    onConnection(socket, stats as TestServer);
  });
  return listen(server, stats);
}

export interface ObservedServer extends TestServer {
  /** Each connection's handshake, seen on the wire, in the order they came. */
  readonly handshakes: Handshake[];
}

/** A TCP relay on 127.0.0.1 to the server at `port` (on 127.0.0.1), whose HandshakeObserver sees both ways. */
export async function startObservingRelay(port: number): Promise<ObservedServer> {
  const observer = new HandshakeObserver();
  const relay = await startTcpServer((client) => {
    client.setNoDelay(true);
    const observe = observer.connection();
    const server = createConnection({ port, host: "127.0.0.1", noDelay: true });
    server.on("error", () => client.destroy());
    client.on("data", (chunk: Buffer) => {
      observe.client(chunk);
      server.write(chunk);
    });
    server.on("data", (chunk: Buffer) => {
      observe.server(chunk);
      client.write(chunk);
    });
    client.on("end", () => server.end());
    server.on("end", () => client.end());
    client.on("close", () => server.destroy());
    server.on("close", () => client.destroy());
  });
  return Object.defineProperty(relay, "handshakes", {
    enumerable: true,
    get: () => observer.handshakes(),
  }) as ObservedServer;
}

/** Listens in a process that never accepts, so a backlog of one fills at once. */
const NEVER_ACCEPTS = `const server = require("node:net").createServer();
server.listen({ port: 0, host: "127.0.0.1", backlog: 1 }, () => {
  console.log(server.address().port);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
});`;

/**
 * A port on 127.0.0.1 where connecting never completes: its listener never
 * accepts and its accept queue is full, so the kernel drops new SYNs.
 */
export async function startBlackHole(): Promise<TestServer> {
  const listener = spawn(process.execPath, ["-e", NEVER_ACCEPTS], { stdio: ["ignore", "pipe", "inherit"] });
  const [line] = (await once(createInterface({ input: listener.stdout! }), "line")) as [string];
  const port = Number(line);
  // Linux queues backlog + 1 connections; these fill the queue, and the rest of them wait like everyone after.
  const fillers = Array.from({ length: 4 }, () => createConnection({ port, host: "127.0.0.1" }).on("error", () => {}));
  await Promise.all(fillers.slice(0, 2).map((filler) => once(filler, "connect")));
  return Object.assign(newStats(), {
    port,
    close: async () => {
      for (const filler of fillers) filler.destroy();
      listener.kill();
    },
  });
}

export function newStats(): Omit<TestServer, "port" | "close"> {
  return { connections: 0, receivedBytes: 0, requests: 0, handshakeFailures: 0, resumed: 0, open: 0, sentBytes: 0 };
}

export async function listen(
  server: Server | ReturnType<typeof createTcpServer>,
  stats: Omit<TestServer, "port" | "close">,
): Promise<TestServer> {
  const sockets = new Set<NetSocket>();
  server.on("connection", (socket: NetSocket) => {
    sockets.add(socket);
    stats.open++;
    socket.on("close", () => {
      sockets.delete(socket);
      stats.open--;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return Object.assign(stats, {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  });
}

const ENCODERS: Record<string, (body: Buffer) => Buffer> = {
  gzip: (body) => gzipSync(body),
  deflate: (body) => deflateSync(body),
  "raw-deflate": (body) => deflateRawSync(body),
  br: (body) => brotliCompressSync(body),
  zstd: (body) => body, // a coding pinned-fetch does not decode
  corrupt: (body) => Buffer.concat([gzipSync(body).subarray(0, 40), Buffer.alloc(40, 0x55)]),
};

/** Sockets whose next request is met by closing the connection unanswered (see `/once`). */
const closingOnNextRequest = new WeakSet<object>();

/**
 * `/hello`: a fixed body with Content-Length; `/chunked`: three chunks;
 * `/echo`: the request's method, headers and body as JSON; `/bytes/N`: N bytes;
 * `/redirect/STATUS?to=URL`: a redirect; `/loop`: a redirect to itself, query included;
 * `/encoded/CODING,...`: ENCODED_TEXT with those content codings; `/empty/CODING`:
 * an empty body labelled with that coding; `/headers`: repeated header fields;
 * `/interim`: 100 and 103 before the answer; `/not-modified`: 304; `/stall`: no
 * answer ever; `/once`: an answer, after which the connection is kept alive
 * but closed, unanswered, at its next request (as a server whose keep-alive
 * timeout has just passed; over HTTP/2, where `request.socket` stands for
 * the stream, `/once` never closes).
 */
export function route(
  request: IncomingMessage | Http2ServerRequest,
  response: ServerResponse | Http2ServerResponse,
): void {
  const url = new URL(request.url ?? "/", "https://test");
  if (closingOnNextRequest.has(request.socket)) {
    request.socket.destroy();
  } else if (url.pathname === "/once") {
    closingOnNextRequest.add(request.socket);
    request.resume();
    request.on("end", () => response.writeHead(200, { "content-length": "19" }).end(HELLO));
  } else if (url.pathname === "/stall") {
    request.resume();
  } else if (url.pathname === "/interim") {
    response.writeContinue();
    response.writeEarlyHints({ link: "</style.css>; rel=preload; as=style" });
    response.writeHead(200, { "content-length": "19" }).end(HELLO);
  } else if (url.pathname === "/not-modified") {
    response.writeHead(304, { etag: '"v1"' }).end();
  } else if (url.pathname.startsWith("/empty/")) {
    response
      .writeHead(200, {
        "content-encoding": decodeURIComponent(url.pathname.slice("/empty/".length)),
        "content-length": "0",
      })
      .end();
  } else if (url.pathname === "/hello") {
    response.writeHead(200, { "content-type": "text/plain", "content-length": "19" }).end(HELLO);
  } else if (url.pathname === "/chunked") {
    response.writeHead(200, { "content-type": "text/plain" });
    // Either kind of response is a writable stream; their own write signatures do not unite.
    const body: NodeJS.WritableStream = response;
    body.write("one,");
    body.write("two,");
    setTimeout(() => response.end("three"), 5);
  } else if (url.pathname === "/echo") {
    const parts: Buffer[] = [];
    request.on("data", (part: Buffer) => parts.push(part));
    request.on("end", () => {
      const body = JSON.stringify({
        method: request.method,
        headers: request.headers,
        body: Buffer.concat(parts).toString(),
      });
      response.writeHead(200, { "content-type": "application/json" }).end(body);
    });
  } else if (url.pathname.startsWith("/redirect/") || url.pathname === "/loop") {
    const status = url.pathname === "/loop" ? 302 : Number(url.pathname.slice("/redirect/".length));
    const location = url.pathname === "/loop" ? `/loop${url.search}` : (url.searchParams.get("to") ?? "/hello");
    // Read the request body first, so the answer is not an early one.
    request.resume();
    // ?encoding= labels the redirect's (empty) body with those codings.
    const encoding = url.searchParams.get("encoding");
    request.on("end", () =>
      response
        .writeHead(status, { location, "content-length": "0", ...(encoding && { "content-encoding": encoding }) })
        .end(),
    );
  } else if (url.pathname === "/headers") {
    response.setHeader("x-many", ["a", "b"]);
    response.setHeader("set-cookie", ["a=1; Secure", "b=2; HttpOnly"]);
    response.writeHead(204).end();
  } else if (url.pathname.startsWith("/encoded/")) {
    // Codings in the order applied, as Content-Encoding lists them; "raw-deflate" is sent as "deflate".
    const codings = decodeURIComponent(url.pathname.slice("/encoded/".length)).split(",");
    const body = codings.reduce<Buffer>((bytes, coding) => ENCODERS[coding]!(bytes), Buffer.from(ENCODED_TEXT));
    const header = codings
      .map((coding) => (coding === "raw-deflate" ? "deflate" : coding === "corrupt" ? "gzip" : coding))
      .join(", ");
    response.writeHead(200, { "content-encoding": header, "content-length": String(body.length) }).end(body);
  } else if (url.pathname.startsWith("/bytes/")) {
    const size = Number(url.pathname.slice("/bytes/".length));
    response.writeHead(200, { "content-length": String(size) }).end(Buffer.alloc(size, 0x61));
  } else {
    response.writeHead(404).end("not found");
  }
}
