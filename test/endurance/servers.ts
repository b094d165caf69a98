// The servers of the soak, concurrency, memory and lifetime runs, in Node: a
// few HTTPS origins on 127.0.0.1 that echo a request's id or stream bytes,
// one that keeps idle connections open for a minute, one that presents a key
// the pins do not name, and a plain-HTTP control server that reports how many
// TCP connections each origin has open (and the most it had at once).
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer, type Server } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { constants } from "node:crypto";

import { createPki, type Issued } from "../support/pki.js";
import { pinOf } from "../support/servers.js";

/** What the runs get, as JSON: where everything is, and what to trust and pin. */
export interface EnduranceTarget {
  /** Origins that answer; the last of them resets the connection of every request to /reset. */
  origins: number[];
  /** An origin whose certificate chains to the trusted root through another key: every request is ERR_PIN_MISMATCH. */
  wrongKey: number;
  /** An origin that keeps idle connections open for LINGER ms: a connection that held the process would hold it that long. */
  lingering: number;
  ca: string;
  pins: string[];
  /** GET /connections answers `{ [port]: { open, most } }`; POST /most resets each `most` to `open`. */
  control: string;
}

export interface RunningServers {
  target: EnduranceTarget;
  close(): Promise<void>;
}

/** nginx keeps idle connections 75 s by default; a minute is as telling. */
export const LINGER = 60_000;
/** How long /late-head and /late-body keep the client waiting. */
const LATE = 1_000;
/** The most /bytes sends. */
const MAX_BYTES = 64 * 1024 * 1024;

interface Counts {
  open: number;
  most: number;
}

export async function startEnduranceServers(): Promise<RunningServers> {
  const pki = await createPki();
  const counts = new Map<number, Counts>();
  const servers: Server[] = [];
  const start = async (leaf: Issued, chain: Issued[], keepAliveTimeout?: number) => {
    const server = createHttpsServer(
      {
        key: leaf.keyPem,
        cert: [leaf, ...chain].map((c) => c.certPem).join(""),
        noDelay: true,
        // No resumption: every connection is a full handshake, and the client's ticket cache fills the same way each time.
        secureOptions: constants.SSL_OP_NO_TICKET,
      },
      answer,
    );
    if (keepAliveTimeout) server.keepAliveTimeout = keepAliveTimeout;
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    const count: Counts = { open: 0, most: 0 };
    counts.set(port, count);
    server.on("connection", (socket: Socket) => {
      count.most = Math.max(count.most, ++count.open);
      socket.once("close", () => count.open--);
    });
    server.on("tlsClientError", () => {});
    return port;
  };
  const origins = [];
  for (let i = 0; i < 4; i++) origins.push(await start(pki.leaf, [pki.intermediate]));
  const wrongKey = await start(pki.otherLeaf, [pki.otherIntermediate]);
  const lingering = await start(pki.leaf, [pki.intermediate], LINGER);

  const control = createHttpServer((request, response) => {
    if (request.method === "POST") for (const count of counts.values()) count.most = count.open;
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(Object.fromEntries(counts)));
  });
  servers.push(control as unknown as Server);
  await new Promise<void>((resolve) => control.listen(0, "127.0.0.1", resolve));

  return {
    target: {
      origins,
      wrongKey,
      lingering,
      // Both roots are trusted, so the wrong-key origin fails on its pins, not on its trust.
      ca: pki.root.certPem + pki.otherRoot.certPem,
      pins: [pinOf(pki.intermediate), pinOf(pki.root)],
      control: `http://127.0.0.1:${(control.address() as AddressInfo).port}`,
    },
    async close() {
      for (const server of servers) server.closeAllConnections?.();
      await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    },
  };
}

/**
 * `/id`: the request's `x-id` and body back; `/stall`: no answer; `/reset`: a
 * TCP reset; `/bytes?size=N`: N bytes; `/late-head`, `/late-body`: "late",
 * its head (or its body) sent LATE ms after the request.
 */
function answer(request: IncomingMessage, response: ServerResponse): void {
  const url = new URL(request.url ?? "/", "https://origin");
  const path = url.pathname;
  if (path === "/reset") {
    (request.socket as unknown as { _parent?: Socket })._parent?.resetAndDestroy() ?? request.socket.destroy();
    return;
  }
  if (path === "/stall") return void request.resume();
  if (path === "/bytes") return sendBytes(response, Math.min(Number(url.searchParams.get("size")) || 0, MAX_BYTES));
  if (path === "/late-head" || path === "/late-body") {
    request.resume();
    response.writeHead(200, { "content-length": "4" });
    if (path === "/late-body") response.flushHeaders();
    setTimeout(() => response.end("late"), LATE);
    return;
  }
  const parts: Buffer[] = [];
  request.on("data", (part: Buffer) => parts.push(part));
  request.on("end", () => {
    const body = JSON.stringify({ id: request.headers["x-id"] ?? null, body: Buffer.concat(parts).toString() });
    response.writeHead(path === "/id" ? 200 : 404, { "content-type": "application/json" }).end(body);
  });
}

/** `size` bytes, written as fast as the client reads them. */
function sendBytes(response: ServerResponse, size: number): void {
  response.writeHead(200, { "content-length": String(size) });
  const block = Buffer.alloc(256 * 1024, "pinned-fetch ");
  let left = size;
  const write = () => {
    while (left > 0) {
      const part = block.subarray(0, Math.min(left, block.length));
      left -= part.length;
      if (!response.write(part)) return void response.once("drain", write);
    }
    response.end();
  };
  write();
}
