// The WebSocket side of the hostile server: on a real TLS connection, it
// reads the client's upgrade request, answers it as the case's script says,
// sends the script's frames with their edits, and logs what the client sends
// back: its pongs and its close frame (RFC 6455 §5).
import { createHash, randomBytes } from "node:crypto";
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { constants, deflateRawSync } from "node:zlib";

import { editFrames } from "./frame-edits.js";
import { ANSWER_WAIT, type FrameEdit, type WebSocketLog, type WebSocketScript, type WsFrame } from "./plan.js";

/** RFC 6455 §1.3: what the key is hashed with for Sec-WebSocket-Accept. */
const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/** The largest upgrade request head read, and the largest client frame parsed. */
const MAX_REQUEST = 65_536;
const MAX_CLIENT_FRAME = 1 << 20;
/** RFC 7692 §7.2.1: a compressed message's payload is a sync-flushed block without this tail. */
const DEFLATE_TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);
const MIB = 1 << 20;

export function newWebSocketLog(): WebSocketLog {
  return {
    connections: 0,
    request: null,
    close: null,
    pongs: 0,
    strayPongs: 0,
    unmasked: 0,
    afterClose: 0,
    malformed: false,
    closed: true,
  };
}

/** Serves `script` on a TLS connection whose client is about to send an upgrade request; `log` is reset for it. */
export function serveWebSocket(
  script: WebSocketScript,
  socket: TLSSocket,
  tcp: Socket,
  log: WebSocketLog,
  endlessLimit: number,
): void {
  Object.assign(log, { ...newWebSocketLog(), connections: log.connections + 1, closed: false });
  socket.on("close", () => (log.closed = true));
  let head = Buffer.alloc(0);
  const onHead = (chunk: Buffer) => {
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf("\r\n\r\n");
    if (end === -1 && head.length < MAX_REQUEST) return;
    socket.off("data", onHead);
    const request = end === -1 ? null : parseRequest(head.subarray(0, end).toString("latin1"));
    log.request = request ? request.problem : "no request head";
    if (!request?.key || request.problem)
      return void socket.end("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
    const reader = new ClientReader(log, script.frames);
    reader.push(head.subarray(end + 4));
    socket.on("data", (more: Buffer) => reader.push(more));
    if (script.unread) socket.pause();
    void answer(script, socket, tcp, request.key, reader, Date.now() + endlessLimit);
  };
  socket.on("data", onHead);
}

/** The upgrade request's key, and what is wrong with the request (RFC 6455 §4.1), if anything. */
function parseRequest(text: string): { key: string | null; problem: string | null } {
  const [requestLine = "", ...lines] = text.split("\r\n");
  const fields = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) fields.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const key = fields.get("sec-websocket-key") ?? null;
  const tokens = (name: string) => (fields.get(name) ?? "").toLowerCase().split(/\s*,\s*/);
  const problem = !/^GET \S+ HTTP\/1\.1$/.test(requestLine)
    ? `request line ${JSON.stringify(requestLine)}`
    : !tokens("upgrade").includes("websocket")
      ? "no Upgrade: websocket"
      : !tokens("connection").includes("upgrade")
        ? "no Connection: Upgrade"
        : fields.get("sec-websocket-version") !== "13"
          ? "no Sec-WebSocket-Version: 13"
          : key === null || Buffer.from(key, "base64").length !== 16
            ? `Sec-WebSocket-Key ${JSON.stringify(key)}`
            : null;
  return { key, problem };
}

