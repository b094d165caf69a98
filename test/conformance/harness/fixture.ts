// The conformance fixture, run by Node: one test PKI and every server the
// scenarios talk to, on 127.0.0.1, plus a control server for their counters.
// The Node tests start it in-process; Deno's and Bun's runs get its
// description from the control server.
import { createHash, X509Certificate } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { TLSSocket } from "node:tls";

import { prepare, startDecodingServer, startHttp2DecodingServer } from "../../support/bombs.js";
import { bombPath } from "../../support/content.js";
import { buildMazes, MAZES, type MazeName } from "../../support/hostile/chains.js";
import { startHostileServer } from "../../support/hostile/server.js";
import type { ServerPlan } from "../../support/hostile/plan.js";
import {
  CLIENT_AUTH,
  createPki,
  issue,
  type IssueOptions,
  type Issued,
  type Pki,
  withAlteredSignature,
} from "../../support/pki.js";
import { createClientPki } from "../../support/client-pki.js";
import { startGoTlsServer } from "../../support/go-tls-server.js";
import { startHttp2Servers } from "../../support/http2-servers.js";
import { startProxy } from "../../support/proxy.js";
import { startServe } from "../../support/serve.js";
import { onDemandWebSocketServers } from "../../support/websocket-libraries.js";
import {
  pinOf,
  startBlackHole,
  startClientAuthServer,
  startCoalescingTlsServer,
  startHttpsServer,
  startObservingRelay,
  startTcpServer,
  startTlsServer,
  type ObservedServer,
  type TestServer,
} from "../../support/servers.js";
import { startRawWebSocketServer, startWsServer } from "../../support/websocket-servers.js";
import { type Http2TestServer, RAW_TWIN, startHttp2Server } from "../../support/http2-twins.js";
import {
  CERTIFICATES,
  CLIENT_HOSTS,
  CLIENT_IDENTITIES,
  type ClientIdentityName,
  type FixtureDescription,
  HTTP2_TWINS,
  type Http2TwinName,
  KEY_EXCHANGE_SERVERS,
  type KeyExchangeServerName,
  PROXY_CREDENTIALS,
  type ServerName,
} from "./description.js";

export interface RunningFixture {
  description: FixtureDescription;
  close(): Promise<void>;
}

const DAY = 24 * 3_600_000;
/**
 * What the `source` server streams: byte n of it is n % 251, so a chunk shows where it came from. Bytes read into a
 * buffer that a later read then overwrote differ from what they were, unless the bytes between were a multiple of
 * 251 long.
 */
const SOURCE_PERIOD = 251;
const SOURCE_CHUNK = Buffer.from(Array.from({ length: SOURCE_PERIOD * 4096 }, (_, at) => at % SOURCE_PERIOD));
const SOURCE_BYTES = 64 * SOURCE_CHUNK.length;
/**
 * The sizes of the `rhythm` server's pieces of that pattern, in turn, with a pause after each: reads that fit a
 * small buffer, fill one, fall short of a large one and fill it, in every order (Node's adapter changes its read
 * buffers on those).
 */
const RHYTHM_PIECES = [300, 4096, 1500, 200_000, 4096, 9000, 100, 70_000, 65_536, 2000];
const RHYTHM_ROUNDS = 12;
/** Hostile cases per runtime in `npm test`; PF_HOSTILE_CASES sets another number (see hostile.ts). */
const HOSTILE_CASES = 600;

/** An application-data record that no key sealed: its authentication must fail. */
const FORGED_RECORD = Buffer.concat([Buffer.from([0x17, 0x03, 0x03, 0x00, 0x20]), Buffer.alloc(32, 0x42)]);

/**
 * Hand-made responses of the `raw` server, by request target: what a broken
 * or unusual server sends. Each gets the TLS socket and the TCP under it.
 */
