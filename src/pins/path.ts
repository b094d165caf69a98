import type { CertificateSummary } from "../errors.js";
import { certificateSpki, spkiPin, summarizeAnchor, summarizeCertificate } from "./certificate.js";

/** The path webpki verified in a handshake: what pins are checked against. */
export interface VerifiedPath {
  /** DER certificates: the leaf first, then the intermediates the path uses. */
  certificates: Uint8Array<ArrayBuffer>[];
  /** The trust anchor the path ends at: its subject Name and SPKI, as DER. */
  anchor: { subject: Uint8Array<ArrayBuffer>; spki: Uint8Array<ArrayBuffer> };
}

/** True if any certificate of the path, anchor included, has one of `pins`. */
export function pathMatches(path: VerifiedPath, pins: ReadonlySet<string>): boolean {
  return (
    path.certificates.some((der) => pins.has(spkiPin(certificateSpki(der)))) || pins.has(spkiPin(path.anchor.spki))
  );
}

/**
 * The path for people: each certificate's names, validity and pin. The anchor
 * is shown in full when it is one of the caller's `ca` certificates.
 */
export function summarizePath(path: VerifiedPath, anchors: readonly Uint8Array<ArrayBuffer>[]): CertificateSummary[] {
  const anchorPin = spkiPin(path.anchor.spki);
  const anchorCertificate = anchors.find((der) => spkiPin(certificateSpki(der)) === anchorPin);
  return [
    ...path.certificates.map(summarizeCertificate),
    anchorCertificate ? summarizeCertificate(anchorCertificate) : summarizeAnchor(path.anchor.subject, anchorPin),
  ];
}
