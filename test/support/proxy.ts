// HTTP CONNECT proxies for the tests, on 127.0.0.1. They tunnel to
// 127.0.0.1 only (`localhost` is mapped to it) and record what they were
// asked. Variants ask for basic auth, refuse with a fixed status, or
// terminate TLS themselves, as an inspecting corporate proxy does.
import { createServer } from "node:http";
import { type AddressInfo, connect, type Socket } from "node:net";
import { connect as connectTls, createSecureContext, TLSSocket } from "node:tls";

import type { Issued } from "./pki.js";
import type { TestServer } from "./servers.js";

export interface TestProxy extends TestServer {
  /** Tunnels opened: CONNECTs answered with 200. */
  tunnels: number;
  /** The target of the last CONNECT (`host:port`), or null before the first. */
  lastTarget: string | null;
  /** The Proxy-Authorization of the last CONNECT, or null if it had none. */
  lastAuthorization: string | null;
}

export interface ProxyOptions {
  /** Answer 407 to a CONNECT without these credentials, as Basic. */
  credentials?: { user: string; password: string };
  /** Answer every CONNECT with this status and reason, such as "502 Bad Gateway". */
  refuse?: string;
  /**
   * Terminate TLS with this certificate and key instead of passing the bytes
   * through, and forward what is decrypted to the server over TLS of its own,
   * trusting `ca`.
   */
  inspect?: { chain: Issued[]; key: Issued; ca: string };
}

/** Where CONNECT targets may lead: loopback's IPv4 address, by that or by name. */
const TUNNELLED_HOSTS = new Set(["127.0.0.1", "localhost"]);

export async function startProxy(options: ProxyOptions = {}): Promise<TestProxy> {
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  };
  const server = createServer((_, response) => response.writeHead(405, { allow: "CONNECT" }).end());
  const proxy: TestProxy = {
    port: 0,
    connections: 0,
    open: 0,
    receivedBytes: 0,
    requests: 0,
    handshakeFailures: 0,
    resumed: 0,
    sentBytes: 0,
    tunnels: 0,
    lastTarget: null,
    lastAuthorization: null,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  const expected =
    options.credentials &&
    `Basic ${Buffer.from(`${options.credentials.user}:${options.credentials.password}`).toString("base64")}`;
  server.on("connection", (socket: Socket) => {
    proxy.connections++;
    proxy.open++;
    track(socket);
    socket.on("close", () => proxy.open--);
  });
  server.on("connect", (request, client: Socket) => {
    proxy.requests++;
    proxy.lastTarget = request.url ?? null;
    proxy.lastAuthorization = request.headers["proxy-authorization"] ?? null;
    const answer = (status: string, fields = "") =>
      client.end(`HTTP/1.1 ${status}\r\n${fields}content-length: 0\r\n\r\n`);
    if (options.refuse) return answer(options.refuse);
    if (expected && proxy.lastAuthorization !== expected) {
      return answer("407 Proxy Authentication Required", 'proxy-authenticate: Basic realm="pinned-fetch tests"\r\n');
    }
    const [, host = "", port = ""] = /^(.*):(\d+)$/.exec(request.url ?? "") ?? [];
    if (!TUNNELLED_HOSTS.has(host)) return answer("403 Forbidden");
    const established = () => {
      proxy.tunnels++;
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
    };
    if (options.inspect) {
      // Connects to the server first, as an inspecting proxy does, then poses as it.
      const { chain, key, ca } = options.inspect;
      const upstream = connectTls({ host: "127.0.0.1", port: Number(port), servername: "localhost", ca });
      track(upstream);
      client.once("close", () => upstream.destroy());
      upstream.once("error", () => client.destroy());
      upstream.once("secureConnect", () => {
        established();
        const secureContext = createSecureContext({
          key: key.keyPem,
          cert: chain.map((certificate) => certificate.certPem).join(""),
        });
        const posing = new TLSSocket(client, { isServer: true, secureContext });
        posing.on("error", () => upstream.destroy());
        posing.once("secure", () => posing.pipe(upstream).pipe(posing));
      });
      return;
    }
    const upstream = connect({ host: "127.0.0.1", port: Number(port) });
    track(upstream);
    client.once("close", () => upstream.destroy());
    let tunnelled = false;
    upstream.once("error", () => (tunnelled ? client.destroy() : answer("502 Bad Gateway")));
    upstream.once("connect", () => {
      tunnelled = true;
      established();
      client.pipe(upstream).pipe(client);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  proxy.port = (server.address() as AddressInfo).port;
  return proxy;
}
