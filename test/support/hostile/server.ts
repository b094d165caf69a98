// The hostile server: one TCP port on 127.0.0.1 where each connection does
// what the plan armed last says (see plan.ts), and an unarmed one gets a
// healthy TLS 1.3 server. Behind it, one real TLS server per version runs
// the plans' HTTP scripts; at start, a real connection through it is
// recorded, and its server flight is what replays send.
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { connect } from "node:net";

import { createPinnedFetch } from "../../../src/index.js";
import type { Pki } from "../pki.js";
import { startTcpServer, startTlsServer, type TestServer } from "../servers.js";
import { StreamEditor, socketSink } from "./editor.js";
import {
  HEALTHY,
  HEALTHY_SCRIPT,
  type HttpScript,
  type RecordedLayout,
  type ServerPlan,
  TLS_VERSIONS,
  type TlsVersion,
} from "./plan.js";
import { echoSessionId, RECORD_HEADER, readClientHello, splitRecords } from "./records.js";

export interface HostileServer extends TestServer {
  /** The plan for the next connection (null: healthy). */
  arm(plan: ServerPlan | null): void;
  recorded: Record<TlsVersion, RecordedLayout>;
}

/** How long an endless step goes on if the client never leaves. */
const ENDLESS_LIMIT = 20_000;

export async function startHostileServer(pki: Pki): Promise<HostileServer> {
  // Scripts for the relayed connections, by the relay's local port (which the TLS server sees as remote).
  const scripts = new Map<number, HttpScript>();
  const upstreams = {} as Record<TlsVersion, TestServer>;
  for (const version of TLS_VERSIONS) {
    upstreams[version] = await startTlsServer(
      { chain: [pki.leaf, pki.intermediate], key: pki.leaf, minVersion: version, maxVersion: version, resumption: false },
      (socket, tcp) => {
        const script = scripts.get(tcp.remotePort!) ?? HEALTHY_SCRIPT;
        scripts.delete(tcp.remotePort!);
        socket.once("data", () => void perform(script, socket, tcp));
      },
    );
  }

  let armed: ServerPlan | null = null;
  let onRelayed: ((server: Buffer, flightEnd: number) => void) | null = null;
  const flights = {} as Record<TlsVersion, Buffer>;

  const relay = (client: Socket, plan: Extract<ServerPlan, { kind: "relay" }>) => {
    const upstream = connect({ port: upstreams[plan.version].port, host: "127.0.0.1", noDelay: true });
    const tap = onRelayed && recordingTap(onRelayed);
    const editor = new StreamEditor(plan.stream, socketSink(client, plan.stream.drip, () => upstream.destroy()));
    upstream.on("connect", () => scripts.set(upstream.localPort!, plan.http));
    upstream.on("data", (chunk: Buffer) => {
      tap?.server(chunk);
      editor.push(chunk);
    });
    upstream.on("end", () => editor.finish("fin"));
    upstream.on("error", () => editor.finish("reset"));
    upstream.on("close", () => tap?.done());
    client.on("data", (chunk: Buffer) => {
      tap?.client(chunk);
      if (!upstream.destroyed) upstream.write(chunk);
    });
    client.on("end", () => upstream.end());
    client.on("close", () => upstream.destroy());
  };

  const server = await startTcpServer((client) => {
    client.setNoDelay(true);
    const plan = armed ?? HEALTHY;
    armed = null;
    if (plan.kind === "relay") return relay(client, plan);
    void (async () => {
      const hello = plan.kind === "bytes" && !plan.readHello ? null : await readClientHello(client);
      if (client.destroyed) return;
      if (plan.kind === "bytes") {
        const sink = socketSink(client, undefined, () => {});
        sink.write(Buffer.from(plan.hex, "hex"));
        return sink.end(plan.ending);
      }
      const flight = flights[plan.version];
      const editor = new StreamEditor(plan.stream, socketSink(client, plan.stream.drip, () => {}));
      editor.push(hello ? echoSessionId(flight, hello) : flight);
      editor.finish(plan.stream.ending);
    })();
  });

  const recorded = {} as Record<TlsVersion, RecordedLayout>;
  for (const version of TLS_VERSIONS) {
    const { stream, flightEnd } = await recordConnection(server.port, pki, version, (plan, listener) => {
      armed = plan;
      onRelayed = listener;
    });
    onRelayed = null;
    if (flightEnd <= 0) throw new Error(`the recorded ${version} connection has no server flight`);
    const records = splitRecords(stream).records;
    let offset = 0;
    const ends = records.map((record) => (offset += record.length));
    const flight = ends.findIndex((end) => end >= flightEnd) + 1;
    flights[version] = stream.subarray(0, flightEnd);
    // The handshake ends before the first application-data record sent after the client's second flight.
    const firstData = records.findIndex((record, index) => index >= flight && record[0] === 0x17);
    if (firstData === -1) throw new Error(`the recorded ${version} connection carried no application data`);
    recorded[version] = { sizes: records.map((record) => record.length), flight, handshake: firstData };
  }

  const closeListener = server.close;
  return Object.assign(server, {
    arm: (plan: ServerPlan | null) => void (armed = plan),
    recorded,
    close: async () => {
      await Promise.all([closeListener(), ...Object.values(upstreams).map((upstream) => upstream.close())]);
    },
  });
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

/**
 * Makes one pinned-fetch request through the hostile server, relayed to the
 * TLS server of `version`, and records what that server sent: the whole
 * stream, and where its first flight ends (what it sent before the client's
 * second flight).
 */
async function recordConnection(
  port: number,
  pki: Pki,
  version: TlsVersion,
  arm: (plan: ServerPlan, listener: (stream: Buffer, flightEnd: number) => void) => void,
): Promise<{ stream: Buffer; flightEnd: number }> {
  const recording = new Promise<{ stream: Buffer; flightEnd: number }>((resolve) =>
    arm({ ...HEALTHY, version }, (stream, flightEnd) => resolve({ stream, flightEnd })),
  );
  const fetch = createPinnedFetch({ ca: pki.root.certPem, resolve: { localhost: "127.0.0.1" } });
  try {
    const response = await fetch(`https://localhost:${port}/`);
    await response.arrayBuffer();
  } finally {
    await fetch.close();
  }
  return recording;
}

/** Collects both directions of a relayed connection and reports the server's stream once it closes. */
function recordingTap(report: (stream: Buffer, flightEnd: number) => void) {
  const server: Buffer[] = [];
  let serverBytes = 0;
  let client: Buffer = Buffer.alloc(0);
  let flightEnd = -1;
  return {
    server(chunk: Buffer) {
      server.push(chunk);
      serverBytes += chunk.length;
    },
    client(chunk: Buffer) {
      // The server's first flight is what it sent before the client sent more than its ClientHello.
      client = Buffer.concat([client, chunk]);
      const hello = client.length >= RECORD_HEADER ? RECORD_HEADER + client.readUInt16BE(3) : Infinity;
      if (flightEnd === -1 && client.length > hello) flightEnd = serverBytes;
    },
    done: () => report(Buffer.concat(server), flightEnd),
  };
}
