// Host names and addresses in the one form they are compared and written in. Pin rules, NO_PROXY, resolve and the
// proxy URL all name hosts, so this sits below every floor.
import { PinnedFetchError } from "./errors.js";

/**
 * The one form a host is compared in, so that no spelling escapes its rule:
 * lower case, internationalized names in punycode, no trailing dot, IPv4 in
 * dotted decimal (also when written as an IPv4-mapped IPv6 address, which
 * reaches the same host), IPv6 without brackets. Null for anything that is
 * not a host, such as a name with an empty label (`a..b`, `.a`, `a..`), which
 * with its last dot stripped would match no rule.
 */
export function canonicalHost(host: string): string | null {
  if (typeof host !== "string") return null;
  // Every request asks, mostly about the same few hosts.
  let canonical = canonicalForms.get(host);
  if (canonical === undefined) {
    canonical = canonicalForm(host);
    if (canonicalForms.size >= FORMS_REMEMBERED) canonicalForms.clear();
    canonicalForms.set(host, canonical);
  }
  return canonical;
}

/** Host spellings `canonicalHost` remembers at once, with their canonical forms. */
const FORMS_REMEMBERED = 256;
const canonicalForms = new Map<string, string | null>();

function canonicalForm(host: string): string | null {
  if (host === "" || /[\s/?#@\\]/.test(host)) return null;
  const literal = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  // The URL parser drops a scheme's default port, so "[::1]:443" would read as "::1".
  if (literal.startsWith("[") && !literal.endsWith("]")) return null;
  let hostname: string;
  try {
    const url = new URL(`https://${literal}/`);
    if (url.port !== "") return null;
    hostname = url.hostname;
  } catch {
    return null;
  }
  if (hostname.startsWith("[")) return ipv4Mapped(hostname.slice(1, -1)) ?? hostname.slice(1, -1);
  const name = hostname.endsWith(".") ? hostname.slice(0, -1) : hostname;
  return name.split(".").includes("") ? null : name;
}

/** The IPv4 address an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, as the URL parser writes it) stands for. */
function ipv4Mapped(ipv6: string): string | null {
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(ipv6);
  if (!mapped) return null;
  const [high, low] = [parseInt(mapped[1]!, 16), parseInt(mapped[2]!, 16)];
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join(".");
}

/** `canonicalHost` for a host in the options; ERR_CONFIG if it is not one. */
export function configuredHost(host: string, option: string): string {
  const canonical = canonicalHost(host);
  if (canonical === null || canonical === "") {
    throw new PinnedFetchError(
      "ERR_CONFIG",
      `${option} names ${JSON.stringify(host)}, which is not a host name or IP address (give it without scheme, port or path).`,
    );
  }
  return canonical;
}

/** Whether a canonical host is an IP address: IPv6 (it has colons) or IPv4 in dotted decimal. */
function isIpAddress(host: string): boolean {
  return host.includes(":") || /^\d+\.\d+\.\d+\.\d+$/.test(host);
}

/** `host:port` as a CONNECT line and messages write it: an IPv6 address in brackets. */
export function authority(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/** Which names a rule covers, as written in `pins` and `clientCertificates` (OkHttp's patterns). */
export interface HostPattern {
  /** `exact`: the host itself; `label`: `*.host`, one more label; `any`: `**.host`, the host and any depth below. */
  kind: "exact" | "label" | "any";
  host: string;
}

/**
 * The names `pattern` (a host, `*.host` or `**.host`) covers in `option`; with `includeSubdomains`, a host also
 * covers every name below it. ERR_CONFIG for anything else.
 */
export function hostPattern(pattern: string, option: string, includeSubdomains = false): HostPattern {
  const wildcard = /^(\*\*?)\.(.+)$/.exec(pattern);
  const host = configuredHost(wildcard ? wildcard[2]! : pattern, option);
  // Anything else with a "*" in it would be a name no host has: the host would go without its rule.
  if (host.includes("*")) {
    throw new PinnedFetchError(
      "ERR_CONFIG",
      `${option}["${pattern}"] is not a host, "*.host" (one more label) or "**.host" (the host and every name below it).`,
    );
  }
  if (wildcard && (includeSubdomains || isIpAddress(host))) {
    throw new PinnedFetchError(
      "ERR_CONFIG",
      `${option}["${pattern}"]: a wildcard ${isIpAddress(host) ? "cannot apply to an IP address" : "already says which names it covers; drop includeSubdomains"}.`,
    );
  }
  if (!wildcard) return { kind: includeSubdomains && !isIpAddress(host) ? "any" : "exact", host };
  return { kind: wildcard[1] === "*" ? "label" : "any", host };
}

/** Whether `pattern` covers `name` (canonical, see `canonicalHost`). */
export function patternCovers({ kind, host }: HostPattern, name: string): boolean {
  if (kind === "exact" || name === host) return name === host && kind !== "label";
  if (!name.endsWith(`.${host}`)) return false;
  return kind === "any" || !name.slice(0, -host.length - 1).includes(".");
}
