// What a TLS client and its server sent, seen on the wire rather than taken
// from a TLS library, for what the libraries do not tell.
// ClientCertificateObserver: whether a client sent a certificate. The
// scenarios prove that a client whose pins fail never shows its certificate,
// which the server's own API cannot tell apart from "none configured".
// TLS 1.2: the client's Certificate message (handshake type 11) is plaintext.
// TLS 1.3: it is under the client's handshake traffic key, which the server's
// `keylog` event gives (CLIENT_HANDSHAKE_TRAFFIC_SECRET); the server must
// offer only TLS_AES_128_GCM_SHA256 (OBSERVABLE_CIPHERS) so that the
// records are AES-128-GCM with SHA-256 key derivation (RFC 8446 §7).
// HandshakeObserver: each connection's ClientHellos and their key shares (a
// second one means the server asked again), the group the server chose, and
// whether the client sent anything encrypted: all plaintext in TLS 1.3.
import { createDecipheriv, createHmac } from "node:crypto";
import { DEFAULT_CIPHERS, type TLSSocket } from "node:tls";

import { HandshakeReader, type KeyShare, parseClientHello, parseServerHello } from "./hellos.js";

/**
 * The server's `ciphers`: of TLS 1.3's suites only the one the observer
 * decrypts, and Node's default TLS 1.2 suites (Node hands names that begin
 * with "TLS_" to TLS 1.3, the rest to TLS 1.2).
 */
export const OBSERVABLE_CIPHERS = [
  "TLS_AES_128_GCM_SHA256",
  ...DEFAULT_CIPHERS.split(":").filter((cipher) => !cipher.startsWith("TLS_")),
].join(":");

/**
 * What a connection's client sent: a Certificate message with certificates,
 * an empty one (it had none to give), none at all before its handshake flight
 * ended (Finished, ClientKeyExchange or an alert), or not known yet.
 */
type Verdict = "sent" | "empty" | "none" | "pending";

export interface Observation {
  verdict: Verdict;
  /** Certificates in the client's Certificate message (0 unless sent). */
  certificates: number;
}

/** Client bytes kept per connection: its handshake flight, with room to spare. */
const KEPT_BYTES = 256 * 1024;

const RECORD_HEADER = 5;
const CHANGE_CIPHER_SPEC = 20;
const ALERT = 21;
const HANDSHAKE = 22;
const APPLICATION_DATA = 23;
const CLIENT_HELLO = 1;
const SERVER_HELLO = 2;
const CERTIFICATE = 11;
const CLIENT_KEY_EXCHANGE = 16;
const FINISHED = 20;

const PENDING: Observation = { verdict: "pending", certificates: 0 };

/** Watches one server: give it each connection's client bytes and the server's keylog lines. */
export class ClientCertificateObserver {
  private readonly secrets = new Map<string, Buffer>();
  private readonly randoms = new WeakMap<TLSSocket, string>();
  private readonly flights: Flight[] = [];

  /** For the server's `keylog` event: `server.on("keylog", (line, socket) => observer.keylog(line, socket))`. */
  keylog(line: Buffer, socket: TLSSocket): void {
    const [label, random, secret] = line.toString("latin1").trim().split(" ");
    if (!random || !secret) return;
    this.randoms.set(socket, random);
    if (label === "CLIENT_HANDSHAKE_TRAFFIC_SECRET") this.secrets.set(random, Buffer.from(secret, "hex"));
  }

  /** A new connection: returns where its client-to-server bytes go, in order. */
  connection(): (chunk: Buffer) => void {
    const flight = new Flight();
    this.flights.push(flight);
    return (chunk) => flight.add(chunk);
  }

  /** Each connection's observation, in the order they came. */
  observations(): Observation[] {
    return this.flights.map((flight) => flight.observe(this.secrets));
  }

  /** The observation of the connection under `socket` (once its keys are logged), or undefined. */
  of(socket: TLSSocket): Observation | undefined {
    const random = this.randoms.get(socket);
    return this.flights.find((flight) => flight.random === random)?.observe(this.secrets);
  }
}

