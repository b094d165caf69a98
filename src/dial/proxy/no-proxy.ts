import { canonicalHost } from "../../host.js";

/** A NO_PROXY entry: a host (canonical) and, if the entry names one, a port. */
interface Exemption {
  host: string;
  port: number | undefined;
}

/**
 * NO_PROXY, as curl and undici's EnvHttpProxyAgent read it: entries
 * separated by commas or spaces, compared case-insensitively; `*` exempts
 * every host. An entry exempts its host and every name below it
 * (`example.com`, `.example.com` and `*.example.com` alike), an IP address
 * only itself; with `:port`, only connections to that port.
 */
export class NoProxy {
  readonly #everything: boolean;
  readonly #exemptions: Exemption[];

  constructor(value: string) {
    const entries = value.split(/[\s,]+/).filter((entry) => entry !== "");
    this.#everything = entries.includes("*");
    // An entry that is not a host (a CIDR range, say) exempts nothing.
    this.#exemptions = entries.map(exemption).filter((entry) => entry !== null);
  }

  /** Whether connections to `host` (canonical, see `canonicalHost`) at `port` go directly, not through the proxy. */
  covers(host: string, port: number): boolean {
    if (this.#everything) return true;
    // No IP address matches as a suffix: canonical IPv4 is four numbers, IPv6 has no dots, and an entry
    // whose last label is a number is read as a whole IPv4 address.
    return this.#exemptions.some(
      (entry) =>
        (entry.port === undefined || entry.port === port) && (host === entry.host || host.endsWith(`.${entry.host}`)),
    );
  }
}

function exemption(entry: string): Exemption | null {
  const bracketed = /^\[(.+)\](?::(.*))?$/.exec(entry);
  // A bare IPv6 address has more than one colon, and no port.
  const [name, port] = bracketed
    ? [bracketed[1]!, bracketed[2]]
    : entry.split(":").length > 2
      ? [entry]
      : entry.split(":");
  const host = canonicalHost(name!.replace(/^\*?\./, ""));
  if (!host || (port !== undefined && !/^\d+$/.test(port))) return null;
  return { host, port: port === undefined ? undefined : Number(port) };
}
