// The HTTP/2 side of the hostile server: on a TLS connection whose ALPN is
// h2, it sends the script's frames with their edits, and reads what the
// client sends into a log: its preface, requests, acknowledgements, resets
// and GOAWAY (RFC 9113). It acknowledges the client's SETTINGS and answers
// its PINGs as any server does, unless the script reads nothing.
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";

import { editFrames } from "./frame-edits.js";
import { ACK, END_HEADERS, H2, healthyAnswer } from "./h2-wire.js";
import type { H2Edit, H2Frame, Http2Log, Http2Script } from "./plan.js";

/** RFC 9113 §3.4: what a client sends first. */
const CLIENT_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
const FRAME_HEADER = 9;
/** The largest client frame parsed: the default SETTINGS_MAX_FRAME_SIZE, which the server never raises. */
const MAX_CLIENT_FRAME = 16_384;
/** Flood frames per write. */
const FLOOD_BATCH = 64;

export function newHttp2Log(): Http2Log {
  return {
    connections: 0,
    preface: null,
    requests: 0,
    goaway: null,
    resets: [],
    settingsAcks: 0,
    pingAcks: 0,
    strayPingAcks: 0,
    malformed: false,
    closed: true,
  };
}

/** Serves `script` on a TLS connection that chose h2; `log` is reset for it. */
export function serveHttp2(
  script: Http2Script,
  socket: TLSSocket,
  tcp: Socket,
  log: Http2Log,
  endlessLimit: number,
): void {
  Object.assign(log, { ...newHttp2Log(), connections: log.connections + 1, closed: false });
  socket.on("close", () => (log.closed = true));
  const client = new ClientSide(log, socket);
  socket.on("data", (chunk: Buffer) => client.push(chunk));
  void perform(script, socket, tcp, client, Date.now() + endlessLimit);
}

async function perform(
  script: Http2Script,
  socket: TLSSocket,
  tcp: Socket,
  client: ClientSide,
  until: number,
): Promise<void> {
  client.expectPings([...script.preface, ...script.answer]);
  const split = script.preface.length;
  const frames = [...script.preface, ...script.answer].map(encode);
  const preface = editFrames(
    frames.slice(0, split),
    script.edits.filter((edit) => edit.frame < split),
    altered,
  );
  await client.write(Buffer.concat(preface.bytes));
  // Frames cut short are followed by the ending at once: a server that went on after them would make no sense.
  if (preface.cut) return finish(script.ending, socket, tcp, client);
  const request = await client.request(0);
  if (request === null) return;
  if (script.unread) socket.pause();
  const answer = editFrames(
    frames.slice(split),
    script.edits.filter((edit) => edit.frame >= split).map((edit) => ({ ...edit, frame: edit.frame - split })),
    altered,
  );
  await client.write(Buffer.concat(answer.bytes));
  if (answer.cut) return finish(script.ending, socket, tcp, client);
  // A server that serves on answers the client's next request even in the middle of its flood, which stops there.
  let flooding = true;
  const served =
    script.ending === "serve" &&
    (async () => {
      const next = await client.request(request);
      flooding = false;
      if (next === null) return;
      await client.write(Buffer.concat(healthyAnswer(next).map(encode)));
      finish("close_notify", socket, tcp, client);
    })();
  if (script.flood) {
    const end = Math.min(until, Date.now() + script.flood.ms);
    while (flooding && client.writable && Date.now() < end) {
      const batch = Array.from({ length: FLOOD_BATCH }, () =>
        script.flood!.frames.map((frame) => client.flooded(frame)),
      );
      await client.write(Buffer.concat(batch.flat()));
    }
    if (flooding) await client.write(Buffer.concat(script.flood.then.map(encode)));
  }
  if (!served) finish(script.ending, socket, tcp, client);
}