class Flight {
  random: string | undefined;
  private chunks: Buffer[] = [];
  private length = 0;
  private decided: Observation | undefined;

  add(chunk: Buffer): void {
    if (this.decided || this.length >= KEPT_BYTES) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
    if (this.random === undefined) this.random = clientRandom(Buffer.concat(this.chunks));
  }

  observe(secrets: Map<string, Buffer>): Observation {
    if (this.decided) return this.decided;
    const observation = judge(Buffer.concat(this.chunks), (random) => secrets.get(random));
    if (observation.verdict !== "pending") {
      this.decided = observation;
      this.chunks = [];
    }
    return observation;
  }
}

/** What one connection's handshake showed on the wire. */
export interface Handshake {
  /** The key shares of each ClientHello the client sent, in order: a second one answers a HelloRetryRequest. */
  clientHellos: KeyShare[][];
  /** The group of the key share that the server's ServerHello (not a HelloRetryRequest) chose; null before one. */
  serverGroup: string | null;
  /** Why the bytes could not be read as TLS hellos, if they could not. */
  unreadable?: string;
}

/** Bytes kept of each side of a connection: its hellos, with room to spare. */
const KEPT_HELLO_BYTES = 64 * 1024;

/** Watches the connections of one server: give it what each side of each connection sends. */
export class HandshakeObserver {
  private readonly connections: { client: Buffer[]; server: Buffer[] }[] = [];

  /** A new connection: returns where each side's bytes go, in order. */
  connection(): { client(chunk: Buffer): void; server(chunk: Buffer): void } {
    const sides = { client: [] as Buffer[], server: [] as Buffer[] };
    this.connections.push(sides);
    const keep = (kept: Buffer[], chunk: Buffer) => {
      if (kept.reduce((total, part) => total + part.length, 0) < KEPT_HELLO_BYTES) kept.push(chunk);
    };
    return { client: (chunk) => keep(sides.client, chunk), server: (chunk) => keep(sides.server, chunk) };
  }

  /** Each connection's handshake, in the order they came. */
  handshakes(): Handshake[] {
    return this.connections.map(({ client, server }) => {
      const handshake: Handshake = { clientHellos: [], serverGroup: null };
      try {
        readClientSide(Buffer.concat(client), handshake);
        readServerSide(Buffer.concat(server), handshake);
      } catch (error) {
        handshake.unreadable = String(error);
      }
      return handshake;
    });
  }
}

/** The client's ClientHellos, up to its first other handshake message. */
function readClientSide(bytes: Buffer, handshake: Handshake): void {
  const messages = new HandshakeReader();
  let hellos = true;
  for (const { type, content } of records(bytes)) {
    if (type !== HANDSHAKE || !hellos) continue;
    for (const message of messages.push(content)) {
      // TLS 1.2: what follows a ClientKeyExchange is encrypted under the handshake's content type.
      hellos &&= message.type === CLIENT_HELLO;
      if (hellos) handshake.clientHellos.push(parseClientHello(message.body).keyShares);
    }
  }
}

/** The group of the server's ServerHello, after any HelloRetryRequest. */
function readServerSide(bytes: Buffer, handshake: Handshake): void {
  const messages = new HandshakeReader();
  for (const { type, content } of records(bytes)) {
    if (type === APPLICATION_DATA) return;
    if (type !== HANDSHAKE) continue;
    for (const message of messages.push(content)) {
      if (message.type !== SERVER_HELLO) continue;
      const hello = parseServerHello(message.body);
      if (!hello.retry) return void (handshake.serverGroup = hello.group);
    }
  }
}

/** The ClientHello's random, hex, once its first record is in. */
function clientRandom(bytes: Buffer): string | undefined {
  // record header, handshake type and length, legacy_version, then 32 bytes of random
  const start = RECORD_HEADER + 4 + 2;
  if (bytes.length < start + 32 || bytes[0] !== HANDSHAKE || bytes[RECORD_HEADER] !== CLIENT_HELLO) return undefined;
  return bytes.subarray(start, start + 32).toString("hex");
}

