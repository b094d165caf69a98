import { PinnedFetchError } from "../errors.js";
import { checkCertificate } from "../pins/certificate.js";
import { pemCertificates } from "../encoding.js";
import type { Engine } from "./engine.js";
import type { HandshakePinning } from "./verifier.js";

/** Frees an engine config once nothing can use its context any more. */
const configs = new FinalizationRegistry<{ engine: Engine; config: number }>(({ engine, config }) =>
  engine.freeConfig(config),
);

/**
 * What a connection trusts: the caller's `ca` certificates, or Mozilla's
 * roots. Each pin decision under it (which pins, and how they are judged) has
 * its own engine config and so its own TLS session cache. A resumed handshake
 * skips verification and the pin check, so a session is resumed only by a
 * connection of the same context, to the same host, under the same decision:
 * where the full handshake that made it would be judged the same way again.
 */
export class TrustContext {
  /** The caller's anchors as DER; empty means Mozilla's roots. */
  readonly anchors: readonly Uint8Array<ArrayBuffer>[];
  #engine: Engine | undefined;
  /** Engine configs by decision (see `decisionOf`); at most one per set of rules in force. */
  #configs = new Map<string, number>();

  /** Throws ERR_CONFIG for anything in `ca` that is not a PEM certificate. */
  constructor(ca?: string | readonly string[]) {
    const pems = ca === undefined ? [] : typeof ca === "string" ? [ca] : ca;
    this.anchors = pems.flatMap((pem, index) => parseAnchors(pem, pems.length > 1 ? `ca[${index}]` : "ca"));
  }

  /** The config for connections under `pinning` in `engine`, made on first use (and again for a fresh engine). */
  config(engine: Engine, pinning: HandshakePinning): number {
    if (this.#engine !== engine) {
      this.#engine = engine;
      this.#configs = new Map();
    }
    const decision = decisionOf(pinning);
    let handle = this.#configs.get(decision);
    if (handle === undefined) {
      const made = engine.newConfig(this.anchors);
      if (made === null) {
        throw new PinnedFetchError(
          "ERR_CONFIG",
          "A certificate in `ca` cannot serve as a trust anchor (the TLS engine rejected it). Give the PEM of a CA certificate.",
        );
      }
      this.#configs.set(decision, (handle = made));
      configs.register(this, { engine, config: handle });
    }
    return handle;
  }
}

/** What decides a handshake's verdict beyond the anchors, as one string: equal strings, equal verdicts. */
export function decisionOf({ pins, pinsOnly, reportOnly }: HandshakePinning): string {
  return `${pinsOnly ? "pins-only" : "webpki"}${reportOnly ? " report-only" : ""} ${pins?.key ?? "unpinned"}`;
}

function parseAnchors(pem: unknown, label: string): Uint8Array<ArrayBuffer>[] {
  const ders = typeof pem === "string" ? pemCertificates(pem) : null;
  if (!ders || ders.length === 0) {
    throw new PinnedFetchError(
      "ERR_CONFIG",
      `${label} holds no PEM certificate. Give the CA's certificate as text that starts with "-----BEGIN CERTIFICATE-----".`,
    );
  }
  for (const der of ders) {
    try {
      checkCertificate(der);
    } catch (cause) {
      throw new PinnedFetchError(
        "ERR_CONFIG",
        `${label} holds a CERTIFICATE block that is not a valid X.509 certificate.`,
        {
          cause,
        },
      );
    }
  }
  return ders;
}
