// canonicalHost and configuredHost: the one form every host is compared in, so that no spelling of a host escapes
// its pin rule, its NO_PROXY entry or its resolve entry. No sockets, no TLS.
import { describe, expect, it } from "vitest";

import { PinnedFetchError } from "../../src/errors.js";
import { authority, canonicalHost, configuredHost } from "../../src/host.js";

describe("canonicalHost", () => {
  const canonical: [string, string, string][] = [
    ["a name", "api.example.com", "api.example.com"],
    ["upper case", "API.Example.COM", "api.example.com"],
    ["a trailing dot", "example.com.", "example.com"],
    ["a single label", "LOCALHOST", "localhost"],
    ["an internationalized name, as punycode", "bücher.example", "xn--bcher-kva.example"],
    ["punycode as it is", "xn--bcher-kva.example", "xn--bcher-kva.example"],
    ["IPv4", "127.0.0.1", "127.0.0.1"],
    ["IPv4 with a part left out", "127.1", "127.0.0.1"],
    ["IPv4 in hexadecimal", "0x7f.0.0.1", "127.0.0.1"],
    ["IPv4 as one number", "2130706433", "127.0.0.1"],
    ["IPv6 without brackets", "::1", "::1"],
    ["IPv6 in brackets", "[::1]", "::1"],
    ["IPv6 written out", "0:0:0:0:0:0:0:1", "::1"],
    ["IPv6 in upper case", "2001:DB8::1", "2001:db8::1"],
    ["IPv4-mapped IPv6, dotted", "::ffff:127.0.0.1", "127.0.0.1"],
    ["IPv4-mapped IPv6, in hex and brackets", "[::ffff:7f00:1]", "127.0.0.1"],
    // A "*" is left to the caller: pin patterns and NO_PROXY read it themselves.
    ["a wildcard label", "*.example.com", "*.example.com"],
  ];
  it.each(canonical)("writes %s in one form", (_, host, expected) => {
    expect(canonicalHost(host)).toBe(expected);
  });

  const refused: [string, unknown][] = [
    ["the empty string", ""],
    ["an empty label", "a..b"],
    ["a leading dot", ".example.com"],
    ["two trailing dots", "example.com.."],
    ["a dot alone", "."],
    ["a port", "example.com:443"],
    ["IPv6 with a port", "[::1]:8443"],
    ["IPv6 with the default port, which the URL parser drops", "[::1]:443"],
    ["IPv6 with an empty port", "[::1]:"],
    ["a scheme", "https://example.com"],
    ["a path", "example.com/path"],
    ["a query", "example.com?q"],
    ["a fragment", "example.com#f"],
    ["credentials", "user@example.com"],
    ["a backslash", "example.com\\x"],
    ["a space", "exa mple.com"],
    ["a tab", "example.com\t"],
    ["an IPv4 address out of range", "256.0.0.1"],
    ["five numbers", "1.2.3.4.5"],
    ["an unclosed bracket", "[::1"],
    ["IPv6 that is not", "1:2:3:4:5:6:7:8:9"],
    ["a forbidden character", "exa<mple.com"],
    ["not a string", 443],
  ];
  it.each(refused)("refuses %s", (_, host) => {
    expect(canonicalHost(host as string)).toBeNull();
  });
});

describe("configuredHost", () => {
  it("is canonicalHost for a host in the options", () => {
    expect(configuredHost("API.Example.com.", "hostname")).toBe("api.example.com");
    expect(configuredHost("[::ffff:7f00:1]", "resolve")).toBe("127.0.0.1");
  });

  it.each(["", "example.com:443", "https://example.com/", "a..b"])(
    "refuses %j with ERR_CONFIG naming the option and the value",
    (host) => {
      let error: unknown;
      try {
        configuredHost(host, "hostname");
      } catch (thrown) {
        error = thrown;
      }
      expect(error).toBeInstanceOf(PinnedFetchError);
      expect((error as PinnedFetchError).code).toBe("ERR_CONFIG");
      expect((error as PinnedFetchError).message).toBe(
        `hostname names ${JSON.stringify(host)}, which is not a host name or IP address (give it without scheme, port or path).`,
      );
    },
  );
});

describe("authority", () => {
  it.each([
    ["example.com", 443, "example.com:443"],
    ["127.0.0.1", 8080, "127.0.0.1:8080"],
    ["::1", 3128, "[::1]:3128"],
  ] as const)("writes %s and %d as %s", (host, port, expected) => {
    expect(authority(host, port)).toBe(expected);
  });
});
