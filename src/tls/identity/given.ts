// A client certificate option's shape, checked and copied when the options
// are: a mistake in it throws ERR_CONFIG at once, and a caller may wipe its
// bytes as soon as the fetch is made. Reading the certificates and the key
// (identity.ts, with its ASN.1 parser and ciphers) comes after, on first use.
import { PinnedFetchError } from "../../errors.js";
import { Refusal, refuse } from "./refusal.js";

/** An identity option, checked and copied: PKCS#12 bytes, or PEM text. */
export type GivenIdentity =
  { pfx: Uint8Array<ArrayBuffer>; passphrase: string } | { cert: string; key: string; passphrase: string | undefined };

const FIELDS = new Set(["cert", "key", "pfx", "passphrase"]);
const SHAPE = "an identity is { cert, key, passphrase? } (PEM) or { pfx, passphrase? } (PKCS#12 bytes)";
/** Far more than any certificate chain and key; bounds what a mistaken file can cost. */
const MAX_INPUT = 1 << 20;

/**
 * `{ cert, key, passphrase? }` (PEM) or `{ pfx, passphrase? }` (PKCS#12), checked for its shape and sizes and
 * copied. Throws ERR_CONFIG naming `label` and what is wrong.
 */
export function givenIdentity(given: unknown, label: string): GivenIdentity {
  try {
    return copied(given);
  } catch (error) {
    if (!(error instanceof Refusal)) throw error;
    throw new PinnedFetchError("ERR_CONFIG", `${label}: ${error.message}`);
  }
}

function copied(given: unknown): GivenIdentity {
  if (typeof given !== "object" || given === null) refuse(`${SHAPE}.`);
  const fields = given as Record<string, unknown>;
  const unknown = Object.keys(fields).find((field) => !FIELDS.has(field));
  if (unknown !== undefined) refuse(`unknown field ${JSON.stringify(unknown)}; ${SHAPE}.`);
  const { cert, key, pfx, passphrase } = fields;
  if (passphrase !== undefined && typeof passphrase !== "string") refuse("passphrase must be a string.");
  if (pfx !== undefined) {
    if (cert !== undefined || key !== undefined) refuse(`give either pfx or cert and key, not both; ${SHAPE}.`);
    const bytes = pfx instanceof ArrayBuffer ? new Uint8Array(pfx) : pfx instanceof Uint8Array ? pfx : null;
    if (!bytes) refuse("pfx must be the PKCS#12 file's bytes (a Uint8Array or ArrayBuffer), not text.");
    if (bytes.length > MAX_INPUT) refuse(`pfx is larger than ${MAX_INPUT} bytes, too large for an identity.`);
    return { pfx: new Uint8Array(bytes), passphrase: passphrase ?? "" };
  }
  if (cert === undefined || key === undefined) refuse(`both cert and key are needed; ${SHAPE}.`);
  return { cert: text(cert, "cert"), key: text(key, "key"), passphrase };
}

function text(value: unknown, field: string): string {
  if (typeof value !== "string" && !(value instanceof Uint8Array) && !(value instanceof ArrayBuffer)) {
    refuse(`${field} must be PEM text, as a string or bytes.`);
  }
  const length = typeof value === "string" ? value.length : value.byteLength;
  if (length > MAX_INPUT) refuse(`${field} is larger than ${MAX_INPUT} bytes, too large for an identity.`);
  return typeof value === "string" ? value : new TextDecoder().decode(value);
}