const RAW_ROUTES: Record<string, (socket: TLSSocket, tcp: Socket) => void> = {
  "/split-crlf": (socket) => {
    socket.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r");
    setTimeout(() => socket.end("\n0\r\n\r\n"), 20);
  },
  "/big-head": (socket) =>
    socket.end(`HTTP/1.1 200 OK\r\nx-big: ${"a".repeat(100_000)}\r\ncontent-length: 2\r\n\r\nok`),
  "/status-600": (socket) => socket.end("HTTP/1.1 600 Nope\r\ncontent-length: 0\r\n\r\n"),
  "/control-character": (socket) => socket.end("HTTP/1.1 200 O\x01K\r\ncontent-length: 0\r\n\r\n"),
  "/length-and-chunked": (socket) =>
    socket.end("HTTP/1.1 200 OK\r\ncontent-length: 2\r\ntransfer-encoding: chunked\r\n\r\n"),
  "/conflicting-lengths": (socket) => socket.end("HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\nok"),
  "/folded": (socket) => socket.end("HTTP/1.1 200 OK\r\nx-a: 1\r\n  folded\r\ncontent-length: 0\r\n\r\n"),
  "/short-body": (socket) => socket.end("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort"),
  "/early-413": (socket) => socket.end("HTTP/1.1 413 Payload Too Large\r\ncontent-length: 0\r\n\r\n"),
  "/no-answer": () => {},
  "/forged-record": (_, tcp) => void tcp.write(FORGED_RECORD),
  "/stalled-body": (socket) => socket.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1\r\na\r\n"),
  "/reset-in-body": (socket, tcp) => {
    socket.write("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n0123456789");
    setTimeout(() => tcp.resetAndDestroy(), 20);
  },
  "/interim-flood": (socket) =>
    socket.end(`${"HTTP/1.1 100 Continue\r\n\r\n".repeat(1_000)}HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok`),
  "/big-trailers": (socket) =>
    socket.end(
      `HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n${`x-trailer: ${"t".repeat(87)}\r\n`.repeat(100)}\r\n`,
    ),
  "/long-chunk-line": (socket) =>
    socket.end(`HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2;${"e".repeat(200)}\r\nok\r\n0\r\n\r\n`),
  // A response that leaves the connection open, then a 408 on it once it idles in the pool.
  "/idle-408": (socket) => {
    socket.write("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nfirst");
    setTimeout(
      () => socket.end("HTTP/1.1 408 Request Timeout\r\ncontent-length: 5\r\nconnection: close\r\n\r\nstale"),
      30,
    );
  },
};

