// The HTTP/2 scenarios' servers, on 127.0.0.1 with the test PKI: node:http2's
// secure server (h2 and http/1.1, or h2 only), node:https answering ALPN
// http/1.1 only, each with the routes below and counters that prove which
// protocol and how many connections and streams carried a scenario's
// requests. A scenario tags its requests with `?group=<id>` and reads that
// group's record (see Http2Group); the servers' other counters add up over
// every scenario.
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  constants,
  createSecureServer,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type ServerHttp2Session,
  type Settings,
} from "node:http2";
import { createServer as createHttpsServer, get as httpsGet } from "node:https";
import type { AddressInfo, Server } from "node:net";
import type { TLSSocket } from "node:tls";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, gzipSync } from "node:zlib";

import {
  HTTP2_RUNTIME_SERVERS,
  HTTP2_SERVERS,
  type Http2RuntimeServerName,
  type Http2ServerName,
} from "../conformance/harness/description.js";
import { type ChildServer, startChildServer } from "./child-server.js";
import { ENCODED_TEXT, HELLO, patternChunk, patternMismatch } from "./content.js";
import type { Issued } from "./pki.js";
import { BUN, CHILD_ENV, DENO, ROOT, denoRun } from "./runtimes.js";

const RUNTIME_SCRIPT = fileURLToPath(new URL("runtime-http2.ts", import.meta.url));

/** What one group of requests (those with the same `?group=`) met at a server. */
export interface Http2Group {
  /** Connections that carried the group's requests: h2 sessions, or HTTP/1.1 connections. */
  connections: number;
  /** The group's requests, by the HTTP version they came in ("2.0", "1.1"). */
  versions: Record<string, number>;
  /** The most of the group's requests that were open at once on one connection. */
  maxOpen: number;
  /** The RST_STREAM code each of the group's h2 streams closed with (0: none), in the order they closed. */
  closeCodes: number[];
  /** The header fields of the group's last request as they arrived, pseudo-header fields included. */
  headers: Record<string, string | string[] | undefined>;
  /** Response body bytes the server's streams had handed on for sending (their write callbacks ran). */
  sentBytes: number;
}

export interface Http2ServerStats {
  port: number;
  /** TLS connections whose handshake completed, by the protocol ALPN chose ("none": no ALPN). */
  protocols: Record<string, number>;
  /** The http/1.1-only server: the protocol lists clients offered in ALPN, joined with ",", and how often. */
  offers: Record<string, number>;
  /** h2 sessions and streams, over all connections. */
  sessions: number;
  streams: number;
  groups: Record<string, Http2Group>;
}

export interface Http2TestServer {
  stats: Http2ServerStats;
  close(): Promise<void>;
}

export interface Http2ServerOptions {
  chain: readonly Issued[];
  key: Issued;
  /** What the server answers in ALPN: h2 or http/1.1 (h2 preferred), h2 only, or http/1.1 only. */
  protocols: "h2 http/1.1" | "h2" | "http/1.1";
  /** The server's SETTINGS, over node:http2's defaults. */
  settings?: Settings;
}

/** Header list bytes the h2 server may send: enough for the routes' big headers and trailers. */
const MAX_SEND_HEADER_BLOCK = 1024 * 1024;
/** Bytes per write of a pattern body, and the pattern from each of its 251 phases. */
const PATTERN_CHUNK = 64 * 1024;
const PATTERN = patternChunk(0, PATTERN_CHUNK + 251);

