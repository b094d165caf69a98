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
  // A walk over the DER headers: this runs for every certificate of every handshake, and a full parse costs more than the rest of the pin check.
  const certificate = derValue(der, 0, SEQUENCE);
  const tbs = derValue(der, certificate.start, SEQUENCE);
  let at = tbs.start;
  // TBSCertificate: [0] version (optional), serial, signature, issuer, validity, subject, spki, ...
  if (der[at] === VERSION) at = derValue(der, at, VERSION).end;
  for (let field = 0; field < 5; field++) at = derValue(der, at).end;
  return der.subarray(at, derValue(der, at, SEQUENCE).end);
}

const SEQUENCE = 0x30;
const VERSION = 0xa0;

/** The DER value at `at` (with tag `tag`, if given): where its contents start and where it ends. */
function derValue(der: Uint8Array, at: number, tag?: number): { start: number; end: number } {
  const first = der[at + 1];
  if (first === undefined || (tag !== undefined && der[at] !== tag)) throw new Error("not an X.509 certificate");
  let start = at + 2;
  let length = first;
  if (first & 0x80) {
    const octets = first & 0x7f;
    if (octets === 0 || octets > 4) throw new Error("not an X.509 certificate");
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + (der[start++] ?? Number.NaN);
  }
  const end = start + length;
  if (!(end <= der.length)) throw new Error("not an X.509 certificate");
  return { start, end };
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
