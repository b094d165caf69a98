import { sha1 } from "@noble/hashes/legacy.js";
import { sha256 } from "@noble/hashes/sha2.js";

import { PinnedFetchError } from "../errors.js";
import { certificateSpki } from "./certificate.js";
import { fromBase64, toBase64, toColonHex } from "../encoding.js";

/**
 * What a pin is a digest of: a certificate's SubjectPublicKeyInfo (OkHttp,
 * HPKP, Android, TrustKit, curl) or the whole DER certificate (the
 * fingerprints `openssl x509 -fingerprint` prints).
 */
export type PinKind = "spki-sha256" | "spki-sha1" | "cert-sha256" | "cert-sha1";

export interface Pin {
  kind: PinKind;
  /** The digest, base64. */
  digest: string;
  /** The pin as shown to people: `sha256/…`, `sha1/…`, or `SHA256 Fingerprint=AB:…`. */
  text: string;
}

const DIGEST_LENGTH = { sha256: 32, sha1: 20 } as const;
/** The SHA-256 of nothing: a placeholder people paste by mistake, never a real key's pin. */
const EMPTY_INPUT_SHA256 = toBase64(sha256(new Uint8Array(0)));

/**
 * Reads a pin in any of the forms users have: `sha256/<base64>`, curl's
 * `sha256//<base64>`, bare base64 (Android's Network Security Config,
 * TrustKit), `sha1/<base64>`, and openssl's colon-hex fingerprints with or
 * without their `SHA256 Fingerprint=` prefix. ERR_CONFIG names anything else,
 * with a guess at what was meant.
 */
export function parsePin(input: string, host: string): Pin {
  const text = typeof input === "string" ? input.trim() : "";
  const pin = spkiPin(text) ?? fingerprintPin(text);
  if (!pin) {
    const guess = suggestion(text);
    throw new PinnedFetchError(
      "ERR_CONFIG",
      `Malformed pin for ${host}: ${JSON.stringify(input)}.${guess ? ` Did you mean ${guess}?` : ""} Expected ` +
        `"sha256/<base64>" (the SHA-256 of a certificate's SubjectPublicKeyInfo, 44 base64 characters), ` +
        `"sha1/<base64>", or a certificate fingerprint as \`openssl x509 -noout -fingerprint -sha256\` prints it ` +
        `(AB:CD:…). The README shows how to get each.`,
    );
  }
  if (pin.kind.endsWith("sha256") && pin.digest === EMPTY_INPUT_SHA256) {
    throw new PinnedFetchError(
      "ERR_CONFIG",
      `The pin for ${host} (${JSON.stringify(input)}) is the SHA-256 of empty input, a placeholder that no key ` +
        `or certificate has. Compute the pin from the server's certificate instead.`,
    );
  }
  return pin;
}

function spkiPin(text: string): Pin | null {
  const match = /^(?:(sha256|sha1)\/)?([A-Za-z0-9+/=]+)$/.exec(text);
  if (!match) return null;
  const algorithm = (match[1] ?? "sha256") as keyof typeof DIGEST_LENGTH;
  // curl writes "sha256//<base64>", but a base64 digest may itself begin with "/": both readings are tried
  // (at most one has a valid length).
  const bodies = match[1] && match[2]!.startsWith("/") ? [match[2]!, match[2]!.slice(1)] : [match[2]!];
  const body = bodies.find((candidate) => fromBase64(candidate)?.length === DIGEST_LENGTH[algorithm]);
  return body ? { kind: `spki-${algorithm}`, digest: body, text: `${algorithm}/${body}` } : null;
}

function fingerprintPin(text: string): Pin | null {
  const match = /^(?:(SHA256|SHA1) Fingerprint=)?((?:[0-9A-F]{2}:)+[0-9A-F]{2})$/i.exec(text);
  if (!match) return null;
  const digest = Uint8Array.from(match[2]!.split(":"), (pair) => parseInt(pair, 16));
  const algorithm = digest.length === 32 ? "sha256" : digest.length === 20 ? "sha1" : null;
  if (!algorithm || (match[1] && match[1].toLowerCase() !== algorithm)) return null;
  return {
    kind: `cert-${algorithm}`,
    digest: toBase64(digest),
    text: `${algorithm.toUpperCase()} Fingerprint=${match[2]!.toUpperCase()}`,
  };
}

/** The well-formed pin a malformed one most likely meant, if any. */
function suggestion(text: string): string | null {
  // HPKP's header form, another algorithm spelling, or base64url.
  const rest = text
    .replace(/^pin-sha256="?|"$/gi, "")
    .replace(/^(?:sha-?256)\s*[:/=]\s*/i, "")
    .replace(/-/g, "+")
    .replace(/_/g, "/");
  // A leading "/" is curl's second slash, or the digest's own first character: both are tried.
  for (const body of rest.startsWith("/") ? [rest, rest.slice(1)] : [rest]) {
    const padded = body.length % 4 === 0 ? body : body + "=".repeat(4 - (body.length % 4));
    if (fromBase64(padded)?.length === 32 && `sha256/${padded}` !== text) return `sha256/${padded}`;
  }
  // A fingerprint without its colons.
  const hex = text.replace(/^(SHA256|SHA1) Fingerprint=/i, "");
  if (/^(?:[0-9A-Fa-f]{64}|[0-9A-Fa-f]{40})$/.test(hex))
    return toColonHex(Uint8Array.from(hex.match(/../g)!, (pair) => parseInt(pair, 16)));
  return null;
}

/**
 * A host's pins, matched against certificates: any certificate of a verified
 * path (or the leaf alone, for pins-only trust) with a digest among them.
 */
export class PinSet {
  readonly pins: readonly Pin[];
  /** What the set accepts, in one canonical form: sets with the same key make the same decisions. */
  readonly key: string;
  readonly #digests: Map<PinKind, Set<string>>;

  constructor(pins: readonly Pin[]) {
    this.pins = pins;
    this.key = [...new Set(pins.map((pin) => `${pin.kind}:${pin.digest}`))].sort().join(" ");
    this.#digests = new Map();
    for (const pin of pins) {
      let digests = this.#digests.get(pin.kind);
      if (!digests) this.#digests.set(pin.kind, (digests = new Set()));
      digests.add(pin.digest);
    }
  }

  /** The pins as shown to people. */
  get texts(): string[] {
    return this.pins.map((pin) => pin.text);
  }

  /** Whether the DER certificate has one of the pins; its digests are computed only for the kinds present. */
  matchesCertificate(der: Uint8Array<ArrayBuffer>): boolean {
    const spki = this.#has("spki-sha256") || this.#has("spki-sha1") ? certificateSpki(der) : null;
    return (
      (spki !== null && this.matchesSpki(spki)) ||
      this.#matches("cert-sha256", () => sha256(der)) ||
      this.#matches("cert-sha1", () => sha1(der))
    );
  }

  /** Whether a key (a trust anchor known only by its SPKI) has one of the pins. */
  matchesSpki(spki: Uint8Array): boolean {
    return this.#matches("spki-sha256", () => sha256(spki)) || this.#matches("spki-sha1", () => sha1(spki));
  }

  #has(kind: PinKind): boolean {
    return this.#digests.has(kind);
  }

  #matches(kind: PinKind, digest: () => Uint8Array): boolean {
    return this.#digests.get(kind)?.has(toBase64(digest())) ?? false;
  }
}
