// The floor between the runtime's sockets and TLS, as reqwest's connect.rs: it connects to the address a host's
// route gives (its `resolve` entry, or its proxy), opens the proxy's CONNECT tunnel, stops when the caller's
// signal or the connect deadline says so, and hands TLS a connected Socket.
import { authority } from "../host.js";
import type { Runtime, Socket } from "../runtime/index.js";
import { abortable, deadline } from "../signals.js";
import type { HttpProxy } from "./proxy/settings.js";
import { openTunnel, proxyFailure } from "./proxy/tunnel.js";

/** undici's default: TCP connect and TLS handshake together. */
const DEFAULT_CONNECT_TIMEOUT = 10_000;

/** Where a connection goes: the host TLS is for, and how it is reached (see `Route`). */
export interface DialTarget {
  /** In canonical form (see `canonicalHost`). */
  hostname: string;
  port: number;
  /** A proxy to tunnel through with CONNECT; TLS, SNI and verification still use `hostname`. */
  proxy?: HttpProxy | undefined;
  /** Where to connect instead of resolving the host: the proxy's host when there is a proxy, else `hostname`. */
  address?: string | undefined;
}

/**
 * The signal that bounds opening a connection to `target`: the caller's `signal`, and `connectTimeout` (10 s by
 * default) for the TCP connect, any CONNECT and the TLS handshake together. `dispose()` once it is open.
 */
export function connectDeadline(
  target: DialTarget,
  signal: AbortSignal | undefined,
  connectTimeout = DEFAULT_CONNECT_TIMEOUT,
): { signal: AbortSignal | undefined; dispose: () => void } {
  const { hostname, port, proxy } = target;
  return deadline(signal, connectTimeout, () =>
    proxy
      ? `Connecting to ${hostname}:${port} through the proxy ${authority(proxy.host, proxy.port)} timed out after ${connectTimeout} ms ` +
        `(TCP connect, CONNECT and TLS handshake). Check that the proxy and the server are reachable, or raise connectTimeout.`
      : `Connecting to ${hostname}:${port} timed out after ${connectTimeout} ms (TCP connect and TLS handshake). ` +
        `Check that the server is reachable, or raise connectTimeout.`,
  );
}

/**
 * A socket connected to `target`'s server: directly, or through its proxy's CONNECT tunnel. `signal` stops it
 * (rejecting with its reason); a failure to reach the proxy is ERR_PROXY, to reach the server ERR_CONNECT.
 */
export async function dial(runtime: Runtime, target: DialTarget, signal: AbortSignal | undefined): Promise<Socket> {
  signal?.throwIfAborted();
  const { hostname, port, proxy } = target;
  const peer = proxy ?? { host: hostname, port };
  const connecting = runtime.connect({ host: target.address ?? peer.host, port: peer.port, signal });
  // Bounded whatever the adapter does with the signal; a socket that connects too late is closed.
  const socket = await abortable(connecting, signal, () =>
    connecting.then(
      (late) => late.close(),
      () => {},
    ),
  ).catch((error) => {
    throw proxy ? proxyFailure(proxy, error) : error;
  });
  if (!proxy) return socket;
  try {
    await abortable(openTunnel(socket, proxy, hostname, port), signal, () => socket.close());
    return socket;
  } catch (error) {
    socket.close();
    throw error;
  }
}