export async function startFixture(): Promise<RunningFixture> {
  const pki = await createPki();
  const clientPki = await createClientPki();
  // The same intermediate key, also signed by the other root: a second valid path.
  const crossSigned = await issue({
    commonName: "pinned-fetch Test Intermediate CA",
    ca: true,
    issuer: pki.otherRoot,
    key: pki.intermediate.key,
  });
  // One leaf for several names, for host patterns.
  const names = await issue({
    commonName: "example.com",
    dnsNames: ["example.com", "a.example.com", "a.b.example.com", "badexample.com"],
    issuer: pki.intermediate,
  });
  const selfSignedLocalhost = {
    commonName: "localhost",
    ca: true,
    dnsNames: ["localhost"],
    ipAddresses: ["127.0.0.1"],
  };
  const selfSigned = await issue(selfSignedLocalhost);
  const expiredSelfSigned = await issue({
    ...selfSignedLocalhost,
    notBefore: new Date(Date.now() - 3 * DAY),
    notAfter: new Date(Date.now() - DAY),
  });
  // What an inspecting proxy poses with: a localhost certificate from the trusted CA, but not the server's key.
  const inspecting = await issue({
    commonName: "localhost",
    dnsNames: ["localhost"],
    ipAddresses: ["127.0.0.1"],
    issuer: pki.intermediate,
  });
  // Each signature algorithm the engine checks, in certificates and in the handshake; and a signature that is wrong.
  const localhostLeaf = { commonName: "localhost", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] };
  const rsaIntermediate = await issue({
    commonName: "pinned-fetch Test RSA CA",
    ca: true,
    issuer: pki.root,
    algorithm: "RSA-2048",
  });
  const rsaLeaf = await issue({ ...localhostLeaf, issuer: rsaIntermediate, algorithm: "RSA-2048" });
  const p384Intermediate = await issue({
    commonName: "pinned-fetch Test P-384 CA",
    ca: true,
    issuer: pki.root,
    algorithm: "P-384",
  });
  const p384Leaf = await issue({ ...localhostLeaf, issuer: p384Intermediate, algorithm: "P-384" });
  const ed25519Leaf = await issue({ ...localhostLeaf, issuer: pki.intermediate, algorithm: "Ed25519" });
  const forgedLeaf = await issue({ ...localhostLeaf, issuer: pki.intermediate, signingKey: pki.otherIntermediate.key });
  const wrongNameImpostor = await issue({
    commonName: "wrong.example",
    dnsNames: ["wrong.example"],
    issuer: pki.otherIntermediate,
  });
  // Chains that the client's CA issued but that break one rule each, and a leaf for another name from an untrusted CA.
  const misissued = async (leaf: Partial<IssueOptions>, intermediate?: Partial<IssueOptions>) => {
    const issuer = intermediate
      ? await issue({ commonName: "pinned-fetch Test Misissuing CA", ca: true, issuer: pki.root, ...intermediate })
      : pki.intermediate;
    const certificate = await issue({ ...localhostLeaf, issuer, ...leaf });
    return { chain: [certificate, issuer], key: certificate };
  };
  const good = { chain: [pki.leaf, pki.intermediate], key: pki.leaf };
  // A leaf the root issued directly: a verified path with no intermediate.
  const rootIssuedLeaf = await issue({ ...localhostLeaf, issuer: pki.root });
  const impostor = { chain: [pki.otherLeaf, pki.otherIntermediate], key: pki.otherLeaf };
  const tampered = { chain: [withAlteredSignature(pki.leaf), pki.intermediate], key: pki.leaf };
  const appended = { chain: [pki.otherLeaf, pki.otherIntermediate, pki.intermediate], key: pki.otherLeaf };
  const only = (version: "TLSv1.3" | "TLSv1.2") => ({ minVersion: version, maxVersion: version });
  const clientHosts = await issue({ commonName: "client.test", dnsNames: [...CLIENT_HOSTS], issuer: pki.intermediate });
  const clientAuth = (require: boolean, version: "TLSv1.3" | "TLSv1.2") =>
    startClientAuthServer({
      chain: [clientHosts, pki.intermediate],
      key: clientHosts,
      clientCa: clientPki.ca,
      require,
      ...only(version),
    });
  const hostile = await startHostileServer(pki);
  // Made in the background (a few seconds of compressing), so that the fixture starts at once.
  prepare(bombPath("gzip"), bombPath("br"));
  const { root: mazeRoot, mazes } = await buildMazes();
  const mazeServers = Object.fromEntries(
    await Promise.all(
      MAZES.map(
        async (name) => [name, await startHttpsServer({ chain: mazes[name].chain, key: mazes[name].key })] as const,
      ),
    ),
  ) as Record<MazeName, TestServer>;

  const servers: Record<ServerName, TestServer> = {
    tls13: await startHttpsServer({ ...good, ...only("TLSv1.3") }),
    // TLS 1.3 with one record cipher each.
    aes128Gcm: await startHttpsServer({ ...good, ...only("TLSv1.3"), ciphers: "TLS_AES_128_GCM_SHA256" }),
    aes256Gcm: await startHttpsServer({ ...good, ...only("TLSv1.3"), ciphers: "TLS_AES_256_GCM_SHA384" }),
    chacha20Poly1305: await startHttpsServer({ ...good, ...only("TLSv1.3"), ciphers: "TLS_CHACHA20_POLY1305_SHA256" }),
    tls12: await startHttpsServer({ ...good, ...only("TLSv1.2") }),
    impostor13: await startHttpsServer({ ...impostor, ...only("TLSv1.3") }),
    impostor12: await startHttpsServer({ ...impostor, ...only("TLSv1.2") }),
    appended13: await startHttpsServer({ ...appended, ...only("TLSv1.3") }),
    appended12: await startHttpsServer({ ...appended, ...only("TLSv1.2") }),
    expired: await startHttpsServer({ chain: [pki.expiredLeaf, pki.intermediate], key: pki.expiredLeaf }),
    wrongName: await startHttpsServer({ chain: [pki.wrongNameLeaf, pki.intermediate], key: pki.wrongNameLeaf }),
    crossSigned: await startHttpsServer({ chain: [pki.leaf, pki.intermediate, crossSigned], key: pki.leaf }),
    rootIssued: await startHttpsServer({ chain: [rootIssuedLeaf], key: rootIssuedLeaf }),
    names: await startHttpsServer({ chain: [names, pki.intermediate], key: names }),
    rsa13: await startHttpsServer({ chain: [rsaLeaf, rsaIntermediate], key: rsaLeaf, ...only("TLSv1.3") }),
    rsa12: await startHttpsServer({ chain: [rsaLeaf, rsaIntermediate], key: rsaLeaf, ...only("TLSv1.2") }),
    p384: await startHttpsServer({ chain: [p384Leaf, p384Intermediate], key: p384Leaf }),
    ed25519: await startHttpsServer({ chain: [ed25519Leaf, pki.intermediate], key: ed25519Leaf, ...only("TLSv1.3") }),
    forged: await startHttpsServer({ chain: [forgedLeaf, pki.intermediate], key: forgedLeaf }),
    tampered: await startHttpsServer(tampered),
    selfSignedCa: await startHttpsServer({ chain: [selfSigned], key: selfSigned }),
    nameConstrained: await startHttpsServer(await misissued({}, { permittedNames: ["allowed.example"] })),
    notCa: await startHttpsServer(await misissued({}, { ca: false, extendedKeyUsage: [] })),
    noBasicConstraints: await startHttpsServer(await misissued({}, { basicConstraints: false })),
    clientAuthOnly: await startHttpsServer(await misissued({ extendedKeyUsage: [CLIENT_AUTH] })),
    sha1: await startHttpsServer({ ...(await misissued({ signatureHash: "SHA-1" })), sha1: true }),
    caLeaf: await startHttpsServer(await misissued({ ca: true })),
    // A subjectAltName whose one dNSName claims 5 bytes but has 2.
    unparsableNames: await startHttpsServer(
      await misissued({ altNamesValue: new Uint8Array([0x30, 0x04, 0x82, 0x05, 0x61, 0x62]) }),
    ),
    wrongNameUntrusted: await startHttpsServer({
      chain: [wrongNameImpostor, pki.otherIntermediate],
      key: wrongNameImpostor,
    }),
    expiredSelfSignedCa: await startHttpsServer({ chain: [expiredSelfSigned], key: expiredSelfSigned }),
    echo: await startTlsServer({ ...good, alpn: ["echo/1", "http/1.1"] }, (socket) => socket.pipe(socket)),
    // Speaks first, once the handshake is complete at its end: once it has the client's Finished.
    greeting: await startTlsServer(good, (socket) => socket.write("hello from the server")),
    raw: await startTlsServer(good, (socket, tcp) =>
      socket.once("data", (request: Buffer) => {
        const target = request.toString("latin1").split(" ", 2)[1] ?? "";
        (RAW_ROUTES[target] ?? ((s: TLSSocket) => s.end("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")))(
          socket,
          tcp,
        );
      }),
    ),
    trailing: await startCoalescingTlsServer(good, "hello", FORGED_RECORD),
    endless: await startTlsServer(good, (socket, tcp) =>
      socket.once("data", () => RAW_ROUTES["/stalled-body"]!(socket, tcp)),
    ),
    stalled: await startTlsServer(good, (socket) => socket.pause()),
    silent: await startTcpServer(() => {}),
    blackHole: await startBlackHole(),
    garbage: await startTcpServer((socket) => socket.end("HTTP/1.1 400 Bad Request\r\n\r\nthis is not TLS at all")),
    hangup: await startTcpServer((socket) => socket.once("data", () => socket.end())),
    // The first 4 bytes of a ServerHello, then an alert record before the rest of it.
    interleaved: await startTcpServer((socket) =>
      socket.once("data", () =>
        socket.write(Buffer.from([0x16, 3, 3, 0, 4, 2, 0, 0, 0x46, 0x15, 3, 3, 0, 2, 2, 0x28])),
      ),
    ),
    reset: await startTcpServer((socket) => socket.once("data", () => socket.resetAndDestroy())),
    refused: await closedPort(),
    halfClose: await startTcpServer((socket) => socket.end("bye")),
    sink: await startTcpServer((socket) => socket.pause()),
    source: await startTcpServer((socket, stats) => stream(socket, stats)),
    rhythm: await startTcpServer((socket) => void rhythm(socket)),
    proxy: await startProxy(),
    authProxy: await startProxy({ credentials: PROXY_CREDENTIALS }),
    badGatewayProxy: await startProxy({ refuse: "502 Bad Gateway" }),
    inspectingProxy: await startProxy({
      inspect: { chain: [inspecting, pki.intermediate], key: inspecting, ca: pki.root.certPem },
    }),
    hostile,
    decoding: await startDecodingServer(good),
    clientAuth13: await clientAuth(true, "TLSv1.3"),
    clientAuth12: await clientAuth(true, "TLSv1.2"),
    clientAuthAsk13: await clientAuth(false, "TLSv1.3"),
    clientAuthAsk12: await clientAuth(false, "TLSv1.2"),
    websocket: await startWsServer(good, true),
    websocketPlain: await startWsServer(good, false),
    websocketRaw: await startRawWebSocketServer(good),
  };

  // The HTTP/2 twins of the servers that the HTTP groups use, for their runs over HTTP/2 (harness/http2.ts).
  const http2Twins: Record<Http2TwinName, Http2TestServer> = {
    tls13: await startHttp2Server({ ...good, ...only("TLSv1.3") }),
    tls12: await startHttp2Server({ ...good, ...only("TLSv1.2") }),
    names: await startHttp2Server({ chain: [names, pki.intermediate], key: names }),
    impostor13: await startHttp2Server({ ...impostor, ...only("TLSv1.3") }),
    impostor12: await startHttp2Server({ ...impostor, ...only("TLSv1.2") }),
    tampered: await startHttp2Server(tampered),
    raw: await startHttp2Server(good, RAW_TWIN),
    decoding: await startHttp2DecodingServer(good),
    tls13OneStream: await startHttp2Server({ ...good, ...only("TLSv1.3"), settings: { maxConcurrentStreams: 1 } }),
  };
  const http2Stats = () =>
    Object.fromEntries(HTTP2_TWINS.map((name) => [name, statsOf(http2Twins[name])])) as Record<Http2TwinName, object>;

  const keyExchangeServers = new Map<KeyExchangeServerName, Promise<KeyExchangeServer>>();
  const keyExchangeServer = (name: KeyExchangeServerName) => {
    if (!keyExchangeServers.has(name)) keyExchangeServers.set(name, startKeyExchangeServer(name, good));
    return keyExchangeServers.get(name)!;
  };

  const websocketServers = onDemandWebSocketServers({ ...good, ca: pki.root.certPem });

  // The HTTP/2 scenarios' servers (test/conformance/http2.ts).
  const http2Servers = await startHttp2Servers(good, impostor, pki.root.certPem);

  const control = createServer((request, response) => {
    const [, kind, name] = (request.url ?? "").split("/");
    if (websocketServers.answers(request, response)) return;
    if (http2Servers.answers(request, response)) return;
    if (kind === "description") return response.end(JSON.stringify(description));
    if (kind === "key-exchange" && KEY_EXCHANGE_SERVERS.includes(name as KeyExchangeServerName)) {
      return void keyExchangeServer(name as KeyExchangeServerName).then(
        ({ relay }) =>
          response
            .setHeader("content-type", "application/json")
            .end(JSON.stringify({ port: relay.port, handshakes: relay.handshakes })),
        (error: unknown) => response.writeHead(500).end(String(error)),
      );
    }
    if (kind === "hostile" && request.method === "POST") return armHostile(request, response);
    if (kind === "client-identity" && CLIENT_IDENTITIES.includes(name as ClientIdentityName)) {
      return void clientPki
        .identity(name as ClientIdentityName)
        .then((files) => response.setHeader("content-type", "application/json").end(JSON.stringify(files)));
    }
    const server = kind === "stats" && Object.hasOwn(servers, name!) ? servers[name as ServerName] : undefined;
    const stats = kind === "http2-stats" ? http2Stats() : server && statsOf(server);
    if (!stats) return response.writeHead(404).end();
    response
      .setHeader("content-type", "application/json")
      .end(JSON.stringify(stats, (key, value) => (key === "recorded" ? undefined : value)));
  });
  /** POST /hostile with a plan (or null) as JSON: what the hostile server's next connection does. */
  const armHostile = (request: IncomingMessage, response: ServerResponse) => {
    const parts: Buffer[] = [];
    request.on("data", (part: Buffer) => parts.push(part));
    request.on("end", () => {
      hostile.arm(JSON.parse(Buffer.concat(parts).toString()) as ServerPlan | null);
      response.writeHead(204).end();
    });
  };
  const description: FixtureDescription = {
    control: `http://127.0.0.1:${await listen(control)}`,
    ports: Object.fromEntries(Object.entries(servers).map(([name, server]) => [name, server.port])) as Record<
      ServerName,
      number
    >,
    pins: Object.fromEntries(
      CERTIFICATES.map((name) => [name, pinOf(pki[name as keyof Pki])]),
    ) as FixtureDescription["pins"],
    forms: Object.fromEntries(
      CERTIFICATES.map((name) => [name, forms(pki[name as keyof Pki])]),
    ) as FixtureDescription["forms"],
    ca: { root: pki.root.certPem, otherRoot: pki.otherRoot.certPem },
    selfSigned: { pem: selfSigned.certPem, pin: pinOf(selfSigned) },
    expiredSelfSigned: { pem: expiredSelfSigned.certPem },
    unresolvable: `${"a".repeat(64)}.test`,
    sourceBytes: SOURCE_BYTES,
    sourcePeriod: SOURCE_PERIOD,
    rhythmBytes: RHYTHM_ROUNDS * RHYTHM_PIECES.reduce((sum, size) => sum + size, 0),
    http2Twins: Object.fromEntries(HTTP2_TWINS.map((name) => [name, http2Twins[name].port])) as Record<
      Http2TwinName,
      number
    >,
    mazes: {
      root: mazeRoot.certPem,
      ports: Object.fromEntries(MAZES.map((name) => [name, mazeServers[name].port])) as Record<MazeName, number>,
      says: Object.fromEntries(MAZES.map((name) => [name, mazes[name].says])) as Record<MazeName, string>,
    },
    hostile: {
      seed: Number(process.env.PF_HOSTILE_SEED ?? 1),
      cases: Number(process.env.PF_HOSTILE_CASES ?? HOSTILE_CASES),
      only: process.env.PF_HOSTILE_ONLY ?? null,
      recorded: hostile.recorded,
    },
    http2Ports: http2Servers.ports,
  };
  return {
    description,
    async close() {
      control.closeAllConnections();
      await Promise.all([
        new Promise((resolve) => control.close(resolve)),
        ...[...Object.values(servers), ...Object.values(mazeServers), ...Object.values(http2Twins)].map((server) =>
          server.close(),
        ),
        websocketServers.close(),
        http2Servers.close(),
        ...[...keyExchangeServers.values()].map((started) =>
          started.then(
            (server) => server.close(),
            () => {},
          ),
        ),
      ]);
    },
  };
}

