// connectTls, a pinned TLS connection for protocols other than HTTP, and openTls, which it, getPins and fetch's
// pool share: the one place a connection is dialed and then secured, within one connect deadline.
import { type DialTarget, connectDeadline, dial } from "./dial/dial.js";
import type { PinFailureReport } from "./errors.js";
import { authority } from "./host.js";
import { connectTlsSettings } from "./options.js";
import type { Runtime, RuntimeName } from "./runtime/index.js";
import { type Connection, type TlsConnection, type TlsOptions, readyTls } from "./tls/connection.js";
import { type ClientCertificate, readIdentity } from "./tls/client-certificates.js";
import type { TrustContext } from "./tls/trust.js";

export interface ConnectTlsOptions {
  /** The server's name: sent as SNI and verified against its certificate. */
  hostname: string;
  port: number;
  /** Pins in any form `createPinnedFetch` takes; some certificate of the verified path must match one. */
  pins?: readonly string[];
  /** `"webpki"` (default), or `"pins-only"`: the leaf's pin alone establishes trust. */
  trust?: "webpki" | "pins-only";
  /** Accept a trusted path that misses the pins, and tell `onPinFailure`. */
  reportOnly?: boolean;
  /** Told of every pin failure, once per handshake. */
  onPinFailure?: (report: PinFailureReport) => void;
  /** PEM CA certificates to trust instead of Mozilla's roots. */
  ca?: string | readonly string[];
  /**
   * Offer the post-quantum hybrid key exchange X25519MLKEM768 first, beside X25519 (default true). false offers
   * the classical groups alone (X25519, P-256, P-384), for a middlebox that breaks on the larger ClientHello.
   */
  postQuantum?: boolean;
  /** ALPN protocols to offer, most preferred first. */
  alpn?: readonly string[];
  signal?: AbortSignal;
  /** Milliseconds for TCP connect and TLS handshake together; default 10,000. */
  connectTimeout?: number;
  /** `{ [host]: address }`, like curl's `--resolve`: connect there, while SNI and verification still use `hostname`. */
  resolve?: Readonly<Record<string, string>>;
  /** An HTTP proxy to tunnel through with CONNECT, as `createPinnedFetch` takes it; TLS and the pins run end to end. */
  proxy?: string | URL;
  /** The runtime whose sockets to use: detected by default; `"node"`, `"deno"`, `"bun"`, or an adapter of your own. */
  runtime?: RuntimeName | Runtime;
  /** Presented if the server asks for a client certificate, once its certificate and pins have passed. */
  clientCertificate?: ClientCertificate;
}

/**
 * Opens a pinned TLS connection; resolves once the handshake and pin check
 * have passed. Malformed options reject with ERR_CONFIG before anything connects.
 */
export async function connectTls(options: ConnectTlsOptions): Promise<TlsConnection> {
  const { hostname, port, pins, mode, trust, clientCertificate, alpn, signal, connectTimeout, route, runtime } =
    connectTlsSettings(options);
  // The identity is read here, not by connectTlsSettings: its reader is loaded on first use (readIdentity).
  const [adapter, clientIdentity] = await Promise.all([
    runtime,
    clientCertificate && readIdentity(clientCertificate, "clientCertificate"),
  ]);
  let connection: Connection;
  try {
    connection = await openTls(adapter, trust, {
      ...mode,
      hostname,
      port,
      pins,
      clientIdentity,
      alpn,
      signal,
      connectTimeout,
      ...(await route(hostname, port)),
    });
  } finally {
    // The session keeps what it uses: the client key lives in the engine as long as the connection, no longer.
    trust.releaseClientKeys();
  }
  await connection.describePeer();
  return connection;
}

export interface OpenTlsOptions extends DialTarget, Omit<TlsOptions, "throughProxy"> {
  signal?: AbortSignal | undefined;
  /** Milliseconds for TCP connect, any CONNECT and the TLS handshake together; default 10,000. */
  connectTimeout?: number | undefined;
}

/**
 * A verified TLS connection to `options.hostname`, for connectTls, getPins and fetch's pool alike: dialed (through
 * any proxy), then TLS under `trust`, whose sessions under the same pins it may resume, all within the connect
 * deadline.
 */
export async function openTls(runtime: Runtime, trust: TrustContext, options: OpenTlsOptions): Promise<Connection> {
  const { proxy } = options;
  const startTls = await readyTls(trust, { ...options, throughProxy: proxy && authority(proxy.host, proxy.port) });
  const stage = connectDeadline(options, options.signal, options.connectTimeout);
  try {
    return await startTls(await dial(runtime, options, stage.signal), stage.signal);
  } finally {
    stage.dispose();
  }
}
