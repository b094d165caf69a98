// The hostile server: one TCP port on 127.0.0.1 where each connection does
// what the plan armed last says (see plan.ts), and an unarmed one gets a
// healthy TLS 1.3 server. Behind it, one real TLS server per version runs
// the plans' HTTP scripts; at start, a real connection through it is
// recorded, and its server flight is what replays send.
import { randomBytes } from "node:crypto";
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { connect } from "node:net";

import { createPinnedFetch } from "../../../src/index.js";
import { type ClientHello, clientHelloOf, serverHelloRecord } from "../hellos.js";
import type { Pki } from "../pki.js";
import { type ServerOptions, startTcpServer, startTlsServer, type TestServer } from "../servers.js";
import { StreamEditor, socketSink } from "./editor.js";
import {
  HEALTHY,
  HEALTHY_SCRIPT,
  type Http2Log,
  type Http2Script,
  type HttpScript,
  type RecordedLayout,
  type ServerPlan,
  type StreamPlan,
  TLS_SERVERS,
  type TlsServer,
  type WebSocketLog,
  type WebSocketScript,
} from "./plan.js";
import { echoSessionId, RECORD_HEADER, readClientHello, splitRecords } from "./records.js";
import { newHttp2Log, serveHttp2 } from "./http2.js";
import { newWebSocketLog, serveWebSocket } from "./websocket.js";

export interface HostileServer extends TestServer {
  /** The plan for the next connection (null: healthy). */
  arm(plan: ServerPlan | null): void;
  recorded: Record<TlsServer, RecordedLayout>;
  /** What the client of the last WebSocket connection sent. */
  webSocket: WebSocketLog;
  /** What the client of the last HTTP/2 connection sent. */
  http2: Http2Log;
}

/** How long an endless step goes on if the client never leaves. */
const ENDLESS_LIMIT = 20_000;

const TLS_OPTIONS: Record<TlsServer, Partial<ServerOptions>> = {
  "TLSv1.3": { minVersion: "TLSv1.3", maxVersion: "TLSv1.3" },
  // The client's first ClientHello has an X25519 share only.
  "TLSv1.3 after HelloRetryRequest": { minVersion: "TLSv1.3", maxVersion: "TLSv1.3", ecdhCurve: "P-256" },
  "TLSv1.2": { minVersion: "TLSv1.2", maxVersion: "TLSv1.2" },
};

