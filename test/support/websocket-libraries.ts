// The servers of the "websocket servers and libraries" scenarios, run by the
// Node fixture, each started at its first use:
// - `denoServe`, `bunServe`: runtime-websocket.ts under Deno and Bun, each
//   behind a relay that counts the bytes each way on the wire, which tells
//   whether a message went compressed;
// - `nodeWs`: `ws`'s WebSocketServer on node:https, with a graphql-ws server
//   at /graphql and an echo at /echo (a text "drop" there ends the
//   connection without a close frame), counting decrypted bytes and upgrades.
// The control server answers `GET /websocket-server/<name>` with the
// server's WebSocketServerStats, and `GET /websocket-server/<name>/report/<id>`
// with what Deno's or Bun's server saw of the connection `id`.
import { fileURLToPath } from "node:url";
import { type IncomingMessage, type ServerResponse } from "node:http";
import { get as httpsGet, createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { createConnection } from "node:net";
import type { TLSSocket } from "node:tls";

import {
  execute,
  GraphQLInt,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
  parse,
  subscribe,
  validate,
} from "graphql";
import { useServer } from "graphql-ws/use/ws";
import { WebSocketServer } from "ws";

import { type ChildServer, startChildServer } from "./child-server.js";
import type { Issued } from "./pki.js";
import { BUN, CHILD_ENV, DENO, ROOT, denoRun } from "./runtimes.js";
import { startTcpServer, type TestServer } from "./servers.js";
import {
  WEBSOCKET_SERVERS,
  type WebSocketServerName,
  type WebSocketServerStats,
} from "../conformance/harness/description.js";

const SCRIPT = fileURLToPath(new URL("runtime-websocket.ts", import.meta.url));

interface Tls {
  chain: readonly Issued[];
  key: Issued;
}

interface Running {
  stats(): WebSocketServerStats;
  /** Deno's and Bun's servers: the JSON report of connection `id`, as their `/report/<id>` answers it. */
  report?(id: string): Promise<{ status: number; body: string }>;
  close(): Promise<void>;
}

/** The servers, started at their first use, and what the control server answers about them. */
export function onDemandWebSocketServers(tls: Tls & { ca: string }) {
  const started = new Map<WebSocketServerName, Promise<Running>>();
  const server = (name: WebSocketServerName) => {
    if (!started.has(name)) started.set(name, name === "nodeWs" ? startNodeWs(tls) : startRuntime(name, tls));
    return started.get(name)!;
  };
  return {
    /** Answers `/websocket-server/...` requests; false for any other. */
    answers(request: IncomingMessage, response: ServerResponse): boolean {
      const [, kind, name, report, id] = (request.url ?? "").split("/");
      if (kind !== "websocket-server" || !WEBSOCKET_SERVERS.includes(name as WebSocketServerName)) return false;
      server(name as WebSocketServerName)
        .then(async (running) => {
          if (report === undefined) {
            return void response.setHeader("content-type", "application/json").end(JSON.stringify(running.stats()));
          }
          if (report !== "report" || !id || !running.report) return void response.writeHead(404).end();
          const { status, body } = await running.report(id);
          response.writeHead(status, { "content-type": "application/json" }).end(body);
        })
        .catch((error: unknown) => response.writeHead(500).end(String(error)));
      return true;
    },
    async close(): Promise<void> {
      await Promise.all(
        [...started.values()].map((running) =>
          running.then(
            (server) => server.close(),
            () => {},
          ),
        ),
      );
    },
  };
}

/** Deno.serve or Bun.serve in a child process, behind a counting relay. */
async function startRuntime(name: "denoServe" | "bunServe", tls: Tls & { ca: string }): Promise<Running> {
  const env = {
    ...CHILD_ENV,
    CERT_PEM: tls.chain.map((issued) => issued.certPem).join(""),
    KEY_PEM: tls.key.keyPem,
  };
  const [binary, args] =
    name === "denoServe" ? [DENO, denoRun(["127.0.0.1"], "--allow-env=CERT_PEM,KEY_PEM", SCRIPT)] : [BUN, [SCRIPT]];
  const child: ChildServer = await startChildServer(binary, args, { env, cwd: ROOT });
  const relay = await startCountingRelay(child.port);
  return {
    stats: () => statsOf(relay),
    report: (id) => reportOf(child.port, tls.ca, id),
    close: async () => void (await Promise.all([relay.close(), child.close()])),
  };
}

/** A TCP relay to `port` on 127.0.0.1 that counts what the client sent (receivedBytes) and got (sentBytes). */
function startCountingRelay(port: number): Promise<TestServer> {
  return startTcpServer((client, stats) => {
    client.setNoDelay(true);
    const server = createConnection({ port, host: "127.0.0.1", noDelay: true });
    server.on("error", () => client.destroy());
    client.on("data", (chunk: Buffer) => server.write(chunk));
    server.on("data", (chunk: Buffer) => {
      stats.sentBytes += chunk.length;
      client.write(chunk);
    });
    client.on("end", () => server.end());
    server.on("end", () => client.end());
    client.on("close", () => server.destroy());
    server.on("close", () => client.destroy());
  });
}

/** GET /report/<id> of the server at `port`, straight to it (not through the relay, whose counts it would change). */
function reportOf(port: number, ca: string, id: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpsGet(
      {
        host: "127.0.0.1",
        port,
        servername: "localhost",
        ca,
        path: `/report/${encodeURIComponent(id)}`,
        timeout: 10_000,
      },
      (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (text: string) => (body += text));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
        response.on("error", reject);
      },
    );
    request.on("timeout", () => request.destroy(new Error("no report within 10 s")));
    request.on("error", reject);
  });
}