function finish(ending: Http2Script["ending"], socket: TLSSocket, tcp: Socket, client: ClientSide): void {
  client.silent = true;
  if (ending === "fin") tcp.end();
  else if (ending === "reset") tcp.resetAndDestroy();
  // A server that was to serve on, but whose frames were cut, leaves as cleanly as it can.
  else socket.end();
}

/** A frame as the server sends it (RFC 9113 §4.1). */
function encode(frame: H2Frame): Buffer {
  let payload = Buffer.from(frame.payload, "hex");
  if (frame.repeat !== undefined) payload = Buffer.alloc(payload.length * frame.repeat, payload);
  return frameBytes(frame.type, frame.flags, frame.stream, payload, frame.declared);
}

function altered(
  frame: Buffer,
  edit: Extract<H2Edit, { op: "flip" | "type" | "flags" | "stream" | "length" }>,
): Buffer {
  const copy = Buffer.from(frame);
  if (edit.op === "flip") copy[(edit.bit >> 3) % copy.length]! ^= 1 << (edit.bit & 7);
  if (edit.op === "type") copy[3] = edit.type;
  if (edit.op === "flags") copy[4] = edit.flags;
  if (edit.op === "stream") copy.writeUInt32BE(edit.stream >>> 0, 5);
  if (edit.op === "length") copy.writeUIntBE(edit.length, 0, 3);
  return copy;
}

/** Reads the client's frames into the log, and answers its SETTINGS and PINGs. */
class ClientSide {
  readonly #log: Http2Log;
  readonly #socket: TLSSocket;
  readonly #reader: FrameReader;
  /** Streams the client opened, in order, and who waits for the next one. */
  readonly #streams: number[] = [];
  #waiting: (() => void) | null = null;
  /** A HEADERS frame without END_HEADERS: its stream, until a CONTINUATION ends it. */
  #continuing: number | null = null;
  /** The payloads of the server's PINGs (hex), and the number of the last flooded one. */
  readonly #pings = new Set<string>();
  #lastPing = 0;
  #frames = 0;
  /** Set once the script has ended: nothing more is sent. */
  silent = false;