async function startHttp2Server(options: Http2ServerOptions): Promise<Http2TestServer> {
  const stats: Http2ServerStats = {
    port: 0,
    protocols: {},
    offers: {},
    sessions: 0,
    streams: 0,
    groups: {},
  };
  const tls = { key: options.key.keyPem, cert: options.chain.map((issued) => issued.certPem).join("") };
  const routes = new Routes(stats);
  const handle = (request: IncomingMessage | Http2ServerRequest, response: ServerResponse | Http2ServerResponse) =>
    routes.handle(request as Request, response as Response);
  const server =
    options.protocols === "http/1.1"
      ? createHttpsServer({ ...tls, noDelay: true, ALPNCallback: ({ protocols }) => chooseHttp1(protocols) }, handle)
      : createSecureServer(
          {
            ...tls,
            allowHTTP1: options.protocols === "h2 http/1.1",
            settings: options.settings ?? {},
            maxSendHeaderBlockLength: MAX_SEND_HEADER_BLOCK,
          },
          handle,
        );
  const sockets = new Set<TLSSocket>();
  server.on("secureConnection", (socket: TLSSocket) => {
    const protocol = socket.alpnProtocol || "none";
    stats.protocols[protocol] = (stats.protocols[protocol] ?? 0) + 1;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.on("session", (session: ServerHttp2Session) => {
    stats.sessions++;
    session.on("error", () => {});
  });
  server.on("stream", () => stats.streams++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  stats.port = ((server as Server).address() as AddressInfo).port;
  return {
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };

  /** Answers http/1.1 in ALPN, and records what was offered. */
  function chooseHttp1(offered: string[]): string | undefined {
    const offer = offered.join(",");
    stats.offers[offer] = (stats.offers[offer] ?? 0) + 1;
    return offered.includes("http/1.1") ? "http/1.1" : undefined;
  }
}

/** What the routes use of a request and a response, over HTTP/1.1 and h2 alike. */
type Request = (IncomingMessage | Http2ServerRequest) & {
  stream?: Http2ServerRequest["stream"];
};
interface Response {
  writeHead(status: number, headers?: Record<string, string | number>): this;
  write(chunk: Uint8Array | string, callback: (error?: Error | null) => void): boolean;
  end(chunk?: Uint8Array | string): unknown;
  once(event: "drain" | "close", listener: () => void): unknown;
  addTrailers(trailers: Record<string, string>): void;
  readonly destroyed?: boolean;
}

/** A request the server holds back, and what answers it. */
interface Held {
  connection: object;
  id: number;
  release(): void;
}

/**
 * The routes, by path (`?group=` puts a request in a group; it is optional where not said):
 * - `/hello`: HELLO. `/status/N`: status N, HELLO.
 * - `/echo`: the request's method, header fields (pseudo-header fields included), body and HTTP version as JSON.
 * - `/held?group&batch=B&total=N`: held until B of the group's requests are held on its connection, or the group
 *   has had N; then all of them there (all of the group's) get HELLO. Proves that requests were in flight at once.
 * - `/stall?group`: never answered. `/after-close?group`: HELLO once another of the group's streams has closed
 *   with an RST_STREAM. `/reset?code=C`: the stream is reset with error code C (h2 only).
 * - `/goaway?group&hold=N&last=K`: held until N of the group's requests are held on the connection; then the
 *   session sends GOAWAY with the K-th's stream id as the last stream id and answers those up to it with HELLO
 *   (nghttp2 closes the others as refused); the group's requests on any later connection get HELLO at once.
 * - `/pattern/N?group`: N bytes of the pattern (content.ts), written as the client takes them (`sentBytes`).
 * - `/upload`: reads the request body and answers `{ bytes, mismatch }` (the first byte off the pattern, or -1).
 * - `/trailers?size=S`: HELLO, then a trailer field `x-trailer` of S bytes (default 8).
 * - `/big-header?size=S`: HELLO with a header field `x-big` of S bytes.
 * - `/encoded/gzip`, `/encoded/br`: ENCODED_TEXT with that content coding.
 * - `/redirect?status=S&to=URL`: a redirect.
 */
class Routes {
  readonly #stats: Http2ServerStats;
  readonly #held = new Map<string, Held[]>();
  /** Per group: the connections it came on, and its requests open on each. */
  readonly #open = new Map<string, Map<object, number>>();
  /** Per group: callbacks waiting for one of its streams to be reset. */
  readonly #resetWaiters = new Map<string, (() => void)[]>();
  /** Groups whose GOAWAY has been sent: answered at once from then on. */
  readonly #goneAway = new Set<string>();

  constructor(stats: Http2ServerStats) {
    this.#stats = stats;
  }

  handle(request: Request, response: Response): void {
    const url = new URL(request.url ?? "/", "https://localhost");
    const group = url.searchParams.get("group");
    const connection: object = request.stream?.session ?? request.socket;
    if (group !== null) this.#record(group, request, response, connection);
    const path = url.pathname;
    const number = (name: string, fallback: number) => Number(url.searchParams.get(name) ?? fallback);
    const hello = (status = 200, headers: Record<string, string | number> = {}) => {
      request.resume();
      request.once("end", () =>
        response
          .writeHead(status, { "content-type": "text/plain", "content-length": HELLO.length, ...headers })
          .end(HELLO),
      );
    };
    if (path === "/hello") return hello();
    if (path.startsWith("/status/")) return hello(Number(path.slice("/status/".length)));
    if (path === "/echo") return this.#echo(request, response);
    if (path === "/held")
      return this.#hold(group ?? "", connection, request, hello, number("batch", 1), number("total", 1));
    if (path === "/stall") return void request.resume();
    if (path === "/after-close") return void this.#waitForReset(group ?? "", hello);
    if (path === "/reset") return void request.stream?.close(number("code", constants.NGHTTP2_INTERNAL_ERROR));
    if (path === "/goaway")
      return this.#goaway(group ?? "", connection, request, hello, number("hold", 1), number("last", 1));
    if (path.startsWith("/pattern/")) return this.#pattern(group, response, Number(path.slice("/pattern/".length)));
    if (path === "/upload") return this.#upload(request, response);
    if (path === "/trailers") {
      request.resume();
      return void request.once("end", () => {
        response.writeHead(200, { "content-type": "text/plain" });
        response.addTrailers({ "x-trailer": "t".repeat(number("size", 8)) });
        response.end(HELLO);
      });
    }
    if (path === "/big-header") return hello(200, { "x-big": "b".repeat(number("size", 8)) });
    if (path === "/encoded/gzip" || path === "/encoded/br") {
      const coding = path.slice("/encoded/".length);
      const body = coding === "gzip" ? gzipSync(ENCODED_TEXT) : brotliCompressSync(ENCODED_TEXT);
      return void response.writeHead(200, { "content-encoding": coding, "content-length": body.length }).end(body);
    }
    if (path === "/redirect") {
      request.resume();
      return void response.writeHead(number("status", 302), { location: url.searchParams.get("to") ?? "/hello" }).end();
    }
    response.writeHead(404).end("not found");
  }

  #group(group: string): Http2Group {
    return (this.#stats.groups[group] ??= {
      connections: 0,
      versions: {},
      maxOpen: 0,
      closeCodes: [],
      headers: {},
      sentBytes: 0,
    });
  }

  #record(group: string, request: Request, response: Response, connection: object): void {
    const record = this.#group(group);
    record.versions[request.httpVersion] = (record.versions[request.httpVersion] ?? 0) + 1;
    record.headers = { ...request.headers };
    const open = this.#open.get(group) ?? new Map<object, number>();
    this.#open.set(group, open);
    if (!open.has(connection)) record.connections++;
    const now = (open.get(connection) ?? 0) + 1;
    open.set(connection, now);
    record.maxOpen = Math.max(record.maxOpen, now);
    const stream = request.stream;
    const closed = () => {
      open.set(connection, open.get(connection)! - 1);
      if (!stream) return;
      record.closeCodes.push(stream.rstCode ?? 0);
      if (stream.rstCode) for (const wake of this.#resetWaiters.get(group)?.splice(0) ?? []) wake();
    };
    if (stream) stream.once("close", closed);
    else response.once("close", closed);
  }

  #echo(request: Request, response: Response): void {
    const parts: Buffer[] = [];
    request.on("data", (part: Buffer) => parts.push(part));
    request.once("end", () => {
      const body = JSON.stringify({
        method: request.method,
        headers: request.headers,
        body: Buffer.concat(parts).toString(),
        httpVersion: request.httpVersion,
      });
      response.writeHead(200, { "content-type": "application/json" }).end(body);
    });
  }

  #hold(group: string, connection: object, request: Request, answer: () => void, batch: number, total: number) {
    const held = this.#held.get(group) ?? [];
    this.#held.set(group, held);
    held.push({ connection, id: request.stream?.id ?? 0, release: answer });
    const here = held.filter((entry) => entry.connection === connection);
    const all = Object.values(this.#stats.groups[group]!.versions).reduce((sum, count) => sum + count, 0) >= total;
    const released = all ? held.splice(0) : here.length >= batch ? here : [];
    if (!all)
      this.#held.set(
        group,
        held.filter((entry) => !released.includes(entry)),
      );
    for (const entry of released) entry.release();
  }

  #waitForReset(group: string, answer: () => void): void {
    if (this.#stats.groups[group]?.closeCodes.some((code) => code !== 0)) return answer();
    const waiters = this.#resetWaiters.get(group) ?? [];
    this.#resetWaiters.set(group, waiters);
    waiters.push(answer);
  }

  #goaway(group: string, connection: object, request: Request, answer: () => void, hold: number, last: number) {
    if (this.#goneAway.has(group)) return answer();
    const held = this.#held.get(group) ?? [];
    this.#held.set(group, held);
    held.push({ connection, id: request.stream?.id ?? 0, release: answer });
    const here = held.filter((entry) => entry.connection === connection);
    if (here.length < hold) return;
    this.#goneAway.add(group);
    this.#held.delete(group);
    const lastId = here.map((entry) => entry.id).sort((a, b) => a - b)[last - 1]!;
    const session = request.stream!.session as ServerHttp2Session;
    session.goaway(constants.NGHTTP2_NO_ERROR, lastId);
    // Not session.close(): it would send a second GOAWAY, with the newest stream's id.
    for (const entry of here) if (entry.id <= lastId) entry.release();
  }

  #pattern(group: string | null, response: Response, size: number): void {
    const record = group === null ? undefined : this.#group(group);
    response.writeHead(200, { "content-type": "application/octet-stream", "content-length": size });
    let offset = 0;
    const next = () => {
      while (offset < size && !response.destroyed) {
        const length = Math.min(PATTERN_CHUNK, size - offset);
        const more = response.write(PATTERN.subarray(offset % 251, (offset % 251) + length), (error) => {
          if (!error && record) record.sentBytes += length;
        });
        offset += length;
        if (!more) return void response.once("drain", next);
      }
      if (offset === size) response.end();
    };
    next();
  }

  #upload(request: Request, response: Response): void {
    let bytes = 0;
    let mismatch = -1;
    request.on("data", (chunk: Buffer) => {
      if (mismatch === -1) mismatch = patternMismatch(chunk, bytes);
      bytes += chunk.length;
    });
    request.once("end", () =>
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ bytes, mismatch })),
    );
  }
}

