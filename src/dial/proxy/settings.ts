import { PinnedFetchError } from "../../errors.js";
import { toBase64 } from "../../encoding.js";
import { canonicalHost } from "../../host.js";
import { hostRuntime } from "../../runtime/index.js";
import { NoProxy } from "./no-proxy.js";

/** An HTTP proxy that connections go through, in a CONNECT tunnel. */
export interface HttpProxy {
  /** In canonical form (see `canonicalHost`): IPv6 without brackets. */
  host: string;
  port: number;
  /** `Basic …` from the URL's user and password, percent-decoded; undefined when it has neither. */
  authorization: string | undefined;
}

/** The proxy for connections to an origin, or undefined to connect directly. */
export type ProxyRoute = (host: string, port: number) => Promise<HttpProxy | undefined>;

/** What `proxy: "env"` reads, the lower-case names first, as curl and undici do. */
const VARIABLES = ["https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY"];

/**
 * The `proxy` option as a route, fixed for the life of a fetch instance:
 * none, one proxy for every origin, or `"env"`, which reads HTTPS_PROXY and
 * NO_PROXY at the first connection. Throws ERR_CONFIG at once for a proxy
 * URL that is malformed or not `http:`.
 */
export function proxyRoute(option: string | URL | undefined): ProxyRoute {
  if (option === undefined) return async () => undefined;
  if (option === "env") {
    let settings: Promise<{ proxy: HttpProxy | undefined; noProxy: NoProxy }> | undefined;
    return async (host, port) => {
      const { proxy, noProxy } = await (settings ??= fromEnvironment());
      return noProxy.covers(host, port) ? undefined : proxy;
    };
  }
  const proxy = parseProxy(option, "The proxy option");
  return async () => proxy;
}

async function fromEnvironment(): Promise<{ proxy: HttpProxy | undefined; noProxy: NoProxy }> {
  const environment = (await hostRuntime()).environment(VARIABLES);
  // An empty value counts as unset, as in curl and undici.
  const name = environment.https_proxy ? "https_proxy" : "HTTPS_PROXY";
  const url = environment[name];
  return {
    proxy: url ? parseProxy(url, `The environment variable ${name}`) : undefined,
    noProxy: new NoProxy(environment.no_proxy || environment.NO_PROXY || ""),
  };
}

/**
 * An `http://[user:password@]host[:port]` URL (port 80 by default, as in
 * curl); ERR_CONFIG otherwise. Messages never repeat the URL, which may hold
 * a password.
 */
function parseProxy(value: unknown, source: string): HttpProxy {
  let url: URL | undefined;
  try {
    if (typeof value === "string" || value instanceof URL) url = new URL(value);
  } catch {
    // said below
  }
  // "proxy.example:3128" parses, as a URL of the scheme "proxy.example:".
  if (!url?.href.startsWith(`${url.protocol}//`)) {
    throw new PinnedFetchError(
      "ERR_CONFIG",
      `${source} is not a proxy URL. Give it as http://host:port, with user:password@ before the host if the proxy asks for credentials${
        source === "The proxy option" ? ', or "env" to take it from HTTPS_PROXY and NO_PROXY' : ""
      }.`,
    );
  }
  if (url.protocol !== "http:") {
    throw new PinnedFetchError(
      "ERR_CONFIG",
      `${source} must be an http:// URL, not ${url.protocol}//…: pinned-fetch reaches the proxy over plain TCP and ` +
        `asks it for a tunnel with CONNECT, and TLS and the pins run end to end through that tunnel. ` +
        `HTTPS and SOCKS proxies are not supported.`,
    );
  }
  if (url.pathname !== "/" || url.search !== "" || url.hash !== "") {
    throw new PinnedFetchError(
      "ERR_CONFIG",
      `${source} has a path, query or fragment, which a proxy URL does not take: give http://host:port.`,
    );
  }
  let credentials: string;
  try {
    credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  } catch {
    throw new PinnedFetchError(
      "ERR_CONFIG",
      `${source} has a user or password with a malformed %-escape. Percent-encode the characters % @ : / in them (%25 %40 %3A %2F).`,
    );
  }
  const host = canonicalHost(url.hostname);
  if (host === null) throw new PinnedFetchError("ERR_CONFIG", `${source} names a host that is not a valid host name.`);
  return {
    host,
    port: Number(url.port || 80),
    authorization:
      url.username || url.password ? `Basic ${toBase64(new TextEncoder().encode(credentials))}` : undefined,
  };
}
