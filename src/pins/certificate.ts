// What the handshake needs of a certificate, read by walking its DER
// headers: this runs for every handshake, before which loading a full X.509
// parser (pkijs, in ./summary.ts) would cost more than all the rest.
import { sha256 } from "@noble/hashes/sha2.js";

import { toBase64 } from "../encoding.js";

/** `sha256/<base64>` of a DER SubjectPublicKeyInfo: the OkHttp / HPKP pin. */
export function spkiPin(spki: Uint8Array): string {
  return `sha256/${toBase64(sha256(spki))}`;
}

/**
 * The DER SubjectPublicKeyInfo of a certificate, as its original bytes (a
 * pin must hash exactly what the server sent, not a re-encoding).
 */
export function certificateSpki(der: Uint8Array): Uint8Array {
  const at = tbsField(der, SPKI_FIELD);
  return der.subarray(at, derValue(der, at, SEQUENCE).end);
}

/** When the certificate is valid: its notBefore and notAfter. */
export function certificateValidity(der: Uint8Array): { notBefore: Date; notAfter: Date } {
  const validity = derValue(der, tbsField(der, VALIDITY_FIELD), SEQUENCE);
  const notBefore = derValue(der, validity.start);
  const notAfter = derValue(der, notBefore.end);
  return { notBefore: derTime(der, validity.start, notBefore), notAfter: derTime(der, notBefore.end, notAfter) };
}

/** Throws unless `der` is one DER certificate whose key and validity can be read, with nothing after it. */
export function checkCertificate(der: Uint8Array): void {
  if (derValue(der, 0, SEQUENCE).end !== der.length) throw new Error("not a single DER value");
  certificateSpki(der);
  certificateValidity(der);
}

const SEQUENCE = 0x30;
const VERSION = 0xa0;
const UTC_TIME = 0x17;
const GENERALIZED_TIME = 0x18;
// TBSCertificate: [0] version (optional), serial, signature, issuer, validity, subject, spki, ...
const VALIDITY_FIELD = 3;
const SPKI_FIELD = 5;

/** Where field `index` of the TBSCertificate starts (counting from the serial number). */
function tbsField(der: Uint8Array, index: number): number {
  const certificate = derValue(der, 0, SEQUENCE);
  let at = derValue(der, certificate.start, SEQUENCE).start;
  if (der[at] === VERSION) at = derValue(der, at, VERSION).end;
  for (let field = 0; field < index; field++) at = derValue(der, at).end;
  return at;
}

/** A UTCTime (YYMMDDHHMMSSZ, years 1950–2049) or GeneralizedTime (YYYYMMDDHHMMSSZ), as RFC 5280 encodes them. */
function derTime(der: Uint8Array, at: number, value: { start: number; end: number }): Date {
  const text = String.fromCharCode(...der.subarray(value.start, value.end));
  const utc = der[at] === UTC_TIME;
  if (!(utc || der[at] === GENERALIZED_TIME) || !(utc ? /^\d{12}Z$/ : /^\d{14}Z$/).test(text)) {
    throw new Error("not an X.509 certificate");
  }
  const digits = utc ? `${Number(text.slice(0, 2)) < 50 ? "20" : "19"}${text}` : text;
  const [year, month, day, hour, minute, second] = [0, 4, 6, 8, 10, 12].map((start, index) =>
    Number(digits.slice(start, index === 0 ? 4 : start + 2)),
  ) as [number, number, number, number, number, number];
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second));
}

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
