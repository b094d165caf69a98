// Distinguished names as people read them. Free of any parser, so that the
// client identity reader (which runs when options are checked) can use it
// without loading pkijs, as ./summary.ts does only on demand.

const SHORT_NAMES: Record<string, string> = {
  "2.5.4.3": "CN",
  "2.5.4.6": "C",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
};

/** An RFC 4514-style name (`CN=…, O=…`), most specific part first, from its attributes in DER order. */
export function formatName(attributes: readonly { type: string; value: unknown }[]): string {
  return attributes
    .map(({ type, value }) => `${SHORT_NAMES[type] ?? type}=${value}`)
    .reverse()
    .join(", ");
}