/** A query `hello(name)` and a subscription `count(to)` that yields 1 to `to`. */
const schema = new GraphQLSchema({
  query: new GraphQLObjectType({
    name: "Query",
    fields: {
      hello: {
        type: new GraphQLNonNull(GraphQLString),
        args: { name: { type: new GraphQLNonNull(GraphQLString) } },
        resolve: (_, { name }: { name: string }) => `hello, ${name}`,
      },
    },
  }),
  subscription: new GraphQLObjectType({
    name: "Subscription",
    fields: {
      count: {
        type: new GraphQLNonNull(GraphQLInt),
        args: { to: { type: new GraphQLNonNull(GraphQLInt) } },
        subscribe: async function* (_, { to }: { to: number }) {
          for (let count = 1; count <= to; count++) yield { count };
        },
      },
    },
  }),
});

/** `ws`'s servers for graphql-ws (/graphql) and an echo (/echo) on one node:https server. */
async function startNodeWs(tls: Tls): Promise<Running> {
  const stats: WebSocketServerStats = {
    port: 0,
    connections: 0,
    open: 0,
    receivedBytes: 0,
    sentBytes: 0,
    handshakeFailures: 0,
    upgrades: {},
  };
  const https = createHttpsServer(
    { key: tls.key.keyPem, cert: tls.chain.map((issued) => issued.certPem).join(""), noDelay: true },
    (_, response) => response.writeHead(404).end(),
  );
  https.on("secureConnection", (socket: TLSSocket) => {
    stats.connections++;
    stats.open++;
    socket.on("data", (chunk: Buffer) => (stats.receivedBytes += chunk.length));
    socket.on("close", () => stats.open--);
  });
  https.on("tlsClientError", () => stats.handshakeFailures!++);
  const graphql = new WebSocketServer({ noServer: true });
  // graphql ships a CommonJS and an ESM build, and a loader (tsx, vitest) may give graphql-ws the other one than this
  // module got: a schema of one fails the other's checks. So graphql-ws runs everything with this module's build.
  const graphqlServer = useServer({ schema, parse, validate, execute, subscribe }, graphql);
  const echo = new WebSocketServer({ noServer: true });
  echo.on("connection", (socket) => {
    socket.on("message", (data, isBinary) => {
      if (!isBinary && data.toString() === "drop") socket.terminate();
      else socket.send(data, { binary: isBinary });
    });
  });
  https.on("upgrade", (request: IncomingMessage, socket, head) => {
    const path = new URL(request.url ?? "/", "https://localhost").pathname;
    stats.upgrades![path] = (stats.upgrades![path] ?? 0) + 1;
    const target = path === "/graphql" ? graphql : path === "/echo" ? echo : undefined;
    if (!target) return void socket.destroy();
    target.handleUpgrade(request, socket, head, (client) => target.emit("connection", client, request));
  });
  await new Promise<void>((resolve) => https.listen(0, "127.0.0.1", resolve));
  stats.port = (https.address() as AddressInfo).port;
  return {
    stats: () => stats,
    close: async () => {
      await graphqlServer.dispose();
      for (const client of echo.clients) client.terminate();
      https.closeAllConnections();
      await new Promise((resolve) => https.close(resolve));
    },
  };
}

function statsOf(relay: TestServer): WebSocketServerStats {
  const { port, connections, open, receivedBytes, sentBytes } = relay;
  return { port, connections, open, receivedBytes, sentBytes };
}
