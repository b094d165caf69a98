// PEM blocks as an identity's `cert` and `key` hold them (RFC 7468), with the
// RFC 1421 headers that mark OpenSSL's legacy key encryption.
import { fromBase64, pemSections } from "../../encoding.js";
import { refuse } from "./refusal.js";

export interface PemBlock {
  label: string;
  der: Uint8Array<ArrayBuffer>;
  /** Whether the block has a `Proc-Type: 4,ENCRYPTED` header (OpenSSL's legacy PEM encryption). */
  legacyEncrypted: boolean;
}

const HEADER = /^[A-Za-z-]+:.*$/gm;

/** Every PEM block of `text`; a block whose body is not base64 is refused, naming what it is (`what`). */
export function pemBlocks(text: string, what: string): PemBlock[] {
  return pemSections(text).map(({ label, body }) => {
    const legacyEncrypted = /^Proc-Type:\s*4,\s*ENCRYPTED/m.test(body);
    const der = fromBase64(body.replace(HEADER, "").replace(/\s+/g, ""));
    if (!der) refuse(`${what} has a ${label} block that is not base64.`);
    return { label, der, legacyEncrypted };
  });
}
