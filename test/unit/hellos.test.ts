// The hello parsing and the ServerHello the hostile server builds
// (test/support/hellos.ts), and the HandshakeObserver the key-exchange
// scenarios rely on, proven against Node's own TLS on both ends: its client
// sends one X25519 share, which a server limited to P-256 answers with a
// HelloRetryRequest.
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { connect, type ConnectionOptions } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import {
  GROUPS,
  HandshakeReader,
  clientHelloOf,
  groupName,
  parseClientHello,
  parseServerHello,
  serverHelloRecord,
} from "../support/hellos.js";
import { type Issued, issue } from "../support/pki.js";
import { type ObservedServer, startObservingRelay, startTlsServer, type TestServer } from "../support/servers.js";

let root: Issued;
const servers: TestServer[] = [];
const relays = {} as Record<"default" | "p256", ObservedServer>;

beforeAll(async () => {
  root = await issue({ commonName: "hellos test root", ca: true });
  const leaf = await issue({ commonName: "localhost", dnsNames: ["localhost"], issuer: root });
  for (const [name, ecdhCurve] of [
    ["default", undefined],
    ["p256", "P-256"],
  ] as const) {
    const server = await startTlsServer({ chain: [leaf], key: leaf, minVersion: "TLSv1.3", ecdhCurve }, (socket) =>
      socket.once("data", () => socket.end("HTTP/1.1 204 No Content\r\n\r\n")),
    );
    servers.push(server);
    relays[name] = await startObservingRelay(server.port);
    servers.push(relays[name]);
  }
});

afterAll(() => Promise.all(servers.map((server) => server.close())));

/** Connects with Node's client through `relay`, sends a request and reads the answer, or the handshake's error. */
async function nodeClient(relay: ObservedServer, options: ConnectionOptions = {}): Promise<string> {
  const socket = connect({
    host: "127.0.0.1",
    servername: "localhost",
    port: relay.port,
    ca: root.certPem,
    ...options,
  });
  try {
    await once(socket, "secureConnect");
    socket.write("GET / HTTP/1.1\r\nhost: localhost\r\n\r\n");
    const chunks: Buffer[] = [];
    for await (const chunk of socket) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString().split("\r\n", 1)[0]!;
  } catch (error) {
    socket.destroy();
    return String(error);
  }
}

