import { PinnedFetchError } from "../errors.js";
import { checkCertificate } from "../pins/certificate.js";
import { pemCertificates } from "../pins/encoding.js";
import type { Engine } from "./engine.js";

/** Frees an engine config once nothing can use its context any more. */
const configs = new FinalizationRegistry<{ engine: Engine; config: number }>(({ engine, config }) =>
  engine.freeConfig(config),
);

/**
 * What a connection trusts: the caller's `ca` certificates, or Mozilla's
 * roots. One context is one engine config and one TLS session cache, so a
 * session is only resumed by connections of the same context.
 */
export class TrustContext {
  /** The caller's anchors as DER; empty means Mozilla's roots. */
  readonly anchors: readonly Uint8Array<ArrayBuffer>[];
  #config: { engine: Engine; handle: number } | undefined;

  /** Throws ERR_CONFIG for anything in `ca` that is not a PEM certificate. */
  constructor(ca?: string | readonly string[]) {
    const pems = ca === undefined ? [] : typeof ca === "string" ? [ca] : ca;
    this.anchors = pems.flatMap((pem, index) => parseAnchors(pem, pems.length > 1 ? `ca[${index}]` : "ca"));
  }

  /** The config for this context in `engine`, made on first use (and again for a fresh engine). */
  config(engine: Engine): number {
    if (this.#config?.engine !== engine) {
      const handle = engine.newConfig(this.anchors);
      if (handle === null) {
        throw new PinnedFetchError(
          "ERR_CONFIG",
          "A certificate in `ca` cannot serve as a trust anchor (the TLS engine rejected it). Give the PEM of a CA certificate.",
        );
      }
      this.#config = { engine, handle };
      configs.register(this, { engine, config: handle });
    }
    return this.#config.handle;
  }
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
      throw new PinnedFetchError("ERR_CONFIG", `${label} holds a CERTIFICATE block that is not a valid X.509 certificate.`, {
        cause,
      });
    }
  }
  return ders;
}
