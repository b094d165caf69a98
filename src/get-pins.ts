import { sha1 } from "@noble/hashes/legacy.js";
import { sha256 } from "@noble/hashes/sha2.js";

import { openTls } from "./connect-tls.js";
import { sameBytes, toColonHex } from "./encoding.js";
import { type CertificateSummary, PinnedFetchError } from "./errors.js";
import { certificateSpki, spkiPin } from "./pins/certificate.js";
import { getPinsSettings } from "./options.js";
import { requestUrl } from "./request.js";
import type { Runtime, RuntimeName } from "./runtime/index.js";
import type { TlsConnection } from "./tls/connection.js";

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
  /**
   * Offer the post-quantum hybrid key exchange X25519MLKEM768 first, beside X25519 (default true). false offers
   * the classical groups alone (X25519, P-256, P-384), for a middlebox that breaks on the larger ClientHello.
   */
  postQuantum?: boolean;
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
  return (await inspectServer(url, options)).certificates;
}

/**
 * The trust anchor a verified path ends at, which the server did not send: one
 * of the `ca` certificates, described in full, or a built-in root, of which
 * only the name and key are known.
 */
export type AnchorInfo = CertificateSummary & Partial<Pick<CertificateInfo, "sha256" | "sha1" | "der">>;

/** What getPins finds, and the path's trust anchor where the server did not send it (the CLI shows both). */
export async function inspectServer(
  url: string | URL,
  options: GetPinsOptions = {},
): Promise<{
  certificates: CertificateInfo[];
  anchor: AnchorInfo | undefined;
  tls: Pick<TlsConnection, "protocol" | "keyExchange">;
}> {
  const { url: target, host: hostname } = requestUrl(url, "getPins");
  const { trust, signal, connectTimeout, route, runtime } = getPinsSettings(options);
  const port = Number(target.port || 443);
  let presented: readonly Uint8Array<ArrayBuffer>[] = [];
  const { summarizeCertificate } = await import("./pins/summary.js");
  const describe = (onPath: (der: Uint8Array, summary: CertificateSummary) => boolean) =>
    presented.map((der) => {
      const summary = summarizeCertificate(der);
      return { ...summary, ...fingerprints(der), der, onVerifiedPath: onPath(der, summary) };
    });
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
    await connection.describePeer();
    // The path for people, anchor last; it has one more certificate than `verified` where it ends at an anchor.
    const path = connection.peerCertificates;
    const tls = { protocol: connection.protocol, keyExchange: connection.keyExchange };
    await connection.close();
    const top = path.length > verified.length ? path.at(-1) : undefined;
    // A root the server sent along that is the anchor (same name, same key) is on the path, and its pin matches.
    const isAnchor = (summary: CertificateSummary) =>
      top !== undefined && summary.pin === top.pin && summary.subject === top.subject;
    const certificates = describe(
      (der, summary) => verified.some((other) => sameBytes(other, der)) || isAnchor(summary),
    );
    if (!top || certificates.some(isAnchor)) return { certificates, anchor: undefined, tls };
    const given = trust.anchors.find((der) => spkiPin(certificateSpki(der)) === top.pin);
    return {
      certificates,
      anchor: given ? { ...summarizeCertificate(given), ...fingerprints(given), der: given } : top,
      tls,
    };
  } catch (error) {
    if (error instanceof PinnedFetchError && presented.length > 0) {
      throw new PinnedFetchError(error.code, error.message, {
        host: hostname,
        chain: describe(() => false),
        cause: error,
      });
    }
    throw error;
  }
}

function fingerprints(der: Uint8Array): Pick<CertificateInfo, "sha256" | "sha1"> {
  return { sha256: toColonHex(sha256(der)), sha1: toColonHex(sha1(der)) };
}