export async function startHostileServer(pki: Pki): Promise<HostileServer> {
  // Scripts for the relayed connections, by the relay's local port (which the TLS server sees as remote).
  const scripts = new Map<number, HttpScript | WebSocketScript | Http2Script>();
  const webSocket = newWebSocketLog();
  const http2 = newHttp2Log();
  const upstreams = {} as Record<TlsServer, TestServer>;
  // The same servers, choosing ALPN h2 (a client that does not offer it fails the handshake).
  const h2Upstreams = {} as Record<TlsServer, TestServer>;
  for (const tls of TLS_SERVERS) {
    h2Upstreams[tls] = await startTlsServer(
      { chain: [pki.leaf, pki.intermediate], key: pki.leaf, resumption: false, alpn: ["h2"], ...TLS_OPTIONS[tls] },
      (socket, tcp) => {
        const script = scripts.get(tcp.remotePort!);
        scripts.delete(tcp.remotePort!);
        if (script && "answer" in script) serveHttp2(script, socket, tcp, http2, ENDLESS_LIMIT);
        else socket.destroy();
      },
    );
    upstreams[tls] = await startTlsServer(
      { chain: [pki.leaf, pki.intermediate], key: pki.leaf, resumption: false, ...TLS_OPTIONS[tls] },
      (socket, tcp) => {
        const found = scripts.get(tcp.remotePort!);
        scripts.delete(tcp.remotePort!);
        const script = found && !("answer" in found) ? found : HEALTHY_SCRIPT;
        if ("frames" in script) return serveWebSocket(script, socket, tcp, webSocket, ENDLESS_LIMIT);
        socket.once("data", () => void perform(script, socket, tcp));
      },
    );
  }

  let armed: ServerPlan | null = null;
  let onRelayed: ((recording: Recording) => void) | null = null;
  const flights = {} as Record<TlsServer, Buffer>;

  const relay = (
    client: Socket,
    tls: TlsServer,
    stream: StreamPlan,
    script: HttpScript | WebSocketScript | Http2Script,
  ) => {
    const port = ("answer" in script ? h2Upstreams : upstreams)[tls].port;
    const upstream = connect({ port, host: "127.0.0.1", noDelay: true });
    const tap = onRelayed && recordingTap(onRelayed);
    const editor = new StreamEditor(
      stream,
      socketSink(client, stream.drip, () => upstream.destroy()),
    );
    upstream.on("connect", () => scripts.set(upstream.localPort!, script));
    upstream.on("data", (chunk: Buffer) => {
      tap?.server(chunk);
      editor.push(chunk);
      // As fast as the client reads: a client that stops reading holds the server back.
      if (client.writableNeedDrain) {
        upstream.pause();
        client.once("drain", () => upstream.resume());
      }
    });
    upstream.on("end", () => editor.finish("fin"));
    upstream.on("error", () => editor.finish("reset"));
    upstream.on("close", () => {
      tap?.done();
      // A server that stopped reading is gone: what the client sends now is dropped, and its end or reset is seen.
      client.resume();
    });
    client.on("data", (chunk: Buffer) => {
      tap?.client(chunk);
      // As fast as the server reads: a server that stops reading holds the client back.
      if (!upstream.destroyed && !upstream.write(chunk)) {
        client.pause();
        upstream.once("drain", () => client.resume());
      }
    });
    client.on("end", () => upstream.end());
    client.on("close", () => upstream.destroy());
  };

  const server = await startTcpServer((client) => {
    client.setNoDelay(true);
    const plan = armed ?? HEALTHY;
    armed = null;
    if (plan.kind === "relay") return relay(client, plan.tls, plan.stream, plan.http);
    if (plan.kind === "websocket" || plan.kind === "http2") {
      return relay(client, plan.tls, { edits: [], ending: "fin" }, plan.script);
    }
    void (async () => {
      const hello = plan.kind === "bytes" && !plan.readHello ? null : await readClientHello(client);
      if (client.destroyed) return;
      if (plan.kind === "bytes") {
        const sink = socketSink(client, undefined, () => {});
        sink.write(Buffer.from(plan.hex, "hex"));
        return sink.end(plan.ending);
      }
      if (plan.kind === "serverHello") {
        const parsed = hello && readableHello(hello);
        // Without a ClientHello to answer, the client gets a reset: no case expects that, so it fails loudly.
        if (!parsed) return void client.resetAndDestroy();
        const sink = socketSink(client, undefined, () => {});
        sink.write(serverHelloRecord(parsed, plan.group, Buffer.from(plan.share, "hex"), randomBytes(32)));
        sink.write(Buffer.from(plan.after, "hex"));
        return sink.end(plan.ending);
      }
      const flight = flights[plan.tls];
      const editor = new StreamEditor(
        plan.stream,
        socketSink(client, plan.stream.drip, () => {}),
      );
      editor.push(hello ? echoSessionId(flight, hello) : flight);
      editor.finish(plan.stream.ending);
    })();
  });

  const recorded = {} as Record<TlsServer, RecordedLayout>;
  for (const tls of TLS_SERVERS) {
    const { stream, flightEnd, handshakeEnd } = await recordConnection(server.port, pki, tls, (plan, listener) => {
      armed = plan;
      onRelayed = listener;
    });
    onRelayed = null;
    const records = splitRecords(stream).records;
    let offset = 0;
    const ends = records.map((record) => (offset += record.length));
    const flight = ends.filter((end) => end <= flightEnd).length;
    const handshake = ends.filter((end) => end <= handshakeEnd).length;
    if (flight === 0 || handshake < flight || handshake === records.length) {
      throw new Error(
        `the ${tls} connection recorded at start has no server flight, handshake or data: ${ends.join(", ")}`,
      );
    }
    flights[tls] = stream.subarray(0, flightEnd);
    recorded[tls] = { sizes: records.map((record) => record.length), flight, handshake };
  }

  const closeListener = server.close;
  return Object.assign(server, {
    arm: (plan: ServerPlan | null) => void (armed = plan),
    recorded,
    webSocket,
    http2,
    close: async () => {
      const servers = [...Object.values(upstreams), ...Object.values(h2Upstreams)];
      await Promise.all([closeListener(), ...servers.map((upstream) => upstream.close())]);
    },
  });
}

