// Certificates described for people, in error messages, reports and
// getPins: names need a full X.509 parser (pkijs), loaded only when a
// description is asked for, so that no handshake waits for it.
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";

import type { CertificateSummary } from "../errors.js";
import { certificateSpki, spkiPin } from "./certificate.js";
import { formatName } from "./names.js";
import { type VerifiedPath, anchorCertificate } from "./path.js";

/** Parses a DER certificate; throws on anything else, trailing bytes included. */
function parseCertificate(der: Uint8Array<ArrayBuffer>): pkijs.Certificate {
  const { result, offset } = asn1js.fromBER(der);
  if (offset !== der.byteLength) throw new Error("not a single DER value");
  return new pkijs.Certificate({ schema: result });
}

export function summarizeCertificate(der: Uint8Array<ArrayBuffer>): CertificateSummary {
  const certificate = parseCertificate(der);
  return {
    subject: nameOf(certificate.subject),
    issuer: nameOf(certificate.issuer),
    notBefore: certificate.notBefore.value,
    notAfter: certificate.notAfter.value,
    pin: spkiPin(certificateSpki(der)),
  };
}

/** A built-in root: only its name and key are known. */
function summarizeAnchor(subject: Uint8Array<ArrayBuffer>, pin: string): CertificateSummary {
  const name = nameOf(pkijs.RelativeDistinguishedNames.fromBER(subject));
  return { subject: name, issuer: name, pin };
}

/**
 * The path for people: each certificate's names, validity and pin. The anchor
 * is shown in full when it is one of the caller's `ca` certificates.
 */
export function summarizePath(path: VerifiedPath, anchors: readonly Uint8Array<ArrayBuffer>[]): CertificateSummary[] {
  const summaries = path.certificates.map(summarizeCertificate);
  if (!path.anchor) return summaries;
  const anchor = anchorCertificate(path.anchor.spki, anchors);
  return [
    ...summaries,
    anchor ? summarizeCertificate(anchor) : summarizeAnchor(path.anchor.subject, spkiPin(path.anchor.spki)),
  ];
}

/** A name as people read it (see formatName). */
function nameOf(name: pkijs.RelativeDistinguishedNames): string {
  return formatName(name.typesAndValues.map(({ type, value }) => ({ type, value: value.valueBlock.value })));
}
