// Bytes as text: base64, PEM and colon-hex, with the globals every runtime has. Pins, trust anchors and the
// proxy's credentials all use them, so they sit below every floor; so does joining pieces of bytes.

/** `pieces`, whose lengths add up to `size`, copied into one array. */
export function concatenate(pieces: readonly Uint8Array[], size: number): Uint8Array {
  const whole = new Uint8Array(size);
  let at = 0;
  for (const piece of pieces) {
    whole.set(piece, at);
    at += piece.length;
  }
  return whole;
}

/** Standard base64, with padding. */
export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** Strict standard base64 (with padding); null when `text` is not that. */
export function fromBase64(text: string): Uint8Array<ArrayBuffer> | null {
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) return null;
  return Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
}

const PEM_BOUNDARY = /-----(BEGIN|END) ([A-Z0-9 ]{1,64})-----/g;

/**
 * The blocks of PEM text in order, each its label and the text between its BEGIN and END lines. One pass over the
 * boundaries, so a hostile text costs linear time: a BEGIN before the open block's END abandons that block, and an
 * END of another label is no boundary.
 */
export function pemSections(pem: string): { label: string; body: string }[] {
  const sections: { label: string; body: string }[] = [];
  let open: { label: string; start: number } | null = null;
  for (const boundary of pem.matchAll(PEM_BOUNDARY)) {
    const [line, kind, label] = boundary as unknown as [string, string, string];
    if (kind === "BEGIN") open = { label, start: boundary.index + line.length };
    else if (open?.label === label) {
      sections.push({ label, body: pem.slice(open.start, boundary.index) });
      open = null;
    }
  }
  return sections;
}

/** The DER bodies of the CERTIFICATE blocks in `pem`; null if a block is not base64. */
export function pemCertificates(pem: string): Uint8Array<ArrayBuffer>[] | null {
  const ders: Uint8Array<ArrayBuffer>[] = [];
  for (const { label, body } of pemSections(pem)) {
    if (label !== "CERTIFICATE") continue;
    const der = fromBase64(body.replace(/\s+/g, ""));
    if (!der) return null;
    ders.push(der);
  }
  return ders;
}

/** Bytes as openssl prints a fingerprint: upper-case hex pairs joined by colons. */
export function toColonHex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).toUpperCase().padStart(2, "0")).join(":");
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, index) => byte === b[index]);
}