  constructor(log: Http2Log, socket: TLSSocket) {
    this.#log = log;
    this.#socket = socket;
    this.#reader = new FrameReader((right) => (log.preface = right));
    socket.on("close", () => this.#wake());
  }

  /** Whether the connection still takes what the server writes. */
  get writable(): boolean {
    return !this.#socket.destroyed && !this.#socket.writableEnded;
  }

  write(bytes: Buffer): Promise<void> {
    return new Promise((resolve) => (this.writable ? this.#socket.write(bytes, () => resolve()) : resolve()));
  }

  /** The first stream the client opens above `after`, once its HEADERS have ended; null if the connection closes first. */
  async request(after: number): Promise<number | null> {
    for (;;) {
      const stream = this.#streams.find((opened) => opened > after);
      if (stream !== undefined) return stream;
      if (this.#socket.destroyed) return null;
      await new Promise<void>((resolve) => (this.#waiting = resolve));
    }
  }

  /** `frame` as flooded: a PING gets the next number as its payload. */
  flooded(frame: H2Frame): Buffer {
    if (frame.type !== H2.PING) return encode(frame);
    const payload = Buffer.alloc(8);
    payload.writeBigUInt64BE(BigInt(++this.#lastPing));
    return frameBytes(H2.PING, 0, 0, payload);
  }

  push(chunk: Buffer): void {
    for (const frame of this.#reader.push(chunk)) this.#take(frame);
    this.#log.malformed = this.#reader.malformed;
  }

  #take(frame: ReadFrame): void {
    const log = this.#log;
    // RFC 9113 §3.4: the preface ends with a SETTINGS frame.
    if (this.#frames++ === 0 && (frame.type !== H2.SETTINGS || (frame.flags & ACK) !== 0)) log.preface = false;
    switch (frame.type) {
      case H2.SETTINGS:
        if (frame.flags & ACK) log.settingsAcks++;
        else this.#send(frameBytes(H2.SETTINGS, ACK, 0, Buffer.alloc(0)));
        return;
      case H2.PING:
        if (frame.flags & ACK) this.#pingAck(frame.payload);
        else this.#send(frameBytes(H2.PING, ACK, 0, frame.payload));
        return;
      case H2.HEADERS:
        log.requests++;
        if (frame.flags & END_HEADERS) this.#opened(frame.stream);
        else this.#continuing = frame.stream;
        return;
      case H2.CONTINUATION:
        if (frame.flags & END_HEADERS && this.#continuing !== null) this.#opened(this.#continuing);
        return;
      case H2.RST_STREAM:
        if (frame.payload.length === 4) log.resets.push(frame.payload.readUInt32BE(0));
        return;
      case H2.GOAWAY:
        log.goaway = frame.payload.length >= 8 ? frame.payload.readUInt32BE(4) : -1;
        return;
    }
  }

  #opened(stream: number): void {
    this.#continuing = null;
    this.#streams.push(stream);
    this.#wake();
  }

  #wake(): void {
    const waiting = this.#waiting;
    this.#waiting = null;
    waiting?.();
  }

  #pingAck(payload: Buffer): void {
    const number = payload.length === 8 ? Number(payload.readBigUInt64BE()) : 0;
    if ((number >= 1 && number <= this.#lastPing) || this.#pings.has(payload.toString("hex"))) this.#log.pingAcks++;
    else this.#log.strayPingAcks++;
  }

  /** Records the script's own PINGs, whose acknowledgements are not stray. */
  expectPings(frames: readonly H2Frame[]): void {
    for (const frame of frames) if (frame.type === H2.PING && !(frame.flags & ACK)) this.#pings.add(frame.payload);
  }

  #send(bytes: Buffer): void {
    if (!this.silent) void this.write(bytes);
  }
}

/** A frame: its 9-byte header (the length declared, or the payload's) and its payload. */
function frameBytes(type: number, flags: number, stream: number, payload: Buffer, declared?: number): Buffer {
  const header = Buffer.alloc(FRAME_HEADER);
  header.writeUIntBE(declared ?? payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(stream >>> 0, 5);
  return Buffer.concat([header, payload]);
}

/** A client's frame as read. */
interface ReadFrame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

/** Splits what a client sends into its preface and frames; `malformed` once they stop parsing. */
class FrameReader {
  #buffer = Buffer.alloc(0);
  #preface = false;
  malformed = false;

  constructor(private readonly onPreface: (right: boolean) => void) {}

  push(chunk: Buffer): ReadFrame[] {
    if (this.malformed) return [];
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    if (!this.#preface) {
      if (this.#buffer.length < CLIENT_PREFACE.length) return [];
      this.#preface = true;
      const right = this.#buffer.subarray(0, CLIENT_PREFACE.length).equals(CLIENT_PREFACE);
      this.onPreface(right);
      if (!right) {
        this.malformed = true;
        return [];
      }
      this.#buffer = this.#buffer.subarray(CLIENT_PREFACE.length);
    }
    const frames: ReadFrame[] = [];
    while (this.#buffer.length >= FRAME_HEADER) {
      const length = this.#buffer.readUIntBE(0, 3);
      if (length > MAX_CLIENT_FRAME) {
        this.malformed = true;
        break;
      }
      if (this.#buffer.length < FRAME_HEADER + length) break;
      frames.push({
        type: this.#buffer[3]!,
        flags: this.#buffer[4]!,
        stream: this.#buffer.readUInt32BE(5) & 0x7fff_ffff,
        payload: Buffer.from(this.#buffer.subarray(FRAME_HEADER, FRAME_HEADER + length)),
      });
      this.#buffer = this.#buffer.subarray(FRAME_HEADER + length);
    }
    return frames;
  }
}
