// WebSocket servers for the tests, on 127.0.0.1 with the test PKI: the `ws`
// package's server, which behaves by path, and a raw TLS server that answers
// the upgrade with scripted bytes for what `ws` cannot be made to send. Both
// record each connection: its upgrade request, the bytes it received and the
// close frame the client sent.
import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { Duplex } from "node:stream";
import type { TLSSocket } from "node:tls";

import { WebSocketServer, type WebSocket } from "ws";

import { FRAGMENTED_BINARY, FRAGMENTED_TEXT, FRAGMENTS_PING, PING_PAYLOAD, RAW_BIG_MESSAGE } from "./content.js";
import type { Issued } from "./pki.js";
import { listen, newStats, startTlsServer, type TestServer } from "./servers.js";

/** One WebSocket connection, as its server saw it. */
export interface WebSocketRecord {
  /** The `id` query parameter of the request, by which a scenario finds its own connection ("" if none). */
  id: string;
  path: string;
  /** The upgrade request's header fields, names lower-cased, repeated ones joined with ", ". */
  headers: Record<string, string>;
  /** Decrypted bytes received on the connection so far, the upgrade request included. */
  receivedBytes: number;
  /** The extensions the server agreed to ("" for none; `ws` servers only). */
  extensions: string;
  /** Messages received (by the raw server: data frames). */
  messages: number;
  /** The payloads of the pongs received, as text. */
  pongs: string[];
  /**
   * The code of the close frame the client sent (1005 for a frame without
   * one), or 1006 once the connection ended without one; null while open.
   */
  closeCode: number | null;
  closeReason: string | null;
}

export interface WebSocketTestServer extends TestServer {
  readonly websockets: WebSocketRecord[];
}

interface TlsOptions {
  chain: Issued[];
  key: Issued;
}

/** What the `ws` server does on each path; any other path is refused with 404 before the upgrade. */
const WS_ROUTES: Record<string, (socket: WebSocket, request: IncomingMessage) => void> = {
  /** Echoes each message as it came: text as text, binary as binary. */
  "/echo": (socket) => socket.on("message", (data, isBinary) => socket.send(data as Buffer, { binary: isBinary })),
  /**
   * A text message in three fragments, the last character (3 bytes of UTF-8)
   * split between two of them, with a ping before the last; then a binary
   * message of 2 × 1,500 bytes in two fragments.
   */
  "/fragments": (socket) => {
    const text = Buffer.from(FRAGMENTED_TEXT);
    socket.send(text.subarray(0, 4), { binary: false, fin: false });
    socket.send(text.subarray(4, -1), { binary: false, fin: false });
    socket.ping(FRAGMENTS_PING);
    socket.send(text.subarray(-1), { binary: false, fin: true });
    const binary = Buffer.from(FRAGMENTED_BINARY);
    socket.send(binary.subarray(0, 1_500), { binary: true, fin: false });
    socket.send(binary.subarray(1_500), { binary: true, fin: true });
  },
  "/ping": (socket) => socket.ping(PING_PAYLOAD),
  "/close-by-server": (socket) => socket.close(4000, "bye"),
  /** Sends "going", then destroys the socket without a close frame (nor TLS close_notify). */
  "/abrupt": (socket, request) => socket.send("going", () => request.socket.destroy()),
};

/** Per-connection byte counts of the `ws` servers, by TLS socket, kept current. */
const counted = new WeakMap<TLSSocket, { receivedBytes: number }>();

/**
 * An HTTPS server with a `ws` WebSocketServer (see WS_ROUTES), permessage-
 * deflate on or off. Of the subprotocols a client offers, it picks the last.
 */
