// Which client certificate each host is offered. A client certificate names its owner, so it goes only to the hosts
// its pattern covers; any other server that asks gets none.
import { PinnedFetchError } from "../errors.js";
import { type HostPattern, hostPattern, patternCovers } from "../host.js";
import { type GivenIdentity, givenIdentity } from "./identity/given.js";
import type { ClientIdentity } from "./identity/identity.js";

/** A client certificate and its private key, as PEM, or as a PKCS#12 file. */
export type ClientCertificate =
  | {
      /** PEM: the certificate first, then any intermediates to send with it. */
      cert: string | Uint8Array;
      /** PEM: PKCS#8, PKCS#1 (RSA), SEC1 (EC), or encrypted PKCS#8 with `passphrase`. */
      key: string | Uint8Array;
      passphrase?: string;
    }
  | {
      /** PKCS#12 bytes, as OpenSSL 3 writes them by default (AES-256-CBC, PBKDF2). */
      pfx: Uint8Array | ArrayBuffer;
      /** The PKCS#12 password; none means the empty one. */
      passphrase?: string;
    };

/** Narrower patterns first: an exact host, then `*.`, then `**.`. */
const NARROWNESS: Record<HostPattern["kind"], number> = { exact: 2, label: 1, any: 0 };

/**
 * The identity of `given` (checked and copied by givenIdentity when the options were), read by
 * ./identity/identity.js, which is imported only now: its ASN.1 reader and the
 * ciphers of encrypted keys cost more CPU at import than the rest of a first request's modules, and most
 * programs present no client certificate (BENCHMARKS.md, "Figures behind design choices"). Rejects with
 * ERR_CONFIG, naming `label`, for an identity that cannot be used (a wrong passphrase included).
 */
export async function readIdentity(given: GivenIdentity, label: string): Promise<ClientIdentity> {
  let reader: typeof import("./identity/identity.js");
  try {
    reader = await import("./identity/identity.js");
  } catch (cause) {
    throw new PinnedFetchError(
      "ERR_CONFIG",
      `${label} cannot be read: pinned-fetch's client-certificate reader did not load (${String(cause)}). ` +
        `If you bundle pinned-fetch, keep its dynamic import of identity.js.`,
      { cause },
    );
  }
  return reader.readClientIdentity(given, label);
}

interface Entry {
  pattern: HostPattern;
  label: string;
  /** Set once `ClientCertificates.read` has resolved. */
  identity?: ClientIdentity;
}

/** The identities of `clientCertificates`, by host pattern (the patterns of `pins`). */
export class ClientCertificates {
  readonly #entries: Entry[] = [];
  /**
   * Resolves once every identity is read; rejects with the ERR_CONFIG of the first that cannot be used. Undefined
   * when none is given. Each request awaits it before it connects, so a bad identity fails every request.
   */
  readonly read: Promise<void> | undefined;

  /**
   * Throws ERR_CONFIG, naming the pattern, for a bad pattern or an identity of the wrong shape; what the identities
   * hold is checked by `read`.
   */
  constructor(given: Readonly<Record<string, ClientCertificate>> = {}) {
    const reads: Promise<unknown>[] = [];
    for (const [written, identity] of Object.entries(given)) {
      const label = `clientCertificates["${written}"]`;
      const pattern = hostPattern(written, "clientCertificates");
      const twin = this.#entries.find(
        (entry) => entry.pattern.kind === pattern.kind && entry.pattern.host === pattern.host,
      );
      if (twin) {
        throw new PinnedFetchError(
          "ERR_CONFIG",
          `${label} covers the same hosts as ${twin.label}: give each pattern one certificate.`,
        );
      }
      const entry: Entry = { pattern, label };
      this.#entries.push(entry);
      const checked = givenIdentity(identity, label);
      reads.push(readIdentity(checked, label).then((read) => (entry.identity = read)));
    }
    if (reads.length === 0) return;
    this.read = Promise.all(reads).then(() => undefined);
    // Reported by each request that awaits it, not as an unhandled rejection of a program that makes none.
    this.read.catch(() => undefined);
  }

  /**
   * The identity offered to `host` (canonical), or undefined: of the patterns that cover it, the one nearest to it
   * (the longest host, then an exact host before `*.` before `**.`). Only once `read` has resolved.
   */
  for(host: string): ClientIdentity | undefined {
    let chosen: Entry | undefined;
    for (const entry of this.#entries) {
      if (!patternCovers(entry.pattern, host)) continue;
      if (!chosen || nearer(entry.pattern, chosen.pattern)) chosen = entry;
    }
    return chosen?.identity;
  }
}

function nearer(a: HostPattern, b: HostPattern): boolean {
  if (a.host.length !== b.host.length) return a.host.length > b.host.length;
  return NARROWNESS[a.kind] > NARROWNESS[b.kind];
}