/** The ClientHello in the client's first record, or null if it holds none that parses. */
function readableHello(record: Buffer): ClientHello | null {
  try {
    return clientHelloOf(record);
  } catch {
    return null;
  }
}

/** Runs `script` on a TLS connection whose request has arrived; it stops when the client leaves. */
async function perform(script: HttpScript, socket: TLSSocket, tcp: Socket): Promise<void> {
  const write = (text: string) =>
    new Promise<void>((resolve) => {
      if (socket.destroyed) return resolve();
      socket.write(Buffer.from(text, "latin1"), () => resolve());
    });
  for (const step of script.steps) {
    if ("send" in step) await write(step.send);
    else if ("raw" in step) await new Promise((resolve) => tcp.write(Buffer.from(step.raw, "hex"), resolve));
    else if ("drip" in step) {
      for (const character of step.drip) {
        await new Promise((resolve) => setTimeout(resolve, step.every).unref());
        if (socket.destroyed) return;
        await write(character);
      }
    } else {
      // Big enough writes that a fast client is kept busy.
      const block = step.repeat.repeat(Math.ceil(16_384 / step.repeat.length));
      const until = Date.now() + ENDLESS_LIMIT;
      while (!socket.destroyed && Date.now() < until) await write(block);
    }
    if (socket.destroyed) return;
  }
  if (script.next) {
    const { after, script: next } = script.next;
    const arrived = await new Promise<boolean>((resolve) => {
      if (after === "request") socket.once("data", () => resolve(true));
      else setTimeout(() => resolve(true), after).unref();
      socket.once("close", () => resolve(false));
    });
    if (arrived) await perform(next, socket, tcp);
    return;
  }
  if (script.end === "close_notify") socket.end();
  else if (script.end === "fin") tcp.end();
  else if (script.end === "reset") tcp.resetAndDestroy();
}

/** What a relayed connection's server sent, and how far it had got when the client sent more. */
interface Recording {
  stream: Buffer;
  /** Bytes sent before the client sent more than its ClientHello: the first flight, which a replay sends. */
  flightEnd: number;
  /** Bytes sent before the client's last flight, which carries its request: the handshake. */
  handshakeEnd: number;
}

/** Makes one pinned-fetch request through the hostile server, relayed to `tls`, and records what that server sent. */
async function recordConnection(
  port: number,
  pki: Pki,
  tls: TlsServer,
  arm: (plan: ServerPlan, listener: (recording: Recording) => void) => void,
): Promise<Recording> {
  const recording = new Promise<Recording>((resolve) => arm({ ...HEALTHY, tls }, resolve));
  const fetch = createPinnedFetch({ ca: pki.root.certPem, resolve: { localhost: "127.0.0.1" } });
  try {
    const response = await fetch(`https://localhost:${port}/`);
    await response.arrayBuffer();
  } finally {
    await fetch.close();
  }
  return recording;
}

/** Collects both directions of a relayed connection and reports the recording once it closes. */
function recordingTap(report: (recording: Recording) => void) {
  const server: Buffer[] = [];
  let serverBytes = 0;
  let client: Buffer = Buffer.alloc(0);
  let flightEnd = -1;
  let handshakeEnd = -1;
  return {
    server(chunk: Buffer) {
      server.push(chunk);
      serverBytes += chunk.length;
    },
    client(chunk: Buffer) {
      client = Buffer.concat([client, chunk]);
      const hello = client.length >= RECORD_HEADER ? RECORD_HEADER + client.readUInt16BE(3) : Infinity;
      if (flightEnd === -1 && client.length > hello) flightEnd = serverBytes;
      handshakeEnd = serverBytes;
    },
    done: () => report({ stream: Buffer.concat(server), flightEnd, handshakeEnd }),
  };
}