export async function startWsServer(tls: TlsOptions, perMessageDeflate: boolean): Promise<WebSocketTestServer> {
  const websockets: WebSocketRecord[] = [];
  const stats = newStats();
  const https = createHttpsServer({
    key: tls.key.keyPem,
    cert: tls.chain.map((certificate) => certificate.certPem).join(""),
    noDelay: true,
  });
  https.on("request", (_, response: ServerResponse) => response.writeHead(426).end());
  https.on("secureConnection", (socket: TLSSocket) => {
    stats.connections++;
    const count = { receivedBytes: 0 };
    counted.set(socket, count);
    socket.on("data", (chunk: Buffer) => {
      stats.receivedBytes += chunk.length;
      count.receivedBytes += chunk.length;
    });
  });
  https.on("tlsClientError", () => stats.handshakeFailures++);
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate,
    handleProtocols: (offered) => [...offered].at(-1) ?? false,
  });
  https.on("upgrade", (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(request.url ?? "/", "https://test");
    const route = WS_ROUTES[url.pathname];
    if (!route) return void socket.end("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
    wss.handleUpgrade(request, socket, head, (websocket) => {
      const record = Object.assign(counted.get(request.socket as TLSSocket) ?? { receivedBytes: 0 }, {
        ...identify(url, request.headers),
        extensions: websocket.extensions,
        messages: 0,
        pongs: [] as string[],
        closeCode: null as number | null,
        closeReason: null as string | null,
      });
      websockets.push(record);
      websocket.on("message", () => record.messages++);
      websocket.on("pong", (payload) => record.pongs.push(payload.toString()));
      websocket.on("error", () => {});
      websocket.on("close", (code, reason) => {
        record.closeCode = code;
        record.closeReason = reason.toString();
      });
      route(websocket, request);
    });
  });
  return withRecords(await listen(https, stats), websockets);
}

/**
 * What the raw server answers, by path: the bytes after the request (a
 * function of the request's Sec-WebSocket-Key), and whether it then ignores
 * the client's close frame instead of ending the connection.
 */
const RAW_ROUTES: Record<string, { answer: (key: string) => Buffer; silent?: true }> = {
  // Before open: answers the client must refuse with ERR_HTTP, and one that never comes (ERR_TIMEOUT).
  "/forbidden": { answer: () => Buffer.from("HTTP/1.1 403 Forbidden\r\ncontent-length: 2\r\n\r\nno") },
  "/not-upgraded": { answer: () => Buffer.from("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok") },
  "/wrong-accept": { answer: () => upgraded("a wrong key") },
  "/missing-accept": {
    answer: () => Buffer.from("HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\n"),
  },
  "/unoffered-protocol": { answer: (key) => upgraded(key, "sec-websocket-protocol: chat") },
  "/unoffered-extension": { answer: (key) => upgraded(key, "sec-websocket-extensions: x-webkit-deflate-frame") },
  "/no-answer": { answer: () => Buffer.alloc(0) },
  "/deflate": { answer: (key) => upgraded(key, "sec-websocket-extensions: permessage-deflate") },
  // After open: frames that break RFC 6455.
  "/invalid-utf8": { answer: (key) => upgraded(key, "", frame(0x1, [0x68, 0x69, 0xc3, 0x28])) },
  "/masked": { answer: (key) => upgraded(key, "", frame(0x1, [0x68, 0x69], { mask: true })) },
  "/rsv2": { answer: (key) => upgraded(key, "", frame(0x1, [0x68, 0x69], { rsv: 0x20 })) },
  "/rsv1": { answer: (key) => upgraded(key, "", frame(0x1, [0x68, 0x69], { rsv: 0x40 })) },
  "/unknown-opcode": { answer: (key) => upgraded(key, "", frame(0x3, [0x68, 0x69])) },
  "/bad-close-code": { answer: (key) => upgraded(key, "", frame(0x8, [0x03, 0xed])) },
  "/big": { answer: (key) => upgraded(key, "", frame(0x2, new Array<number>(RAW_BIG_MESSAGE).fill(0x62))) },
  "/silent-close": { answer: (key) => upgraded(key, ""), silent: true },
};

/**
 * A TLS server that reads an upgrade request and answers it from RAW_ROUTES
 * (404 for any other path), then reads the client's frames: on a close frame
 * it records the code, answers with the same frame and ends the connection,
 * unless the route is silent.
 */