async function answer(
  script: WebSocketScript,
  socket: TLSSocket,
  tcp: Socket,
  key: string,
  reader: ClientReader,
  until: number,
): Promise<void> {
  const write = (bytes: Buffer) =>
    new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.write(bytes, () => resolve())));
  const accept = createHash("sha1")
    .update(key + GUID)
    .digest("base64");
  const head = Buffer.from(script.head.replaceAll("{accept}", accept), "latin1");
  if (script.repeat !== undefined) {
    await write(head);
    const block = Buffer.from(script.repeat.repeat(Math.ceil(16_384 / script.repeat.length)), "latin1");
    while (!socket.destroyed && Date.now() < until) await write(block);
    return;
  }
  const { bytes, cut } = editFrames(script.frames.map(encode), script.edits, altered);
  if (script.coalesce) await write(Buffer.concat([head, ...bytes]));
  else for (const part of [head, ...bytes]) await write(part);
  if (script.pings && !cut) await pingUntilClosed(socket, write, reader, until);
  if (socket.destroyed) return;
  switch (script.ending) {
    case "answer": {
      const code = await reader.closeWithin(ANSWER_WAIT);
      const closed = script.frames.some((frame) => frame.opcode === 8);
      if (code !== null && !closed && !socket.destroyed) await write(encode(closeFrameOf(code)));
      return void socket.end();
    }
    case "close_notify":
      return void socket.end();
    case "fin":
      return void tcp.end();
    case "reset":
      return void tcp.resetAndDestroy();
  }
}

/** Pings, numbered, as fast as the client takes them, until its close frame comes; the close is then answered. */
async function pingUntilClosed(
  socket: TLSSocket,
  write: (bytes: Buffer) => Promise<void>,
  reader: ClientReader,
  until: number,
): Promise<void> {
  while (!socket.destroyed && reader.close === null && Date.now() < until) {
    const batch = Array.from({ length: 64 }, () =>
      encode({ opcode: 9, payload: Buffer.from(String(++reader.lastPing)).toString("hex") }),
    );
    await write(Buffer.concat(batch));
  }
}

function closeFrameOf(code: number): WsFrame {
  const payload = Buffer.alloc(code === 1005 ? 0 : 2);
  if (payload.length > 0) payload.writeUInt16BE(code);
  return { opcode: 8, payload: payload.toString("hex") };
}

/** A frame as the server sends it (RFC 6455 §5.2). */
function encode(frame: WsFrame): Buffer {
  let payload: Buffer = Buffer.from(frame.payload, "hex");
  if (frame.repeat !== undefined) payload = Buffer.alloc(payload.length * frame.repeat, payload);
  if (frame.bomb !== undefined) payload = bomb(frame.bomb);
  else if (frame.deflate) payload = deflate(payload);
  const rsv = frame.rsv ?? (frame.bomb !== undefined || frame.deflate ? 4 : 0);
  const length = frame.declared === undefined ? BigInt(payload.length) : BigInt(frame.declared);
  const wide = frame.declared !== undefined || length > 0xffffn;
  const header = Buffer.alloc(2 + (wide ? 8 : length >= 126n ? 2 : 0) + (frame.mask ? 4 : 0));
  header[0] = (frame.fin === false ? 0 : 0x80) | ((rsv & 7) << 4) | (frame.opcode & 0xf);
  header[1] = (frame.mask ? 0x80 : 0) | (wide ? 127 : length >= 126n ? 126 : Number(length));
  if (wide) header.writeBigUInt64BE(length, 2);
  else if (length >= 126n) header.writeUInt16BE(Number(length), 2);
  if (frame.mask) {
    const key = randomBytes(4);
    key.copy(header, header.length - 4);
    payload = Buffer.from(payload.map((byte, at) => byte ^ key[at & 3]!));
  }
  return Buffer.concat([header, payload]);
}

function deflate(payload: Buffer): Buffer {
  const compressed = deflateRawSync(payload, { finishFlush: constants.Z_SYNC_FLUSH });
  return compressed.subarray(0, compressed.length - DEFLATE_TAIL.length);
}

const bombs = new Map<number, Buffer>();
/**
 * `mib` MiB of zeros, compressed: one compressed MiB repeated. Each copy ends with a sync flush at a byte boundary
 * and refers only to itself, so the copies make one stream, built without holding what it decodes to.
 */
