// What the conformance scenarios are given: the fixture's servers, pins and
// CAs, as plain data that crosses from the Node harness to Deno and Bun, and
// the counters each server keeps, read over loopback HTTP.
import type { RuntimeName } from "../../../src/index.js";
import type { WebSocketReport } from "../../support/runtime-websocket.js";
import type { Handshake, Observation } from "../../support/wire-observer.js";
import type { MazeName } from "../../support/hostile/chains.js";
import type { HostileDescription, Http2Log, WebSocketLog } from "../../support/hostile/plan.js";
import type { WebSocketRecord } from "../../support/websocket-servers.js";
import type { Http2ServerStats } from "../../support/http2-servers.js";

export const CERTIFICATES = [
  "leaf",
  "intermediate",
  "root",
  "otherLeaf",
  "otherIntermediate",
  "otherRoot",
  "expiredLeaf",
  "wrongNameLeaf",
] as const;
export type CertificateName = (typeof CERTIFICATES)[number];

/** Each server, by what it does; see fixture.ts. */
const SERVERS = [
  "tls13",
  "aes128Gcm",
  "aes256Gcm",
  "chacha20Poly1305",
  "tls12",
  "impostor13",
  "impostor12",
  "appended13",
  "appended12",
  "expired",
  "wrongName",
  "crossSigned",
  "rootIssued",
  "names",
  "rsa13",
  "rsa12",
  "p384",
  "ed25519",
  "forged",
  "tampered",
  "selfSignedCa",
  "expiredSelfSignedCa",
  "nameConstrained",
  "notCa",
  "noBasicConstraints",
  "clientAuthOnly",
  "sha1",
  "caLeaf",
  "unparsableNames",
  "wrongNameUntrusted",
  "echo",
  "greeting",
  "raw",
  "trailing",
  "endless",
  "stalled",
  "silent",
  "blackHole",
  "garbage",
  "hangup",
  "interleaved",
  "reset",
  "refused",
  "halfClose",
  "sink",
  "source",
  "rhythm",
  "proxy",
  "authProxy",
  "badGatewayProxy",
  "inspectingProxy",
  "hostile",
  "decoding",
  "clientAuth13",
  "clientAuth12",
  "clientAuthAsk13",
  "clientAuthAsk12",
  "websocket",
  "websocketPlain",
  "websocketRaw",
] as const;
export type ServerName = (typeof SERVERS)[number];

/**
 * The HTTP/2 twins of servers: node:http2's secure server, h2 only, with the same certificate and the same routes
 * (`raw`'s twin: only those that mean something over h2); `tls13OneStream`: tls13's, allowing one stream at a time
 * (SETTINGS_MAX_CONCURRENT_STREAMS 1), so that requests queue as for HTTP/1.1 connections. The HTTP groups run
 * against them a second time (harness/http2.ts).
 */
export const HTTP2_TWINS = [
  "tls13",
  "tls12",
  "names",
  "impostor13",
  "impostor12",
  "tampered",
  "raw",
  "decoding",
  "tls13OneStream",
] as const;
export type Http2TwinName = (typeof HTTP2_TWINS)[number];

/**
 * The key-exchange scenarios' servers: Node 20's own TLS (OpenSSL 3.0, classical groups only), Go's crypto/tls
 * accepting X25519MLKEM768 alone, and `Deno.serve` and `Bun.serve` as the runtimes configure them. Each is behind a
 * relay that observes its handshakes, and starts at its first use (see `Fixture.keyExchangeServer`).
 */
export const KEY_EXCHANGE_SERVERS = ["classical", "hybridOnly", "denoServe", "bunServe"] as const;
export type KeyExchangeServerName = (typeof KEY_EXCHANGE_SERVERS)[number];

/** A key-exchange server: the relay's port, and the handshake of each connection through it so far. */
interface KeyExchangeServer {
  port: number;
  handshakes: Handshake[];
}

/**
 * The WebSocket scenarios' servers: `Deno.serve` with `Deno.upgradeWebSocket` and `Bun.serve` with its `websocket`
 * handler (each behind a relay that counts bytes on the wire), and `ws`'s server on node:https with graphql-ws at
 * /graphql and an echo at /echo. Each starts at its first use (see `Fixture.websocketServer`).
 */
export const WEBSOCKET_SERVERS = ["denoServe", "bunServe", "nodeWs"] as const;
export type WebSocketServerName = (typeof WEBSOCKET_SERVERS)[number];

export interface WebSocketServerStats {
  port: number;
  /** Connections accepted (nodeWs: TLS handshakes completed), and those open now. */
  connections: number;
  open: number;
  /** denoServe, bunServe: bytes on the wire from the client and to it, TLS records included. nodeWs: decrypted bytes
   * from the client, and sentBytes 0. */
  receivedBytes: number;
  sentBytes: number;
  /** nodeWs only: handshakes that failed, and upgrade requests by path. */
  handshakeFailures?: number;
  upgrades?: Record<string, number>;
}