export async function startRawWebSocketServer(tls: TlsOptions): Promise<WebSocketTestServer> {
  const websockets: WebSocketRecord[] = [];
  const server = await startTlsServer(tls, (socket) => {
    let head = Buffer.alloc(0);
    const onHead = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      socket.off("data", onHead);
      const [requestLine = "", ...lines] = head.subarray(0, end).toString("latin1").split("\r\n");
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(":");
        const name = line.slice(0, colon).trim().toLowerCase();
        const value = line.slice(colon + 1).trim();
        headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
      }
      const url = new URL(requestLine.split(" ")[1] ?? "/", "https://test");
      const record: WebSocketRecord = {
        ...identify(url, headers),
        receivedBytes: head.length,
        extensions: "",
        messages: 0,
        pongs: [],
        closeCode: null,
        closeReason: null,
      };
      websockets.push(record);
      const route = RAW_ROUTES[url.pathname];
      if (!route) return void socket.end("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n");
      socket.write(route.answer(headers["sec-websocket-key"] ?? ""));
      readClientFrames(socket, record, head.subarray(end + 4), (payload) => {
        if (!route.silent) socket.end(frame(0x8, [...payload]));
      });
    };
    socket.on("data", onHead);
  });
  return withRecords(server, websockets);
}

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** A 101 answer to `key`, with `fields` (one line, or none), followed by `after`. */
function upgraded(key: string, fields = "", after: Buffer = Buffer.alloc(0)): Buffer {
  const accept = createHash("sha1")
    .update(key + GUID)
    .digest("base64");
  const extra = fields ? `${fields}\r\n` : "";
  const head = `HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${accept}\r\n${extra}\r\n`;
  return Buffer.concat([Buffer.from(head, "latin1"), after]);
}

/** A server frame of under 64 KiB with FIN set: unmasked unless `mask`, with RSV bits `rsv` (0x40, 0x20, 0x10). */
function frame(opcode: number, payload: number[], options: { mask?: true; rsv?: number } = {}): Buffer {
  const body = Buffer.from(payload);
  const length =
    body.length < 126 ? Buffer.from([body.length]) : Buffer.from([126, body.length >> 8, body.length & 0xff]);
  if (options.mask) length[0]! |= 0x80;
  const key = options.mask ? Buffer.from([1, 2, 3, 4]) : Buffer.alloc(0);
  const masked = options.mask ? body.map((byte, index) => byte ^ key[index % 4]!) : body;
  return Buffer.concat([Buffer.from([0x80 | (options.rsv ?? 0) | opcode]), length, key, masked]);
}

/**
 * Reads the client's (masked) frames from `socket`; records the close
 * frame's code and reason, then calls `onClose` with its payload.
 */
function readClientFrames(
  socket: TLSSocket,
  record: WebSocketRecord,
  first: Buffer,
  onClose: (payload: Buffer) => void,
): void {
  let pending = first;
  const read = (chunk: Buffer) => {
    record.receivedBytes += chunk.length;
    pending = Buffer.concat([pending, chunk]);
    for (;;) {
      if (pending.length < 2) return;
      const opcode = pending[0]! & 0x0f;
      let length = pending[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (pending.length < 4) return;
        length = pending.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (pending.length < 10) return;
        length = Number(pending.readBigUInt64BE(2));
        offset = 10;
      }
      const masked = (pending[1]! & 0x80) !== 0;
      const start = offset + (masked ? 4 : 0);
      if (pending.length < start + length) return;
      const payload = Buffer.from(pending.subarray(start, start + length));
      if (masked) for (let index = 0; index < length; index++) payload[index]! ^= pending[offset + (index % 4)]!;
      pending = pending.subarray(start + length);
      if (opcode === 0x8) {
        record.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        record.closeReason = payload.subarray(2).toString();
        socket.off("data", read);
        return onClose(payload);
      }
      if (opcode === 0xa) record.pongs.push(payload.toString());
      else if (opcode !== 0x9 && opcode !== 0x0) record.messages++;
    }
  };
  socket.on("data", read);
  socket.on("close", () => (record.closeCode ??= 1006));
  read(Buffer.alloc(0));
}

/** The id and path of a request's URL, and its header fields as one string each. */
function identify(url: URL, headers: Record<string, string | string[] | undefined>) {
  return {
    id: url.searchParams.get("id") ?? "",
    path: url.pathname,
    headers: Object.fromEntries(
      Object.entries(headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(", ") : (value ?? "")]),
    ),
  };
}

function withRecords(server: TestServer, websockets: WebSocketRecord[]): WebSocketTestServer {
  return Object.defineProperty(server, "websockets", {
    enumerable: true,
    get: () => websockets,
  }) as WebSocketTestServer;
}
