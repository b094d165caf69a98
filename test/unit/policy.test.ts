// PinPolicy.pinsFor: the pins in force for a host at a moment, which it remembers per host only while no rule of
// that host starts or stops being in force (the clock may also be read out of order).
import { describe, expect, it } from "vitest";

import { PinPolicy } from "../../src/pins/policy.js";

const pin = (byte: number) => `sha256/${Buffer.alloc(32, byte).toString("base64")}`;
const EXPIRES = Date.parse("2027-01-01T00:00:00Z");

describe("PinPolicy.pinsFor", () => {
  const policy = new PinPolicy({
    "api.example.com": { pins: [pin(1), pin(2)], expires: new Date(EXPIRES).toISOString() },
    "*.example.com": [pin(3), pin(4)],
  });
  const keyAt = (host: string, now: number) => policy.pinsFor(host, now)?.key;

  it("drops an expired rule's pins at its expiry, and has them again for an earlier moment", () => {
    const both = keyAt("api.example.com", EXPIRES - 1000);
    const after = keyAt("api.example.com", EXPIRES);
    expect(both).toContain(pin(1).slice("sha256/".length));
    expect(after).not.toContain(pin(1).slice("sha256/".length));
    expect(after).toContain(pin(3).slice("sha256/".length));
    expect(keyAt("api.example.com", EXPIRES + 1000)).toBe(after);
    expect(keyAt("api.example.com", EXPIRES - 1)).toBe(both);
    expect(keyAt("api.example.com", EXPIRES - 1000)).toBe(both);
  });

  it("answers each host by its own rules, and none for a host no rule covers", () => {
    expect(keyAt("www.example.com", EXPIRES - 1000)).toBe(keyAt("www.example.com", EXPIRES + 1000));
    expect(keyAt("www.example.com", EXPIRES - 1000)).not.toContain(pin(1).slice("sha256/".length));
    expect(policy.pinsFor("example.org", EXPIRES - 1000)).toBeUndefined();
  });

  it("still answers rightly after more hosts than it remembers", () => {
    for (let index = 0; index < 600; index++) policy.pinsFor(`h${index}.example.com`, EXPIRES - 1000);
    expect(keyAt("api.example.com", EXPIRES - 1000)).toContain(pin(1).slice("sha256/".length));
    expect(keyAt("api.example.com", EXPIRES)).not.toContain(pin(1).slice("sha256/".length));
  });
});