/** A key-exchange server, and the relay in front of it that observes its handshakes. */
interface KeyExchangeServer {
  relay: ObservedServer;
  close(): Promise<void>;
}

/** The groups of a classical server, named: OpenSSL 3.5 (Node 24) would take X25519MLKEM768 by default. */
const CLASSICAL_GROUPS = "X25519:P-256:P-384";

async function startKeyExchangeServer(
  name: KeyExchangeServerName,
  tls: { chain: Issued[]; key: Issued },
): Promise<KeyExchangeServer> {
  const server =
    name === "classical"
      ? await startHttpsServer({ ...tls, ecdhCurve: CLASSICAL_GROUPS })
      : name === "hybridOnly"
        ? await startGoTlsServer({ ...tls, groups: ["X25519MLKEM768"] })
        : await startServe(name === "denoServe" ? "deno" : "bun", tls);
  const relay = await startObservingRelay(server.port);
  return { relay, close: async () => void (await Promise.all([relay.close(), server.close()])) };
}

/** A server's counters, as the control server answers them. */
function statsOf(server: TestServer): object {
  const { close: _, port: __, ...stats } = server;
  return stats;
}

/** Writes SOURCE_BYTES as fast as the peer reads them, counting what the network took. */
function stream(socket: Socket, stats: TestServer): void {
  let chunks = SOURCE_BYTES / SOURCE_CHUNK.length;
  const next = () => {
    while (chunks > 0 && !socket.destroyed) {
      chunks--;
      const more = socket.write(SOURCE_CHUNK, () => (stats.sentBytes += SOURCE_CHUNK.length));
      if (!more) return void socket.once("drain", next);
    }
    if (chunks === 0) socket.end();
  };
  next();
}

