// How a check tells the values of options apart, and how a message shows one.

/**
 * An object literal (or one made with `Object.create(null)`), in any realm:
 * not a Map, array, class instance or null, whose entries would go unread.
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const prototype = Object.getPrototypeOf(value) as object | null;
  return prototype === null || Object.getPrototypeOf(prototype) === null;
}

/** A value as a message may show it: its kind, and a short string or a number itself. */
export function described(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "string")
    return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  if (typeof value === "function") return "a function";
  if (Array.isArray(value)) return value.length === 0 ? "an empty array" : "an array";
  if (typeof value === "object") {
    const kind = (Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null)?.constructor?.name;
    return kind && kind !== "Object" ? `${/^[AEIOU]/.test(kind) ? "an" : "a"} ${kind}` : "an object";
  }
  return typeof value === "symbol" ? "a symbol" : "undefined";
}