// HTTP/2 scenarios (test/conformance/http2.ts): their servers, apart from the HTTP scenarios' h2 twins.
/**
 * node:http2 and node:https servers (test/support/http2-servers.ts): `h2` answers ALPN h2 or http/1.1, `h2Only`
 * h2 alone, `http1Only` http/1.1 alone; `h2Streams10` allows 10 concurrent streams; `h2SmallWindow` sets an initial
 * window of 65,535 bytes; `h2Impostor` presents the other CA's chain.
 */
export const HTTP2_SERVERS = ["h2", "h2Only", "http1Only", "h2Streams10", "h2SmallWindow", "h2Impostor"] as const;
export type Http2ServerName = (typeof HTTP2_SERVERS)[number];
/** `Deno.serve` (h2) and `Bun.serve` (http/1.1) with test/support/runtime-http2.ts, each started at its first use. */
export const HTTP2_RUNTIME_SERVERS = ["denoServe", "bunServe"] as const;
export type Http2RuntimeServerName = (typeof HTTP2_RUNTIME_SERVERS)[number];

/** The client certificates' key types, one leaf each. */
export const CLIENT_KEYS = ["rsa2048", "rsa4096", "p256", "p384", "ed25519"] as const;
export type ClientKeyName = (typeof CLIENT_KEYS)[number];
/** A leaf of each key type; `chained`: one under an intermediate, sent with it; `other`: another client CA's. */
export const CLIENT_IDENTITIES = [...CLIENT_KEYS, "chained", "other"] as const;
export type ClientIdentityName = (typeof CLIENT_IDENTITIES)[number];

/** A client certificate and its key, in each form a user may hold them. */
export interface ClientIdentityFiles {
  /** The leaf certificate's CN, which the client-auth servers answer with. */
  subject: string;
  /** PEM: the leaf, then any intermediate. */
  cert: string;
  /** The private key as PEM: PKCS#8; PKCS#1 for RSA, SEC1 for EC; and PKCS#8 encrypted with `passphrase`. */
  keys: { pkcs8: string; pkcs1?: string; sec1?: string; encryptedPkcs8: string };
  /** PKCS#12 of the chain and the key, encrypted with `passphrase`, as base64. */
  pfx: string;
  passphrase: string;
}

/** What the `authProxy` server asks for: characters that a URL's user and password must percent-encode. */
export const PROXY_CREDENTIALS = { user: "pinned@fetch", password: "pä ss:w%rd/" } as const;

export interface FixtureDescription {
  /** The control server: GET /stats/<server> answers a server's counters, GET /client-identity/<name> an identity. */
  control: string;
  ports: Record<ServerName, number>;
  /** `sha256/` SPKI pins, computed by node:crypto. */
  pins: Record<CertificateName, string>;
  /** Every other form of pin of each certificate, computed by node:crypto (openssl): `sha1/` of the SPKI, and fingerprints. */
  forms: Record<
    CertificateName,
    { spkiSha1: string; sha256: string; sha1: string; der: string; notBefore: string; notAfter: string }
  >;
  /** PEM of the two test roots. */
  ca: { root: string; otherRoot: string };
  /** The `selfSignedCa` server's certificate: self-signed, CA:TRUE, for localhost. */
  selfSigned: { pem: string; pin: string };
  /** The `expiredSelfSignedCa` server's certificate: as `selfSigned`, but expired. */
  expiredSelfSigned: { pem: string };
  /** A host name that fails DNS resolution without a query leaving the machine (a label over 63 bytes). */
  unresolvable: string;
  /** Bytes the `source` server streams on each connection: byte n of them is n % sourcePeriod. */
  sourceBytes: number;
  sourcePeriod: number;
  /** Bytes the `rhythm` server sends on each connection: the `source` pattern, in pieces of many sizes with pauses. */
  rhythmBytes: number;
  /** The ports of the HTTP/2 twins; GET /http2-stats on the control server answers all their counters. */
  http2Twins: Record<Http2TwinName, number>;
  /** Servers whose chains are mazes for path building (test/support/hostile/chains.ts), the P-384 root (PEM) they
   * are built against, and what each one's error message says. */
  mazes: { root: string; ports: Record<MazeName, number>; says: Record<MazeName, string> };
  /** The `hostile` server's recorded connections, and how many cases to run, from which seed. */
  hostile: HostileDescription;
  /** The HTTP/2 scenarios' node servers. */
  http2Ports: Record<Http2ServerName, number>;
}

/**
 * The names the `clientAuth*` servers' certificate covers. Those servers accept a client certificate from one
 * client CA (`clientAuth13` and `clientAuth12` require one; the `Ask` ones only ask) and answer every request
 * with a ClientAuthAnswer; `Fixture.clientIdentity` gives the client certificates.
 */
