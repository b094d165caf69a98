// The few DER reading steps the key and PKCS#12 readers share, over asn1js.
import * as asn1js from "asn1js";

/** Parses one DER value with nothing after it; throws on anything else. */
export function parseDer(der: Uint8Array): asn1js.AsnType {
  const { result, offset } = asn1js.fromBER(der as Uint8Array<ArrayBuffer>);
  if (result.error || offset !== der.byteLength) throw new Error("not a single DER value");
  return result;
}

/** The elements of a SEQUENCE (or SET); throws for anything else. */
export function elements(value: unknown): asn1js.AsnType[] {
  if (!(value instanceof asn1js.Sequence || value instanceof asn1js.Set)) throw new Error("not a SEQUENCE");
  return value.valueBlock.value as asn1js.AsnType[];
}

export function oid(value: unknown): string {
  if (!(value instanceof asn1js.ObjectIdentifier)) throw new Error("not an OBJECT IDENTIFIER");
  return value.valueBlock.toString();
}

/** The contents of an OCTET STRING, or of an IMPLICIT one (`implicit`: its context tag); BER's constructed form joined. */
export function octets(value: unknown, implicit?: number): Uint8Array<ArrayBuffer> {
  if (!(value instanceof asn1js.BaseBlock)) throw new Error("not an OCTET STRING");
  const expected = implicit === undefined ? value instanceof asn1js.OctetString : contextTag(value) === implicit;
  if (!expected) throw new Error("not an OCTET STRING");
  if (value instanceof asn1js.Constructed || (value instanceof asn1js.OctetString && value.valueBlock.isConstructed)) {
    const chunks = (value.valueBlock as unknown as { value: unknown[] }).value.map((chunk) => octets(chunk));
    const joined = new Uint8Array(chunks.reduce((total, chunk) => total + chunk.length, 0));
    chunks.reduce((at, chunk) => (joined.set(chunk, at), at + chunk.length), 0);
    return joined;
  }
  return (value.valueBlock as unknown as { valueHexView: Uint8Array<ArrayBuffer> }).valueHexView;
}

/** The bytes of a BIT STRING that has no unused bits (a public key). */
export function bits(value: unknown): Uint8Array<ArrayBuffer> {
  if (!(value instanceof asn1js.BitString) || value.valueBlock.unusedBits !== 0) throw new Error("not a BIT STRING");
  return value.valueBlock.valueHexView as Uint8Array<ArrayBuffer>;
}

/** An INTEGER's magnitude without leading zero bytes (for comparing and measuring a key's numbers). */
export function unsigned(value: unknown): Uint8Array<ArrayBuffer> {
  if (!(value instanceof asn1js.Integer)) throw new Error("not an INTEGER");
  const bytes = value.valueBlock.valueHexView as Uint8Array<ArrayBuffer>;
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  return bytes.subarray(start);
}

/** A small non-negative INTEGER (a version, an iteration count). */
export function smallInteger(value: unknown): number {
  if (!(value instanceof asn1js.Integer)) throw new Error("not an INTEGER");
  const number = value.valueBlock.valueDec;
  if (!Number.isSafeInteger(number) || number < 0) throw new Error("not a small INTEGER");
  return number;
}

/** The context-specific tag number of a value, or null for a universal one. */
export function contextTag(value: asn1js.AsnType): number | null {
  return value.idBlock.tagClass === 3 ? value.idBlock.tagNumber : null;
}

/** The one value inside an explicit context-specific tag. */
export function explicit(value: asn1js.AsnType): asn1js.AsnType {
  const inner = value instanceof asn1js.Constructed ? value.valueBlock.value : [];
  if (inner.length !== 1) throw new Error("not an explicit tag");
  return inner[0]!;
}
