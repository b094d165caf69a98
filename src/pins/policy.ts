import { PinnedFetchError } from "../errors.js";
import { fromBase64 } from "./encoding.js";

/** The SHA-256 of nothing: a placeholder, never a real key's pin. */
const EMPTY_INPUT_PIN = "sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";

/**
 * Which pins each host must match. A host without a rule is verified as any
 * HTTPS client would (trusted path, name, validity) but not pinned.
 */
export class PinPolicy {
  readonly #rules = new Map<string, ReadonlySet<string>>();

  /** Throws ERR_CONFIG, naming the culprit, for a malformed host or pin. */
  constructor(pins: Readonly<Record<string, readonly string[]>> = {}) {
    for (const [host, hostPins] of Object.entries(pins)) {
      if (!Array.isArray(hostPins) || hostPins.length === 0) {
        throw new PinnedFetchError(
          "ERR_CONFIG",
          `pins["${host}"] has no pins. Give at least one "sha256/<base64>" pin, or remove the host.`,
        );
      }
      this.#rules.set(configuredHost(host, "pins"), new Set(hostPins.map((pin) => parsePin(pin, host))));
    }
  }

  /** The pins `host` (canonical, see `canonicalHost`) must match, or undefined when it has no rule. */
  pinsFor(host: string): ReadonlySet<string> | undefined {
    return this.#rules.get(host);
  }
}

/**
 * The one form a host is compared in, so that no spelling escapes its rule:
 * lower case, internationalized names in punycode, no trailing dot, IPv6
 * without brackets. Null for anything that is not a host.
 */
export function canonicalHost(host: string): string | null {
  if (typeof host !== "string" || host === "" || /[\s/?#@\\]/.test(host)) return null;
  const literal = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  let hostname: string;
  try {
    const url = new URL(`https://${literal}/`);
    if (url.port !== "") return null;
    hostname = url.hostname;
  } catch {
    return null;
  }
  return hostname.replace(/^\[(.*)\]$/, "$1").replace(/\.$/, "");
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

/** Validates a `sha256/<base64>` pin and returns it in canonical form. */
export function parsePin(pin: string, host = "connectTls"): string {
  const match = /^sha256\/(.*)$/.exec(typeof pin === "string" ? pin.trim() : "");
  const digest = match && fromBase64(match[1]!);
  if (!digest || digest.length !== 32) {
    throw new PinnedFetchError(
      "ERR_CONFIG",
      `Malformed pin for ${host}: ${JSON.stringify(pin)}. Expected "sha256/" followed by the base64 SHA-256 ` +
        `of a certificate's SubjectPublicKeyInfo (44 characters ending in "="); the README shows how to get it ` +
        `with openssl.`,
    );
  }
  const canonical = `sha256/${match![1]}`;
  if (canonical === EMPTY_INPUT_PIN) {
    throw new PinnedFetchError(
      "ERR_CONFIG",
      `The pin for ${host} is the SHA-256 of empty input (${EMPTY_INPUT_PIN}), a placeholder that no key has. ` +
        `Compute the pin from the server's certificate instead.`,
    );
  }
  return canonical;
}
