// Which client certificate each host is offered. A client certificate names its owner, so it goes only to the hosts
// its pattern covers; any other server that asks gets none.
import { PinnedFetchError } from "../errors.js";
import { type HostPattern, hostPattern, patternCovers } from "../host.js";
import { type ClientIdentity, readClientIdentity } from "./identity/identity.js";

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

/** The identities of `clientCertificates`, by host pattern (the patterns of `pins`). */
export class ClientCertificates {
  readonly #entries: { pattern: HostPattern; identity: ClientIdentity }[] = [];

  /** Throws ERR_CONFIG, naming the pattern, for a bad pattern or identity (a wrong passphrase included). */
  constructor(given: Readonly<Record<string, ClientCertificate>> = {}) {
    for (const [written, identity] of Object.entries(given)) {
      const label = `clientCertificates["${written}"]`;
      const pattern = hostPattern(written, "clientCertificates");
      const twin = this.#entries.find(
        (entry) => entry.pattern.kind === pattern.kind && entry.pattern.host === pattern.host,
      );
      if (twin) {
        throw new PinnedFetchError(
          "ERR_CONFIG",
          `${label} covers the same hosts as ${twin.identity.label}: give each pattern one certificate.`,
        );
      }
      this.#entries.push({ pattern, identity: readClientIdentity(identity, label) });
    }
  }

  /**
   * The identity offered to `host` (canonical), or undefined: of the patterns that cover it, the one nearest to it
   * (the longest host, then an exact host before `*.` before `**.`).
   */
  for(host: string): ClientIdentity | undefined {
    let chosen: { pattern: HostPattern; identity: ClientIdentity } | undefined;
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