/** Starts `Deno.serve` or `Bun.serve` with runtime-http2.ts. */
function startRuntimeHttp2(name: Http2RuntimeServerName, tls: Tls): Promise<ChildServer> {
  const env = {
    ...CHILD_ENV,
    CERT_PEM: tls.chain.map((issued) => issued.certPem).join(""),
    KEY_PEM: tls.key.keyPem,
  };
  const [binary, args] =
    name === "denoServe"
      ? [DENO, denoRun(["127.0.0.1"], "--allow-env=CERT_PEM,KEY_PEM", "--unstable-sloppy-imports", RUNTIME_SCRIPT)]
      : [BUN, [RUNTIME_SCRIPT]];
  return startChildServer(binary, args, { env, cwd: ROOT });
}

/** GET /report/<group> of a runtime server, straight to it over HTTP/1.1 (node:https), outside the group. */
function reportOf(port: number, ca: string, group: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = httpsGet(
      { host: "127.0.0.1", port, servername: "localhost", ca, path: `/report/${encodeURIComponent(group)}` },
      (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (text: string) => (body += text));
        response.on("end", () => resolve(body));
        response.on("error", reject);
      },
    );
    request.setTimeout(10_000, () => request.destroy(new Error("no report within 10 s")));
    request.on("error", reject);
  });
}

