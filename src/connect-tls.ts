import type { PinFailureReport } from "./errors.js";
import { connectTlsSettings } from "./options.js";
import type { Runtime, RuntimeName } from "./runtime/index.js";
import { type TlsConnection, openTls } from "./tls/connection.js";

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
}

/**
 * Opens a pinned TLS connection; resolves once the handshake and pin check
 * have passed. Malformed options reject with ERR_CONFIG before anything connects.
 */
export async function connectTls(options: ConnectTlsOptions): Promise<TlsConnection> {
  const { hostname, port, pins, mode, trust, alpn, signal, connectTimeout, route, runtime } =
    connectTlsSettings(options);
  const connection = await openTls(await runtime, trust, {
    ...mode,
    hostname,
    port,
    pins,
    alpn,
    signal,
    connectTimeout,
    ...(await route(hostname, port)),
  });
  await connection.describePeer();
  return connection;
}