/** Reads the client's records up to the end of its handshake flight. */
function judge(bytes: Buffer, secretOf: (random: string) => Buffer | undefined): Observation {
  const random = clientRandom(bytes);
  const messages = new HandshakeReader();
  let keys: { key: Buffer; iv: Buffer } | undefined;
  let sequence = 0n;
  for (const record of records(bytes)) {
    let { type, content } = record;
    if (type === CHANGE_CIPHER_SPEC) continue;
    if (type === APPLICATION_DATA) {
      const secret = random && secretOf(random);
      if (!secret) return PENDING;
      keys ??= { key: expandLabel(secret, "key", 16), iv: expandLabel(secret, "iv", 12) };
      const inner = open(keys, sequence++, record.header, content);
      // Under the application keys: the handshake flight is over and named nothing.
      if (!inner) return PENDING;
      ({ type, content } = inner);
    }
    if (type === ALERT) return { verdict: "none", certificates: 0 };
    if (type !== HANDSHAKE) continue;
    for (const message of messages.push(content)) {
      if (message.type === CERTIFICATE) {
        const certificates = countCertificates(message.body, keys !== undefined);
        return { verdict: certificates > 0 ? "sent" : "empty", certificates };
      }
      if (message.type === CLIENT_KEY_EXCHANGE || message.type === FINISHED) {
        return { verdict: "none", certificates: 0 };
      }
    }
  }
  return PENDING;
}

/** The whole records at the front of `bytes`, in order. */
function* records(bytes: Buffer): Generator<{ header: Buffer; type: number; content: Buffer }> {
  for (let offset = 0; offset + RECORD_HEADER <= bytes.length;) {
    const header = bytes.subarray(offset, offset + RECORD_HEADER);
    const end = offset + RECORD_HEADER + header.readUInt16BE(3);
    if (end > bytes.length) return;
    yield { header, type: header[0]!, content: bytes.subarray(offset + RECORD_HEADER, end) };
    offset = end;
  }
}

/** Entries of a Certificate message's certificate_list (RFC 5246 §7.4.2, RFC 8446 §4.4.2). */
function countCertificates(body: Buffer, tls13: boolean): number {
  let offset = tls13 ? 1 + body[0]! : 0; // TLS 1.3: certificate_request_context first
  const end = offset + 3 + body.readUIntBE(offset, 3);
  offset += 3;
  let count = 0;
  while (offset < end) {
    offset += 3 + body.readUIntBE(offset, 3);
    if (tls13) offset += 2 + body.readUInt16BE(offset); // each entry's extensions
    count++;
  }
  return count;
}

/** HKDF-Expand-Label with SHA-256 and an empty context, for one block of output (RFC 8446 §7.1). */
function expandLabel(secret: Buffer, label: string, length: number): Buffer {
  const full = Buffer.from(`tls13 ${label}`, "latin1");
  const info = Buffer.concat([Buffer.from([0, length, full.length]), full, Buffer.from([0])]);
  return createHmac("sha256", secret)
    .update(Buffer.concat([info, Buffer.from([1])]))
    .digest()
    .subarray(0, length);
}

/** Decrypts a TLS 1.3 record, or null if these keys did not seal it; the inner type is the last non-zero byte. */
function open(
  keys: { key: Buffer; iv: Buffer },
  sequence: bigint,
  header: Buffer,
  record: Buffer,
): { type: number; content: Buffer } | null {
  const nonce = Buffer.from(keys.iv);
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(sequence);
  for (let index = 0; index < 8; index++) nonce[4 + index]! ^= counter[index]!;
  const decipher = createDecipheriv("aes-128-gcm", keys.key, nonce);
  decipher.setAAD(header);
  decipher.setAuthTag(record.subarray(record.length - 16));
  let plain: Buffer;
  try {
    plain = Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()]);
  } catch {
    return null;
  }
  let end = plain.length - 1;
  while (end >= 0 && plain[end] === 0) end--;
  return { type: plain[end]!, content: plain.subarray(0, end) };
}
