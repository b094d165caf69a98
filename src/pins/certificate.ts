import { sha256 } from "@noble/hashes/sha2.js";
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";

import type { CertificateSummary } from "../errors.js";
import { toBase64 } from "./encoding.js";

/** `sha256/<base64>` of a DER SubjectPublicKeyInfo: the OkHttp / HPKP pin. */
export function spkiPin(spki: Uint8Array): string {
  return `sha256/${toBase64(sha256(spki))}`;
}

/**
 * The DER SubjectPublicKeyInfo of a certificate, as its original bytes (a
 * pin must hash exactly what the server sent, not a re-encoding).
 */
export function certificateSpki(der: Uint8Array<ArrayBuffer>): Uint8Array {
  const { result, offset } = asn1js.fromBER(der);
  const tbs = offset === -1 ? undefined : sequenceItems(result)?.[0];
  const fields = tbs && sequenceItems(tbs);
  // TBSCertificate: [0] version (optional), serial, signature, issuer, validity, subject, spki, ...
  const spki = fields?.[fields[0]?.idBlock.tagClass === 3 ? 6 : 5];
  if (!spki) throw new Error("not an X.509 certificate");
  return new Uint8Array(spki.valueBeforeDecodeView);
}

function sequenceItems(block: asn1js.AsnType): asn1js.AsnType[] | undefined {
  return block instanceof asn1js.Sequence ? (block.valueBlock.value as asn1js.AsnType[]) : undefined;
}

/** Parses a DER certificate; throws on anything else, trailing bytes included. */
export function parseCertificate(der: Uint8Array<ArrayBuffer>): pkijs.Certificate {
  const { result, offset } = asn1js.fromBER(der);
  if (offset !== der.byteLength) throw new Error("not a single DER value");
  return new pkijs.Certificate({ schema: result });
}

export function summarizeCertificate(der: Uint8Array<ArrayBuffer>): CertificateSummary {
  const certificate = parseCertificate(der);
  return {
    subject: formatName(certificate.subject),
    issuer: formatName(certificate.issuer),
    notBefore: certificate.notBefore.value,
    notAfter: certificate.notAfter.value,
    pin: spkiPin(certificateSpki(der)),
  };
}

/** A built-in root: only its name and key are known. */
export function summarizeAnchor(subject: Uint8Array<ArrayBuffer>, pin: string): CertificateSummary {
  const name = formatName(pkijs.RelativeDistinguishedNames.fromBER(subject));
  return { subject: name, issuer: name, pin };
}

const SHORT_NAMES: Record<string, string> = {
  "2.5.4.3": "CN",
  "2.5.4.6": "C",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
};

/** An RFC 4514-style name, most specific part first (`CN=…, O=…`). */
function formatName(name: pkijs.RelativeDistinguishedNames): string {
  return name.typesAndValues
    .map(({ type, value }) => `${SHORT_NAMES[type] ?? type}=${value.valueBlock.value}`)
    .reverse()
    .join(", ");
}
