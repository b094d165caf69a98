import { certificateSpki, spkiPin } from "./certificate.js";
import type { PinSet } from "./pin.js";

/** The certificates a handshake was verified with: what pins are checked against. */
export interface VerifiedPath {
  /** DER certificates: the leaf first, then the intermediates the path uses. */
  certificates: Uint8Array<ArrayBuffer>[];
  /**
   * The trust anchor the path ends at: its subject Name and SPKI, as DER.
   * Absent when the leaf was trusted by itself (pins-only, or given in `ca`).
   */
  anchor?: { subject: Uint8Array<ArrayBuffer>; spki: Uint8Array<ArrayBuffer> } | undefined;
}

/** True if any certificate of the path, anchor included, has one of `pins`. */
export function pathMatches(path: VerifiedPath, pins: PinSet, anchors: readonly Uint8Array<ArrayBuffer>[]): boolean {
  if (path.certificates.some((der) => pins.matchesCertificate(der))) return true;
  if (!path.anchor) return false;
  const anchor = anchorCertificate(path.anchor.spki, anchors);
  return anchor ? pins.matchesCertificate(anchor) : pins.matchesSpki(path.anchor.spki);
}

/** The caller's `ca` certificate with this key, if the anchor is one of them (a built-in root is not). */
export function anchorCertificate(
  spki: Uint8Array,
  anchors: readonly Uint8Array<ArrayBuffer>[],
): Uint8Array<ArrayBuffer> | undefined {
  const pin = spkiPin(spki);
  return anchors.find((der) => spkiPin(certificateSpki(der)) === pin);
}