/**
 * Sends the `source` pattern in RHYTHM_PIECES, RHYTHM_ROUNDS times, each piece once the last has gone out and a
 * timer's turn has passed.
 */
async function rhythm(socket: Socket): Promise<void> {
  let sent = 0;
  for (let round = 0; round < RHYTHM_ROUNDS; round++) {
    for (const size of RHYTHM_PIECES) {
      const from = sent % SOURCE_PERIOD;
      // The callback comes once the piece is out, or with an error once the socket is destroyed.
      await new Promise((resolve) => socket.write(SOURCE_CHUNK.subarray(from, from + size), resolve));
      if (socket.destroyed) return;
      sent += size;
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  }
  socket.end();
}

/** The other forms of pin of a certificate, as openssl (through node:crypto) computes them. */
function forms(certificate: Issued) {
  const x509 = new X509Certificate(certificate.certPem);
  const spki = x509.publicKey.export({ type: "spki", format: "der" });
  return {
    spkiSha1: `sha1/${createHash("sha1").update(spki).digest("base64")}`,
    sha256: x509.fingerprint256,
    sha1: x509.fingerprint,
    der: Buffer.from(certificate.der).toString("base64"),
    notBefore: new Date(x509.validFrom).toISOString(),
    notAfter: new Date(x509.validTo).toISOString(),
  };
}

async function closedPort(): Promise<TestServer> {
  const server = await startTcpServer(() => {});
  await server.close();
  return server;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));
}
