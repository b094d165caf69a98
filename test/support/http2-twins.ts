// HTTP/2 twins of the HTTPS test servers: node:http2's secure server with the
// same certificates and, through its compatibility API, the same routes. A
// twin speaks h2 only (`allowHTTP1: false`): a client that does not offer h2
// over ALPN is refused at the handshake, so whatever a twin answered went over
// HTTP/2. The conformance harness runs the HTTP groups against them a second
// time (test/conformance/harness/http2.ts).
import {
  constants,
  createSecureServer,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type ServerHttp2Stream,
  type Settings,
} from "node:http2";
import type { TLSSocket } from "node:tls";

import { listen, newStats, route, serverTls, type ServerOptions, type TestServer } from "./servers.js";

export interface Http2TestServer extends TestServer {
  /** HTTP/2 sessions: connections whose client sent the HTTP/2 preface. (`requests` counts their streams.) */
  sessions: number;
  /** Streams that ended in a RST_STREAM (the client's, when it cancels a body). */
  resets: number;
  /** Handshakes refused because the client did not offer h2 over ALPN. */
  alpnRefusals: number;
}

export type Http2Handler = (request: Http2ServerRequest, response: Http2ServerResponse, stats: Http2TestServer) => void;

/**
 * An HTTP/2 server on 127.0.0.1 whose streams get `handle` (the HTTPS servers'
 * routes by default), with node:http2's default settings or `settings`.
 * `receivedBytes` counts the decrypted bytes of connections whose handshake
 * completed (the TLS socket's `bytesRead`: the session reads the socket
 * natively, so no 'data' event shows them).
 */
export async function startHttp2Server(
  options: ServerOptions & { settings?: Settings },
  handle: Http2Handler = (request, response) => route(request, response),
): Promise<Http2TestServer> {
  const stats: Omit<Http2TestServer, "port" | "close"> = { ...newStats(), sessions: 0, resets: 0, alpnRefusals: 0 };
  const server = createSecureServer(
    {
      ...serverTls(options),
      allowHTTP1: false,
      // Room for the raw twin's 100 KB header field (the default refuses blocks over 64 KiB).
      maxSendHeaderBlockLength: 256 * 1024,
      ...(options.settings && { settings: options.settings }),
    },
    (request, response) => {
      stats.requests++;
      handle(request, response, stats as Http2TestServer);
    },
  );
  const live = new Set<TLSSocket>();
  let closedBytes = 0;
  server.on("secureConnection", (socket: TLSSocket) => {
    stats.connections++;
    if (socket.isSessionReused()) stats.resumed++;
    socket.setNoDelay(true);
    live.add(socket);
    socket.on("close", () => {
      live.delete(socket);
      closedBytes += socket.bytesRead;
    });
  });
  Object.defineProperty(stats, "receivedBytes", {
    enumerable: true,
    get: () => [...live].reduce((total, socket) => total + socket.bytesRead, closedBytes),
  });
  server.on("session", () => stats.sessions++);
  server.on("stream", (stream: ServerHttp2Stream) =>
    stream.on("close", () => {
      if (stream.rstCode !== constants.NGHTTP2_NO_ERROR) stats.resets++;
    }),
  );
  server.on("tlsClientError", (error: NodeJS.ErrnoException) => {
    if (error.code === "ERR_SSL_NO_APPLICATION_PROTOCOL") stats.alpnRefusals++;
    else stats.handshakeFailures++;
  });
  return (await listen(server, stats)) as Http2TestServer;
}

/**
 * The `raw` server's routes that mean something over HTTP/2, as h2 sends them:
 * a 100 KB header field, a thousand 100 Continue heads, 10 KB of trailers, no
 * answer at all. Every other path is a 404.
 */
export const RAW_TWIN: Http2Handler = (request, response) => {
  request.resume();
  if (request.url === "/no-answer") return;
  if (request.url === "/big-head") {
    response.writeHead(200, { "x-big": "a".repeat(100_000), "content-length": "2" }).end("ok");
  } else if (request.url === "/interim-flood") {
    for (let i = 0; i < 1_000; i++) response.writeContinue();
    response.writeHead(200, { "content-length": "2" }).end("ok");
  } else if (request.url === "/big-trailers") {
    response.writeHead(200);
    response.addTrailers({ "x-trailer": Array<string>(100).fill("t".repeat(87)) });
    response.end("ok");
  } else {
    response.writeHead(404, { "content-length": "0" }).end();
  }
};
