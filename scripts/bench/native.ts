// Each runtime's own pin-capable HTTPS clients, as the issue names them
// (common.ts's BASELINES): node:https with a checkServerIdentity pin in Node,
// Deno and Bun (the same code); undici's fetch in Node, through an Agent
// whose TLS `connect` options carry the same pin check; Bun's fetch with
// `tls.checkServerIdentity`; and, as a reference that cannot pin, Bun's fetch
// without it. Each is given a client certificate (`cert`, `key`) where the
// measure asks for one. node:https and undici are imported only by the
// client that uses them, so that a fresh process loads only the client it
// measures (and the pin check, which every client here needs).
import { createHash, X509Certificate } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { checkServerIdentity, type DetailedPeerCertificate, type PeerCertificate } from "node:tls";

import { type Client, type Identity, type Mode, type Target, UNPINNED, readAll, readHeader, urlOf } from "./common.js";

/** Some certificate of the chain has a pinned key: the pin check as Node's documentation shows it. */
export function pinCheck(pins: readonly string[]) {
  return (host: string, certificate: PeerCertificate): Error | undefined => {
    const error = checkServerIdentity(host, certificate);
    if (error) return error;
    for (let cert = certificate as DetailedPeerCertificate | undefined, depth = 0; cert && depth < 8; depth++) {
      const spki = new X509Certificate(cert.raw).publicKey.export({ type: "spki", format: "der" });
      if (pins.includes(`sha256/${createHash("sha256").update(spki).digest("base64")}`)) return undefined;
      cert = cert.issuerCertificate === cert ? undefined : cert.issuerCertificate;
    }
    return new Error("pin mismatch");
  };
}

/** How a measure wants its client: a client certificate, and for `pool` the most connections (unlimited without). */
export interface NativeOptions {
  identity?: Identity;
  connections?: number;
}

/** The client common.ts's BASELINES (or UNPINNED) names. */
export async function nativeClient(name: string, target: Target, mode: Mode, options: NativeOptions = {}) {
  if (name === "node:https") return nodeHttps(target, mode, options);
  if (name === "undici-fetch") return undiciFetch(target, mode, options);
  if (name === "bun-fetch") return bunFetch(target, mode, options, true);
  if (name === UNPINNED) return bunFetch(target, mode, options, false);
  throw new Error(`no native client named ${name}`);
}

/** Every lookup answers loopback, as pinned-fetch's `resolve` does. */
const lookup = (
  _host: string,
  _options: object,
  callback: (error: null, addresses: { address: string; family: number }[]) => void,
) => callback(null, [{ address: "127.0.0.1", family: 4 }]);

/**
 * node:https; `close` has no agent, the others a keep-alive agent (of one socket for `keep-alive`). The TLS
 * options, the pin check among them, are the agent's: Node 24 and Bun pool no socket for a request that brings a
 * `checkServerIdentity` of its own (the agent could not tell whether another request's check would pass).
 */
async function nodeHttps(
  target: Target,
  mode: Mode,
  { identity, connections = Infinity }: NativeOptions,
): Promise<Client> {
  const { Agent, request: httpsRequest } = await import("node:https");
  const tls = {
    ca: target.ca,
    checkServerIdentity: pinCheck(target.pins),
    ...(identity && { cert: identity.cert, key: identity.key }),
  };
  const sockets = mode === "keep-alive" ? 1 : connections;
  const agent =
    mode === "close" ? false : new Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets, ...tls });
  const options = { agent, lookup, ...(mode === "close" && tls) };
  /** The body's length in bytes, read to its end, and the response's head. */
  const send = (path: string) =>
    new Promise<{ length: number; response: IncomingMessage }>((resolve, reject) => {
      const request = httpsRequest(urlOf(target, path), options, (response) => {
        if (response.statusCode !== 200) reject(new Error(`status ${response.statusCode}`));
        let length = 0;
        response.on("data", (chunk: Uint8Array) => (length += chunk.length));
        response.on("end", () => resolve({ length, response }));
        response.on("error", reject);
      });
      request.on("error", reject);
      request.end();
    });
  return {
    get: async (path) => (await send(path)).length,
    header: async (path, name) => {
      const value = (await send(path)).response.headers[name.toLowerCase()];
      return typeof value === "string" ? value : null;
    },
    close: async () => {
      if (agent) agent.destroy();
    },
  };
}

/**
 * undici's fetch through an Agent that pins in its TLS `connect` options, with no TLS session cache (every
 * connection verified by a full handshake, as the other clients); one connection for `keep-alive`; for `close`,
 * every request asks for `connection: close` (undici's `reset`), which fetch itself cannot send.
 */
async function undiciFetch(target: Target, mode: Mode, { identity, connections }: NativeOptions): Promise<Client> {
  const undici = await import("undici");
  const agent = new undici.Agent({
    connections: mode === "keep-alive" ? 1 : (connections ?? null),
    connect: {
      ca: target.ca,
      checkServerIdentity: pinCheck(target.pins),
      lookup,
      maxCachedSessions: 0,
      ...(identity && { cert: identity.cert, key: identity.key }),
    },
  });
  const dispatcher =
    mode === "close"
      ? agent.compose((dispatch) => (options, handler) => dispatch({ ...options, reset: true }, handler))
      : agent;
  const send = async (path: string) => (await undici.fetch(urlOf(target, path), { dispatcher })) as unknown as Response;
  return {
    get: async (path) => readAll(await send(path)),
    header: async (path, name) => readHeader(await send(path), name),
    fetch: send,
    close: () => agent.close(),
  };
}

/**
 * Bun's fetch, pinning in its tls option (Bun passes the leaf only) or, `pinned` false, with the CA alone;
 * `close` asks for no keep-alive. Bun's fetch has no per-origin connection limit (see concurrent.ts).
 */
function bunFetch(target: Target, mode: Mode, { identity }: NativeOptions, pinned: boolean): Client {
  const init = {
    keepalive: mode !== "close",
    tls: {
      ca: target.ca,
      ...(pinned && { checkServerIdentity: pinCheck(target.pins) }),
      ...(identity && { cert: identity.cert, key: identity.key }),
    },
  } as RequestInit;
  const send = (path: string) => fetch(urlOf(target, path), init);
  return {
    get: async (path) => readAll(await send(path)),
    header: async (path, name) => readHeader(await send(path), name),
    fetch: send,
    close: async () => {},
  };
}
