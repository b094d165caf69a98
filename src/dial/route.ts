// The `resolve` and `proxy` options as one route, checked once when an entry point is made.
import { PinnedFetchError } from "../errors.js";
import { canonicalHost, configuredHost } from "../host.js";
import { type HttpProxy, proxyRoute } from "./proxy/settings.js";

/** Where a connection to a host goes: through which proxy, if any, and to which address for the name it connects to. */
export type Route = (
  host: string,
  port: number,
) => Promise<{ proxy: HttpProxy | undefined; address: string | undefined }>;

/** The `resolve` and `proxy` options together; ERR_CONFIG at once for a malformed entry or proxy URL. */
export function routeOf({
  resolve = {},
  proxy,
}: {
  resolve?: Readonly<Record<string, string>> | undefined;
  proxy?: string | URL | undefined;
}): Route {
  const addresses = new Map(
    Object.entries(resolve).map(([host, address]) => {
      const canonical = canonicalHost(address);
      if (canonical === null) {
        throw new PinnedFetchError(
          "ERR_CONFIG",
          `resolve[${JSON.stringify(host)}] is ${JSON.stringify(address)}, which is not an address: give an IP address ` +
            `(IPv6 with or without brackets) or a host name, without port.`,
        );
      }
      return [configuredHost(host, "resolve"), canonical];
    }),
  );
  const proxyFor = proxyRoute(proxy);
  return async (host, port) => {
    const proxy = await proxyFor(host, port);
    // With a proxy, the name connected to is the proxy's.
    return { proxy, address: addresses.get(proxy?.host ?? host) };
  };
}
