// Each runtime's own pin-capable HTTPS client, as the issue names them:
// node:https with a checkServerIdentity pin in Node and Deno (the same code),
// and Bun's fetch with `tls.checkServerIdentity`; each given a client
// certificate (`cert`, `key`) where the measure asks for one.
import { createHash, X509Certificate } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { Agent, request as httpsRequest } from "node:https";
import { checkServerIdentity, type DetailedPeerCertificate, type PeerCertificate } from "node:tls";

import { type Client, type Identity, type Mode, type Target, readAll, readHeader, runtime, urlOf } from "./common.js";

export const NATIVE_NAME = runtime === "bun" ? "fetch + tls.checkServerIdentity" : "node:https + checkServerIdentity";

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

export function nativeClient(target: Target, mode: Mode, identity?: Identity): Client {
  return runtime === "bun" ? bunFetch(target, mode, identity) : nodeHttps(target, mode, identity);
}

/** node:https; `close` has no agent, the others a keep-alive agent (of one socket for `keep-alive`). */
function nodeHttps(target: Target, mode: Mode, identity?: Identity): Client {
  const agent =
    mode === "close"
      ? false
      : new Agent({
          keepAlive: true,
          maxSockets: mode === "keep-alive" ? 1 : Infinity,
          maxFreeSockets: mode === "keep-alive" ? 1 : Infinity,
        });
  const options = {
    agent,
    lookup: (
      _host: string,
      _options: object,
      callback: (error: null, addresses: { address: string; family: number }[]) => void,
    ) => callback(null, [{ address: "127.0.0.1", family: 4 }]),
    ca: target.ca,
    checkServerIdentity: pinCheck(target.pins),
    ...(identity && { cert: identity.cert, key: identity.key }),
  };
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

/** Bun's fetch with the pin check in its tls option (Bun passes the leaf only); `close` asks for no keep-alive. */
function bunFetch(target: Target, mode: Mode, identity?: Identity): Client {
  const init = {
    keepalive: mode !== "close",
    tls: {
      ca: target.ca,
      checkServerIdentity: pinCheck(target.pins),
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
