// parsePin, table-driven: every form of pin users have, and what it refuses
// with which advice. No TLS: a pin is text in, digest out.
import { describe, expect, it } from "vitest";

import { PinnedFetchError } from "../../src/errors.js";
import { type Pin, parsePin } from "../../src/pins/pin.js";

const HOST = "api.example.com";

/** `length` bytes of `byte`, as standard base64 and as colon hex. */
function digest(byte: number, length: number) {
  const bytes = Buffer.alloc(length, byte);
  return {
    base64: bytes.toString("base64"),
    base64url: bytes.toString("base64url"),
    hex: bytes.toString("hex").toUpperCase(),
    colonHex: [...bytes].map((b) => b.toString(16).toUpperCase().padStart(2, "0")).join(":"),
  };
}

// 0xfb gives base64 with "+" and "/" (so base64url differs); 0xfc gives base64 that begins with "/".
const A256 = digest(0xfb, 32);
const SLASH256 = digest(0xfc, 32);
const A1 = digest(0x3c, 20);
const EMPTY_SHA256 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
const EMPTY_SHA256_HEX =
  "E3:B0:C4:42:98:FC:1C:14:9A:FB:F4:C8:99:6F:B9:24:27:AE:41:E4:64:9B:93:4C:A4:95:99:1B:78:52:B8:55";

describe("parsePin accepts", () => {
  const cases: [string, string, Pin][] = [
    [
      "sha256/<base64>",
      `sha256/${A256.base64}`,
      { kind: "spki-sha256", digest: A256.base64, text: `sha256/${A256.base64}` },
    ],
    [
      "curl's sha256//<base64>",
      `sha256//${A256.base64}`,
      { kind: "spki-sha256", digest: A256.base64, text: `sha256/${A256.base64}` },
    ],
    [
      "sha256/ with a digest that begins with /",
      `sha256/${SLASH256.base64}`,
      { kind: "spki-sha256", digest: SLASH256.base64, text: `sha256/${SLASH256.base64}` },
    ],
    [
      "curl's form of a digest that begins with /",
      `sha256//${SLASH256.base64}`,
      { kind: "spki-sha256", digest: SLASH256.base64, text: `sha256/${SLASH256.base64}` },
    ],
    [
      "bare base64 as SHA-256",
      A256.base64,
      { kind: "spki-sha256", digest: A256.base64, text: `sha256/${A256.base64}` },
    ],
    ["sha1/<base64>", `sha1/${A1.base64}`, { kind: "spki-sha1", digest: A1.base64, text: `sha1/${A1.base64}` }],
    [
      "surrounding whitespace",
      `  sha256/${A256.base64}\n`,
      { kind: "spki-sha256", digest: A256.base64, text: `sha256/${A256.base64}` },
    ],
    [
      "a SHA-256 fingerprint in colon hex",
      A256.colonHex,
      { kind: "cert-sha256", digest: A256.base64, text: `SHA256 Fingerprint=${A256.colonHex}` },
    ],
    [
      "openssl's SHA-256 line, in lower case",
      `sha256 Fingerprint=${A256.colonHex.toLowerCase()}`,
      { kind: "cert-sha256", digest: A256.base64, text: `SHA256 Fingerprint=${A256.colonHex}` },
    ],
    [
      "openssl's SHA-1 line",
      `SHA1 Fingerprint=${A1.colonHex}`,
      { kind: "cert-sha1", digest: A1.base64, text: `SHA1 Fingerprint=${A1.colonHex}` },
    ],
    [
      "a SHA-1 fingerprint in colon hex",
      A1.colonHex,
      { kind: "cert-sha1", digest: A1.base64, text: `SHA1 Fingerprint=${A1.colonHex}` },
    ],
  ];
  it.each(cases)("%s", (_, input, expected) => {
    expect(parsePin(input, HOST)).toEqual(expected);
  });
});

describe("parsePin refuses with ERR_CONFIG", () => {
  const MALFORMED = `Malformed pin for ${HOST}`;
  const cases: [string, unknown, string][] = [
    ["empty text", "", `${MALFORMED}: "".`],
    ["a value that is not text", 42, `${MALFORMED}: 42.`],
    ["an unknown algorithm", `sha384/${A256.base64}`, MALFORMED],
    ["a SHA-256 digest one byte short", `sha256/${digest(0xfb, 31).base64}`, MALFORMED],
    ["sha1/ with a SHA-256 digest", `sha1/${A256.base64}`, MALFORMED],
    ["base64 without its padding", `sha256/${A256.base64.replace(/=+$/, "")}`, `Did you mean sha256/${A256.base64}?`],
    ["base64url", `sha256/${A256.base64url}`, `Did you mean sha256/${A256.base64}?`],
    ["HPKP's header form", `pin-sha256="${A256.base64}"`, `Did you mean sha256/${A256.base64}?`],
    ["sha-256: as the prefix", `sha-256:${A256.base64}`, `Did you mean sha256/${A256.base64}?`],
    [
      "sha256: before a digest that begins with /",
      `sha256:${SLASH256.base64}`,
      `Did you mean sha256/${SLASH256.base64}?`,
    ],
    ["curl's sha256// with base64url", `sha256//${A256.base64url}`, `Did you mean sha256/${A256.base64}?`],
    ["a SHA-256 fingerprint without colons", A256.hex, `Did you mean ${A256.colonHex}?`],
    ["a SHA-1 fingerprint without colons", `SHA1 Fingerprint=${A1.hex}`, `Did you mean ${A1.colonHex}?`],
    ["colon hex of neither length", digest(0xab, 16).colonHex, MALFORMED],
    ["a SHA1 prefix on a SHA-256 fingerprint", `SHA1 Fingerprint=${A256.colonHex}`, MALFORMED],
    ["the SHA-256 of empty input", `sha256/${EMPTY_SHA256}`, "is the SHA-256 of empty input"],
    ["the SHA-256 of empty input as a fingerprint", EMPTY_SHA256_HEX, "is the SHA-256 of empty input"],
  ];
  it.each(cases)("%s", (_, input, message) => {
    let thrown: unknown;
    try {
      parsePin(input as string, HOST);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(PinnedFetchError);
    expect((thrown as PinnedFetchError).code).toBe("ERR_CONFIG");
    expect((thrown as PinnedFetchError).message).toContain(message);
  });

  it("names the host and suggests nothing when nothing fits", () => {
    expect(() => parsePin("not a pin", "other.example")).toThrow(
      /^Malformed pin for other\.example: "not a pin"\. Expected "sha256\/<base64>"/,
    );
  });
});