interface Tls {
  chain: readonly Issued[];
  key: Issued;
}

/**
 * The HTTP/2 scenarios' servers: the node ones (HTTP2_SERVERS) at once, `Deno.serve` and `Bun.serve` at their first
 * use. The control server passes `/http2/...` requests to `answers`: `GET /http2/stats/<name>` answers a node
 * server's Http2ServerStats, `GET /http2/runtime/<name>` the port of Deno's or Bun's server (starting it), and
 * `GET /http2/runtime/<name>/report/<group>` what that server saw of a group.
 */
export async function startHttp2Servers(good: Tls, impostor: Tls, ca: string) {
  const node = (tls: Tls, protocols: Http2ServerOptions["protocols"], settings?: Settings) =>
    startHttp2Server({ ...tls, protocols, ...(settings && { settings }) });
  const servers: Record<Http2ServerName, Http2TestServer> = {
    h2: await node(good, "h2 http/1.1"),
    h2Only: await node(good, "h2"),
    http1Only: await node(good, "http/1.1"),
    h2Streams10: await node(good, "h2", { maxConcurrentStreams: 10 }),
    h2SmallWindow: await node(good, "h2", { initialWindowSize: 65_535 }),
    h2Impostor: await node(impostor, "h2 http/1.1"),
  };
  const runtimes = new Map<Http2RuntimeServerName, Promise<ChildServer>>();
  const runtime = (name: Http2RuntimeServerName) => {
    if (!runtimes.has(name)) runtimes.set(name, startRuntimeHttp2(name, good));
    return runtimes.get(name)!;
  };
  const json = (response: ServerResponse, value: unknown) =>
    response
      .setHeader("content-type", "application/json")
      .end(typeof value === "string" ? value : JSON.stringify(value));
  return {
    ports: Object.fromEntries(Object.entries(servers).map(([name, server]) => [name, server.stats.port])) as Record<
      Http2ServerName,
      number
    >,
    /** Answers the control server's `/http2/...` requests; false for any other. */
    answers(request: IncomingMessage, response: ServerResponse): boolean {
      const [, prefix, kind, name, report, group] = (request.url ?? "").split("/");
      if (prefix !== "http2") return false;
      if (kind === "stats" && HTTP2_SERVERS.includes(name as Http2ServerName)) {
        json(response, servers[name as Http2ServerName].stats);
      } else if (kind === "runtime" && HTTP2_RUNTIME_SERVERS.includes(name as Http2RuntimeServerName)) {
        runtime(name as Http2RuntimeServerName)
          .then(async (child) =>
            json(
              response,
              report === "report"
                ? await reportOf(child.port, ca, decodeURIComponent(group ?? ""))
                : { port: child.port },
            ),
          )
          .catch((error: unknown) => response.writeHead(500).end(String(error)));
      } else {
        response.writeHead(404).end();
      }
      return true;
    },
    async close(): Promise<void> {
      await Promise.all([
        ...Object.values(servers).map((server) => server.close()),
        ...[...runtimes.values()].map((started) =>
          started.then(
            (child) => child.close(),
            () => {},
          ),
        ),
      ]);
    },
  };
}
