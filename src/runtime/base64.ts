import { Buffer } from "node:buffer";

/** The bytes of standard base64 `text`; node:buffer's decoder, which all three runtimes implement natively (`atob` is an order of magnitude slower on the engine; BENCHMARKS.md has the figures). */
export function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const bytes = Buffer.from(text, "base64");
  return new Uint8Array(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength);
}
