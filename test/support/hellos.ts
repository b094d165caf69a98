// TLS hellos as the tests read and write them: the key shares of a
// ClientHello, what a ServerHello chose, and a TLS 1.3 ServerHello made by
// hand for the hostile server (RFC 8446 §4.1.2, §4.1.3, §4.2.8).
const CLIENT_HELLO = 1;
const SERVER_HELLO = 2;
const HANDSHAKE = 22;
const SUPPORTED_GROUPS = 0x000a;
const KEY_SHARE = 0x0033;
const SUPPORTED_VERSIONS = 0x002b;
const TLS13 = 0x0304;
const TLS_AES_128_GCM_SHA256 = 0x1301;
/** The random of a ServerHello that is a HelloRetryRequest: SHA-256 of "HelloRetryRequest". */
const RETRY_RANDOM = Buffer.from("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c", "hex");

/**
 * Key-exchange groups by code point, under the names `TlsConnection.keyExchange` gives them: written apart from
 * src/tls/wire.ts's, whose names the tests check against these.
 */
export const GROUPS = { X25519MLKEM768: 0x11ec, X25519: 0x001d, secp256r1: 0x0017, secp384r1: 0x0018 } as const;

/** A group's name, or its code point in hex when it is none of GROUPS. */
export function groupName(code: number): string {
  const found = Object.entries(GROUPS).find(([, known]) => known === code);
  return found ? found[0] : `0x${code.toString(16).padStart(4, "0")}`;
}

/** One key share: its group's name and the size of its key exchange, in bytes. */
export interface KeyShare {
  group: string;
  bytes: number;
}

export interface ClientHello {
  sessionId: Buffer;
  /** The supported_groups extension's groups, in the order sent. */
  supportedGroups: string[];
  /** The key_share extension's shares, in the order sent (none if it has no such extension). */
  keyShares: KeyShare[];
}

export interface ServerHello {
  /** A HelloRetryRequest asks for another ClientHello, and names the group it wants a share of. */
  retry: boolean;
  /** The group of the key share (or of the retry's request); null without a key_share (TLS 1.2). */
  group: string | null;
}

/** A handshake message: its type and its body, without the 4-byte header. */
export interface HandshakeMessage {
  type: number;
  body: Buffer;
}

/** Handshake messages out of the contents of successive handshake records, each once it is whole. */
export class HandshakeReader {
  #pending = Buffer.alloc(0);

  push(content: Buffer): HandshakeMessage[] {
    let rest = Buffer.concat([this.#pending, content]);
    const messages: HandshakeMessage[] = [];
    while (rest.length >= 4 && rest.length >= 4 + rest.readUIntBE(1, 3)) {
      const end = 4 + rest.readUIntBE(1, 3);
      messages.push({ type: rest[0]!, body: rest.subarray(4, end) });
      rest = rest.subarray(end);
    }
    this.#pending = rest;
    return messages;
  }
}

/** Reads a hello's fields in order; a field that runs past the end throws. */
class Fields {
  readonly #bytes: Buffer;
  #at = 0;

  constructor(bytes: Buffer) {
    this.#bytes = bytes;
  }

  skip(length: number): void {
    this.take(length);
  }

  take(length: number): Buffer {
    if (this.#at + length > this.#bytes.length) throw new Error(`a hello field runs past its end at ${this.#at}`);
    const taken = this.#bytes.subarray(this.#at, this.#at + length);
    this.#at += length;
    return taken;
  }

  u8(): number {
    return this.take(1)[0]!;
  }

  u16(): number {
    return this.take(2).readUInt16BE();
  }

  /** A vector with a length prefix of `prefix` bytes. */
  vector(prefix: 1 | 2): Buffer {
    return this.take(prefix === 1 ? this.u8() : this.u16());
  }

  get done(): boolean {
    return this.#at === this.#bytes.length;
  }
}

/** The extensions of a hello, by type. */
function extensions(fields: Fields): Map<number, Buffer> {
  const found = new Map<number, Buffer>();
  if (fields.done) return found;
  const list = new Fields(fields.vector(2));
  while (!list.done) {
    const type = list.u16();
    found.set(type, list.vector(2));
  }
  return found;
}

/** A ClientHello's body (its handshake header removed). */
export function parseClientHello(body: Buffer): ClientHello {
  const fields = new Fields(body);
  fields.skip(2 + 32); // legacy_version, random
  const sessionId = fields.vector(1);
  fields.vector(2); // cipher_suites
  fields.vector(1); // legacy_compression_methods
  const found = extensions(fields);
  const keyShare = found.get(KEY_SHARE);
  const keyShares: KeyShare[] = [];
  if (keyShare) {
    const shares = new Fields(new Fields(keyShare).vector(2));
    while (!shares.done) keyShares.push({ group: groupName(shares.u16()), bytes: shares.vector(2).length });
  }
  const supportedGroups: string[] = [];
  const groups = found.get(SUPPORTED_GROUPS);
  if (groups) {
    const list = new Fields(new Fields(groups).vector(2));
    while (!list.done) supportedGroups.push(groupName(list.u16()));
  }
  return { sessionId, supportedGroups, keyShares };
}

/** A ServerHello's body (its handshake header removed). */
export function parseServerHello(body: Buffer): ServerHello {
  const fields = new Fields(body);
  fields.skip(2); // legacy_version
  const retry = fields.take(32).equals(RETRY_RANDOM);
  fields.vector(1); // legacy_session_id_echo
  fields.skip(2 + 1); // cipher_suite, legacy_compression_method
  const keyShare = extensions(fields).get(KEY_SHARE);
  return { retry, group: keyShare && keyShare.length >= 2 ? groupName(keyShare.readUInt16BE()) : null };
}

/** The ClientHello in a ClientHello record (its first message), or null if the record holds none. */
export function clientHelloOf(record: Buffer): ClientHello | null {
  if (record[0] !== HANDSHAKE) return null;
  const [message] = new HandshakeReader().push(record.subarray(5));
  return message?.type === CLIENT_HELLO ? parseClientHello(message.body) : null;
}

/**
 * A record holding a TLS 1.3 ServerHello for `hello`: its session id echoed,
 * TLS_AES_128_GCM_SHA256, and a key share of `group` whose key exchange is `share`.
 */
export function serverHelloRecord(hello: ClientHello, group: number, share: Buffer, random: Buffer): Buffer {
  const u16 = (value: number) => Buffer.from([value >> 8, value & 0xff]);
  const extension = (type: number, data: Buffer) => Buffer.concat([u16(type), u16(data.length), data]);
  const extensions = Buffer.concat([
    extension(SUPPORTED_VERSIONS, u16(TLS13)),
    extension(KEY_SHARE, Buffer.concat([u16(group), u16(share.length), share])),
  ]);
  const body = Buffer.concat([
    u16(0x0303),
    random,
    Buffer.from([hello.sessionId.length]),
    hello.sessionId,
    u16(TLS_AES_128_GCM_SHA256),
    Buffer.from([0]),
    u16(extensions.length),
    extensions,
  ]);
  const message = Buffer.concat([Buffer.from([SERVER_HELLO, 0, body.length >> 8, body.length & 0xff]), body]);
  return Buffer.concat([Buffer.from([HANDSHAKE, 3, 3]), u16(message.length), message]);
}
