// pinned-fetch as the bench drives it: one instance, as an application holds
// it, run from the sources as the other bench clients are.
import { createPinnedFetch } from "../../src/index.js";
import { loadEngine } from "../../src/tls/engine.js";
import { type Client, type Mode, type Target, readAll, urlOf } from "./common.js";

/** `close` sends `connection: close`, so each request opens a connection; otherwise the pool keeps them (unlimited, 4 s idle). */
export function pinnedClient(target: Target, mode: Mode): Client {
  const pinnedFetch = createPinnedFetch({ pins: { localhost: target.pins }, ca: target.ca, resolve: { localhost: "127.0.0.1" } });
  const init: RequestInit = mode === "close" ? { headers: { connection: "close" } } : {};
  const send = (path: string) => pinnedFetch(urlOf(target, path), init);
  return {
    get: async (path) => readAll(await send(path)),
    fetch: send,
    close: () => pinnedFetch.close(),
  };
}

/** Bytes of WebAssembly memory the process's engine holds (it never shrinks). */
export async function engineMemory(): Promise<number> {
  return (await loadEngine()).memoryBytes;
}