/** The handshake of the connection after the first `before`, once the relay has seen it close. */
async function observed(relay: ObservedServer, before: number) {
  for (let attempt = 0; attempt < 500 && (relay.handshakes.length <= before || relay.open > 0); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return relay.handshakes[before];
}

describe("HandshakeObserver", () => {
  it("sees one ClientHello with Node's X25519 share, the group the server chose, and the encrypted records", async () => {
    const before = relays.default.handshakes.length;
    expect(await nodeClient(relays.default)).toBe("HTTP/1.1 204 No Content");
    const handshake = await observed(relays.default, before);
    expect(handshake).toMatchObject({ clientHellos: [[{ group: "X25519", bytes: 32 }]], serverGroup: "X25519" });
    expect(handshake?.unreadable).toBeUndefined();
  });

  it("sees the second ClientHello that a HelloRetryRequest asks for, and its P-256 share", async () => {
    const before = relays.p256.handshakes.length;
    expect(await nodeClient(relays.p256)).toBe("HTTP/1.1 204 No Content");
    expect(await observed(relays.p256, before)).toMatchObject({
      clientHellos: [[{ group: "X25519", bytes: 32 }], [{ group: "secp256r1", bytes: 65 }]],
      serverGroup: "secp256r1",
    });
  });

  it("sees nothing encrypted from a client whose handshake fails", async () => {
    const before = relays.p256.handshakes.length;
    expect(await nodeClient(relays.p256, { ecdhCurve: "X448" })).toMatch(/handshake failure|alert/i);
    expect(await observed(relays.p256, before)).toEqual({
      clientHellos: [[{ group: "0x001e", bytes: 56 }]],
      serverGroup: null,
    });
  });
});

describe("hellos", () => {
  /** A ClientHello body: version, random, session id, one suite, no compression, supported_groups and key_share. */
  const clientHello = (sessionId: Buffer, shares: [number, number][], supported = shares.map(([group]) => group)) => {
    const entries = Buffer.concat(
      shares.map(([group, length]) =>
        Buffer.concat([Buffer.from([group >> 8, group & 0xff, length >> 8, length & 0xff]), Buffer.alloc(length, 7)]),
      ),
    );
    const keyShare = Buffer.concat([Buffer.from([entries.length >> 8, entries.length & 0xff]), entries]);
    const groups = Buffer.from([0, supported.length * 2, ...supported.flatMap((group) => [group >> 8, group & 0xff])]);
    const extension = Buffer.concat([
      Buffer.from([0, 0x0a, 0, groups.length]),
      groups,
      Buffer.from([0, 0x33, keyShare.length >> 8, keyShare.length & 0xff]),
      keyShare,
    ]);
    return Buffer.concat([
      Buffer.from([3, 3]),
      Buffer.alloc(32, 1),
      Buffer.from([sessionId.length]),
      sessionId,
      Buffer.from([0, 2, 0x13, 0x01, 1, 0]),
      Buffer.from([extension.length >> 8, extension.length & 0xff]),
      extension,
    ]);
  };
  const record = (body: Buffer) =>
    Buffer.concat([
      Buffer.from([
        22,
        3,
        1,
        (body.length + 4) >> 8,
        (body.length + 4) & 0xff,
        1,
        0,
        body.length >> 8,
        body.length & 0xff,
      ]),
      body,
    ]);

  it("reads a ClientHello's session id, supported groups and key shares, in order", () => {
    const sessionId = randomBytes(32);
    const body = clientHello(
      sessionId,
      [
        [GROUPS.X25519MLKEM768, 1_216],
        [GROUPS.X25519, 32],
      ],
      [GROUPS.X25519MLKEM768, GROUPS.X25519, GROUPS.secp256r1],
    );
    expect(parseClientHello(body)).toEqual({
      sessionId,
      supportedGroups: ["X25519MLKEM768", "X25519", "secp256r1"],
      keyShares: [
        { group: "X25519MLKEM768", bytes: 1_216 },
        { group: "X25519", bytes: 32 },
      ],
    });
    expect(clientHelloOf(record(body))?.keyShares).toHaveLength(2);
    expect(clientHelloOf(Buffer.from([0x15, 3, 3, 0, 2, 2, 40]))).toBeNull();
  });

  it("refuses a hello whose field runs past its end", () => {
    const body = clientHello(Buffer.alloc(32), [[GROUPS.X25519, 32]]);
    expect(() => parseClientHello(body.subarray(0, body.length - 1))).toThrow(/runs past its end/);
  });

  it("builds a TLS 1.3 ServerHello that echoes the session id and carries the key share given", () => {
    const sessionId = randomBytes(32);
    const hello = parseClientHello(clientHello(sessionId, [[GROUPS.X25519MLKEM768, 1_216]]));
    const share = randomBytes(1_120);
    const built = serverHelloRecord(hello, GROUPS.X25519MLKEM768, share, Buffer.alloc(32, 9));
    expect(built.subarray(0, 3)).toEqual(Buffer.from([22, 3, 3]));
    expect(built.readUInt16BE(3)).toBe(built.length - 5);
    const [message] = new HandshakeReader().push(built.subarray(5));
    expect(message?.type).toBe(2);
    expect(message?.body.length).toBe(built.length - 9);
    // legacy version, random, then the echoed session id, the suite and no compression
    expect(message?.body.subarray(34, 35 + 32)).toEqual(Buffer.concat([Buffer.from([32]), sessionId]));
    expect(message?.body.subarray(67, 70)).toEqual(Buffer.from([0x13, 0x01, 0]));
    expect(message?.body.includes(share)).toBe(true);
    expect(parseServerHello(message!.body)).toEqual({ retry: false, group: "X25519MLKEM768" });
  });

  it("reads handshake messages split across records, each once whole", () => {
    const reader = new HandshakeReader();
    expect(reader.push(Buffer.from([1, 0, 0, 3, 0xaa]))).toEqual([]);
    expect(reader.push(Buffer.from([0xbb, 0xcc, 2, 0, 0, 0]))).toEqual([
      { type: 1, body: Buffer.from([0xaa, 0xbb, 0xcc]) },
      { type: 2, body: Buffer.alloc(0) },
    ]);
  });

  it("names the groups pinned-fetch reports, and shows others by code point", () => {
    expect(groupName(0x11ec)).toBe("X25519MLKEM768");
    expect(groupName(0x0017)).toBe("secp256r1");
    expect(groupName(0x0100)).toBe("0x0100");
  });
});
