import { sha1 } from "@noble/hashes/legacy.js";
import { sha256 } from "@noble/hashes/sha2.js";

import { type CertificateSummary, PinnedFetchError } from "./errors.js";
import { sameBytes, toColonHex } from "./pins/encoding.js";
import { getPinsSettings } from "./options.js";
import { requestUrl } from "./request.js";
import type { Runtime, RuntimeName } from "./runtime/index.js";
import { openTls } from "./tls/connection.js";

/** A certificate the server sent, with every form of pin people use for it. */
export interface CertificateInfo extends CertificateSummary {
  /** SHA-256 of the DER certificate, as `openssl x509 -noout -fingerprint -sha256` prints it. */
  sha256: string;
  /** SHA-1 of the DER certificate, as `openssl x509 -noout -fingerprint -sha1` prints it. */
  sha1: string;
  der: Uint8Array;
  /** Whether the certificate is on the path that verified the server; false for one it merely sent. */
  onVerifiedPath: boolean;
}

export interface GetPinsOptions {
  /** PEM CA certificates to trust instead of Mozilla's roots. */
  ca?: string | readonly string[];
  /** `{ [host]: address }`, like curl's `--resolve`. */
  resolve?: Readonly<Record<string, string>>;
  /** An HTTP proxy to tunnel through with CONNECT, as `createPinnedFetch` takes it; TLS runs end to end. */
  proxy?: string | URL;
  /** Milliseconds for TCP connect and TLS handshake together; default 10,000. */
  connectTimeout?: number;
  signal?: AbortSignal;
  runtime?: RuntimeName | Runtime;
}

/**
 * The certificates an HTTPS server presents, in the order it sent them, each
 * with its pin and fingerprints: what to paste into `pins`. The server is
 * verified as by `createPinnedFetch` (without pins); if that fails, the
 * PinnedFetchError's `chain` holds what the server sent.
 */
export async function getPins(url: string | URL, options: GetPinsOptions = {}): Promise<CertificateInfo[]> {
  const { url: target, host: hostname } = requestUrl(url, "getPins");
  const { trust, signal, connectTimeout, route, runtime } = getPinsSettings(options);
  const port = Number(target.port || 443);
  let presented: readonly Uint8Array<ArrayBuffer>[] = [];
  const { summarizeCertificate } = await import("./pins/summary.js");
  const describe = (onPath: (der: Uint8Array) => boolean) =>
    presented.map((der) => ({ ...summarizeCertificate(der), ...fingerprints(der), der, onVerifiedPath: onPath(der) }));
  try {
    const connection = await openTls(await runtime, trust, {
      hostname,
      port,
      ...(await route(hostname, port)),
      signal,
      connectTimeout,
      onPresented: (certificates) => (presented = certificates),
    });
    const verified = connection.verifiedCertificates;
    await connection.close();
    return describe((der) => verified.some((other) => sameBytes(other, der)));
  } catch (error) {
    if (error instanceof PinnedFetchError && presented.length > 0) {
      throw new PinnedFetchError(error.code, error.message, { host: hostname, chain: describe(() => false), cause: error });
    }
    throw error;
  }
}

function fingerprints(der: Uint8Array): Pick<CertificateInfo, "sha256" | "sha1"> {
  return { sha256: toColonHex(sha256(der)), sha1: toColonHex(sha1(der)) };
}
