// NO_PROXY as curl and undici read it: which hosts and ports go directly instead of through HTTPS_PROXY. No
// sockets; hosts are given in canonical form, as connections have them.
import { describe, expect, it } from "vitest";

import { NoProxy } from "../../src/dial/proxy/no-proxy.js";

/** [NO_PROXY, host, port, whether it goes directly] */
type Case = [string, string, number, boolean];

describe("NoProxy", () => {
  const normal: Case[] = [
    ["example.com", "example.com", 443, true],
    ["example.com", "api.example.com", 443, true],
    ["example.com", "a.b.example.com", 8443, true],
    [".example.com", "example.com", 443, true],
    [".example.com", "api.example.com", 443, true],
    ["*.example.com", "example.com", 443, true],
    ["*.example.com", "api.example.com", 443, true],
    ["example.com", "other.com", 443, false],
    ["example.com:8443", "api.example.com", 8443, true],
    ["example.com:8443", "example.com", 443, false],
    ["127.0.0.1", "127.0.0.1", 443, true],
    ["[::1]", "::1", 443, true],
    ["[::1]:8443", "::1", 8443, true],
    ["[::1]:8443", "::1", 443, false],
    ["*", "anything.example", 1, true],
    ["other.com, *", "example.com", 443, true],
    ["a.com,b.com c.com\td.com", "c.com", 443, true],
    ["a.com,b.com c.com\td.com", "d.com", 443, true],
  ];
  it.each(normal)("%j: %s port %d goes directly: %s", (value, host, port, direct) => {
    expect(new NoProxy(value).covers(host, port)).toBe(direct);
  });

  const edges: Case[] = [
    // Compared as canonical hosts: case, a trailing dot, IPv6 spellings, IPv4-mapped IPv6.
    ["EXAMPLE.Com.", "api.example.com", 443, true],
    ["::1", "::1", 443, true],
    ["0:0:0:0:0:0:0:1", "::1", 443, true],
    ["::ffff:127.0.0.1", "127.0.0.1", 443, true],
    // A suffix matches at a dot only.
    ["example.com", "notexample.com", 443, false],
    ["example.com", "example.com.evil.test", 443, false],
    ["api.example.com", "example.com", 443, false],
    // An IP address matches only itself: an entry whose last label is a number is a whole IPv4 address.
    ["127.0.0.1", "127.0.0.10", 443, false],
    ["0.0.1", "127.0.0.1", 443, false],
    ["0.0.1", "0.0.0.1", 443, true],
    // "*" exempts everything only as an entry of its own; inside a name it is a character.
    ["*example.com", "example.com", 443, false],
    ["*example.com", "api.example.com", 443, false],
    // Empty entries between separators are skipped.
    [" , ,example.com,, ", "example.com", 443, true],
    ["", "example.com", 443, false],
  ];
  it.each(edges)("%j: %s port %d goes directly: %s", (value, host, port, direct) => {
    expect(new NoProxy(value).covers(host, port)).toBe(direct);
  });

  // Entries that are not a host (with a port, if any) exempt nothing, and leave the others in force.
  const refused: Case[] = [
    ["10.0.0.0/8", "10.0.0.1", 443, false],
    ["10.0.0.0/8", "10.0.0.0", 443, false],
    ["example.com:https", "example.com", 443, false],
    ["example.com:", "example.com", 443, false],
    ["example.com:-1", "example.com", 443, false],
    ["a..example.com", "b.a..example.com", 443, false],
    ["https://example.com", "example.com", 443, false],
    ["user@example.com", "example.com", 443, false],
    ["[::1", "::1", 443, false],
    ["10.0.0.0/8,example.com", "example.com", 443, true],
  ];
  it.each(refused)("%j: %s port %d goes directly: %s", (value, host, port, direct) => {
    expect(new NoProxy(value).covers(host, port)).toBe(direct);
  });
});