function bomb(mib: number): Buffer {
  let made = bombs.get(mib);
  if (!made) {
    const one = deflateRawSync(Buffer.alloc(MIB), { finishFlush: constants.Z_SYNC_FLUSH });
    const stream = Buffer.concat(Array.from({ length: mib }, () => one));
    made = stream.subarray(0, stream.length - DEFLATE_TAIL.length);
    bombs.set(mib, made);
  }
  return made;
}

function altered(frame: Buffer, edit: Extract<FrameEdit, { op: "flip" | "opcode" | "rsv" }>): Buffer {
  const copy = Buffer.from(frame);
  if (edit.op === "flip") copy[(edit.bit >> 3) % copy.length]! ^= 1 << (edit.bit & 7);
  if (edit.op === "opcode") copy[0] = (copy[0]! & 0xf0) | (edit.opcode & 0xf);
  if (edit.op === "rsv") copy[0] = (copy[0]! & 0x8f) | ((edit.rsv & 7) << 4);
  return copy;
}

/** Parses the client's frames into the log: each must be masked, and nothing may follow the close frame. */
class ClientReader {
  readonly #log: WebSocketLog;
  #buffer = Buffer.alloc(0);
  #onClose: ((code: number) => void) | null = null;
  /** The payloads of the script's pings, and the number of the last endless one: a pong answers one of them. */
  readonly #pings: Set<string>;
  lastPing = 0;

  constructor(log: WebSocketLog, frames: readonly WsFrame[]) {
    this.#log = log;
    this.#pings = new Set(frames.filter((frame) => frame.opcode === 9).map((frame) => frame.payload));
  }

  get close(): number | null {
    return this.#log.close;
  }

  /** The client's close code, once it comes, or null if it does not come within `ms`. */
  closeWithin(ms: number): Promise<number | null> {
    if (this.#log.close !== null) return Promise.resolve(this.#log.close);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(null), ms);
      this.#onClose = (code) => {
        clearTimeout(timer);
        resolve(code);
      };
    });
  }

  push(chunk: Buffer): void {
    if (this.#log.malformed) return;
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    for (let frame = this.#next(); frame; frame = this.#next()) this.#take(frame.opcode, frame.payload);
  }

  /** The next whole frame, unmasked; null until one has arrived. */
  #next(): { opcode: number; payload: Buffer } | null {
    const bytes = this.#buffer;
    if (bytes.length < 2) return null;
    const masked = (bytes[1]! & 0x80) !== 0;
    const short = bytes[1]! & 0x7f;
    const at = short === 127 ? 10 : short === 126 ? 4 : 2;
    if (bytes.length < at) return null;
    const length = short === 127 ? Number(bytes.readBigUInt64BE(2)) : short === 126 ? bytes.readUInt16BE(2) : short;
    if (length > MAX_CLIENT_FRAME) {
      this.#log.malformed = true;
      return null;
    }
    const start = at + (masked ? 4 : 0);
    if (bytes.length < start + length) return null;
    const key = bytes.subarray(at, start);
    const payload = Buffer.from(bytes.subarray(start, start + length));
    if (masked) for (let index = 0; index < payload.length; index++) payload[index]! ^= key[index & 3]!;
    else this.#log.unmasked++;
    this.#buffer = bytes.subarray(start + length);
    return { opcode: bytes[0]! & 0xf, payload };
  }

  #take(opcode: number, payload: Buffer): void {
    if (this.#log.close !== null) return void this.#log.afterClose++;
    if (opcode === 0xa) {
      const number = Number(payload.toString("latin1"));
      const numbered = payload.length > 0 && Number.isInteger(number) && number >= 1 && number <= this.lastPing;
      if (numbered || this.#pings.has(payload.toString("hex"))) this.#log.pongs++;
      else this.#log.strayPongs++;
    }
    if (opcode === 0x8) {
      const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      this.#log.close = code;
      this.#onClose?.(code);
    }
  }
}
