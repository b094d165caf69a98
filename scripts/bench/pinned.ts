// pinned-fetch as the bench drives it: one instance, as an application holds
// it, from the sources (client.ts, memory.ts) or from the built package as
// users import it (first.ts: loading it is what that measure times).
import type { createPinnedFetch } from "../../src/index.js";
import { type Client, type Identity, type Mode, type Target, readAll, readHeader, urlOf } from "./common.js";

/**
 * `close` sends `connection: close`, so each request opens a connection;
 * otherwise the pool keeps them (4 s idle). `create` is
 * createPinnedFetch of the sources or of the built package; `identity`, a
 * client certificate to present to the server; `postQuantum: false`, the
 * classical groups only (otherwise the default, as users get it); `http2:
 * false`, HTTP/1.1 only (otherwise h2 where the server's ALPN picks it);
 * `connections`, the most per origin.
 */
export function pinnedClient(
  target: Target,
  mode: Mode,
  create: typeof createPinnedFetch,
  {
    identity,
    postQuantum,
    http2,
    connections,
  }: { identity?: Identity; postQuantum?: false; http2?: false; connections?: number } = {},
): Client {
  const pinnedFetch = create({
    pins: { localhost: target.pins },
    ca: target.ca,
    resolve: { localhost: "127.0.0.1" },
    ...(identity && { clientCertificates: { localhost: identity } }),
    ...(postQuantum === false && { postQuantum }),
    ...(http2 === false && { http2 }),
    ...(connections && { connections }),
  });
  const init: RequestInit = mode === "close" ? { headers: { connection: "close" } } : {};
  const send = (path: string) => pinnedFetch(urlOf(target, path), init);
  return {
    get: async (path) => readAll(await send(path)),
    header: async (path, name) => readHeader(await send(path), name),
    fetch: send,
    close: () => pinnedFetch.close(),
  };
}