export const CLIENT_HOSTS = ["client.test", "a.client.test", "b.client.test", "a.b.client.test", "other.test"] as const;

export interface ServerStats {
  connections: number;
  open: number;
  receivedBytes: number;
  requests: number;
  handshakeFailures: number;
  resumed: number;
  sentBytes: number;
  /** HTTP/2 twins only: sessions, streams the client reset, and handshakes refused because h2 was not offered. */
  sessions?: number;
  resets?: number;
  alpnRefusals?: number;
  /** Proxies only: tunnels opened, and the target and Proxy-Authorization of the last CONNECT (null if none). */
  tunnels?: number;
  lastTarget?: string | null;
  lastAuthorization?: string | null;
  /** Client-auth servers only: whether each connection's client sent a certificate, seen on the wire. */
  clientCertificates?: Observation[];
  /** WebSocket servers only: each connection, in the order they came. */
  websockets?: WebSocketRecord[];
  /** The hostile server only: what the client of its last WebSocket connection sent. */
  webSocket?: WebSocketLog;
  /** The hostile server only: what the client of its last HTTP/2 connection sent. */
  http2?: Http2Log;
}

export interface Fixture extends FixtureDescription {
  /** The runtime the scenarios run in, as the harness started it. */
  runtime: RuntimeName;
  /** What the HTTP servers in `ports` speak: "h2" in a group's run over HTTP/2, whose ports are the twins'. */
  protocol: "http/1.1" | "h2";
  stats(server: ServerName): Promise<ServerStats>;
  /** A client certificate and key for the `clientAuth*` servers (made in the background: the first call may wait). */
  clientIdentity(name: ClientIdentityName): Promise<ClientIdentityFiles>;
  /** A key-exchange server, started at the first call: the Go server's first build on a machine takes about 25 s. */
  keyExchangeServer(name: KeyExchangeServerName): Promise<KeyExchangeServer>;
  /** A WebSocket server's counters, the server started at the first call (Deno and Bun start in a few seconds). */
  websocketServer(name: WebSocketServerName): Promise<WebSocketServerStats>;
  /** What Deno's or Bun's WebSocket server saw of the connection whose URL had `?id=<id>`. */
  websocketReport(name: "denoServe" | "bunServe", id: string): Promise<WebSocketReport>;
  /** An HTTP/2 scenarios' node server's counters. */
  http2Stats(name: Http2ServerName): Promise<Http2ServerStats>;
  /** The port of Deno's or Bun's HTTP/2 scenarios' server, started at the first call. */
  http2RuntimePort(name: Http2RuntimeServerName): Promise<number>;
  /** The client ports the requests of `group` came to Deno's or Bun's server from (one per connection). */
  http2RuntimePorts(name: Http2RuntimeServerName, group: string): Promise<number[]>;
}

export function fixtureOf(description: FixtureDescription, runtime: RuntimeName): Fixture {
  return {
    ...description,
    runtime,
    protocol: "http/1.1",
    async stats(server) {
      const response = await fetch(`${description.control}/stats/${server}`);
      if (!response.ok) throw new Error(`no stats for ${server}: ${response.status}`);
      return (await response.json()) as ServerStats;
    },
    async clientIdentity(name) {
      const response = await fetch(`${description.control}/client-identity/${name}`);
      if (!response.ok) throw new Error(`no client identity ${name}: ${response.status}`);
      return (await response.json()) as ClientIdentityFiles;
    },
    async keyExchangeServer(name) {
      const response = await fetch(`${description.control}/key-exchange/${name}`);
      if (!response.ok) throw new Error(`no key-exchange server ${name}: ${response.status} ${await response.text()}`);
      return (await response.json()) as KeyExchangeServer;
    },
    async websocketServer(name) {
      const response = await fetch(`${description.control}/websocket-server/${name}`);
      if (!response.ok) throw new Error(`no WebSocket server ${name}: ${response.status} ${await response.text()}`);
      return (await response.json()) as WebSocketServerStats;
    },
    async websocketReport(name, id) {
      const response = await fetch(`${description.control}/websocket-server/${name}/report/${id}`);
      if (!response.ok) throw new Error(`no report of ${id} from ${name}: ${response.status} ${await response.text()}`);
      return (await response.json()) as WebSocketReport;
    },
    async http2Stats(name) {
      return (await control(`http2/stats/${name}`)) as Http2ServerStats;
    },
    async http2RuntimePort(name) {
      return ((await control(`http2/runtime/${name}`)) as { port: number }).port;
    },
    async http2RuntimePorts(name, group) {
      return ((await control(`http2/runtime/${name}/report/${encodeURIComponent(group)}`)) as { ports: number[] })
        .ports;
    },
  };
  async function control(path: string): Promise<unknown> {
    const response = await fetch(`${description.control}/${path}`);
    if (!response.ok) throw new Error(`control /${path}: ${response.status} ${await response.text()}`);
    return response.json();
  }
}
