// The loader's check of the engine's ABI version: an engine that speaks
// another version than the code (or none) is refused as ERR_CONFIG before it
// answers anything, and the committed engine speaks the code's. And the
// binding's client identities, whose refusals are numbers of the ABI.
import { expect, it } from "vitest";

import { PinnedFetchError } from "../src/errors.js";
import { checkAbiVersion, loadEngine } from "../src/tls/engine.js";
import { ABI_VERSION, IdentityRefusal, KeyFormat } from "../src/tls/wire.js";
import { issue } from "./support/pki.js";

it("refuses an engine of another ABI version, or of none, as ERR_CONFIG", () => {
  for (const version of [ABI_VERSION + 1, ABI_VERSION - 1, undefined]) {
    let refused: unknown;
    try {
      checkAbiVersion(version);
    } catch (error) {
      refused = error;
    }
    expect(refused, `version ${version}`).toBeInstanceOf(PinnedFetchError);
    expect((refused as PinnedFetchError).code).toBe("ERR_CONFIG");
    expect((refused as PinnedFetchError).message).toContain("the package's engine and code disagree");
  }
});

it("loads the committed engine, which speaks the code's ABI version", async () => {
  expect(() => checkAbiVersion(ABI_VERSION)).not.toThrow();
  await expect(loadEngine()).resolves.toBeDefined();
});

it("makes a client identity of a key and its certificate, and names why it refuses one", async () => {
  const engine = await loadEngine();
  const [client, other] = await Promise.all([issue({ commonName: "client" }), issue({ commonName: "other" })]);
  const key = new Uint8Array(Buffer.from(client.keyPem.replace(/-----[^-]+-----/g, ""), "base64"));
  const given = key.slice();

  const made = engine.newIdentity(KeyFormat.Pkcs8, key, [client.der]);
  expect(key, "the caller's key is left as it was").toEqual(given);
  if (!("identity" in made)) throw new Error(`refused: ${made.refusal}`);
  const config = engine.newConfig([], made.identity);
  expect(config).not.toBeNull();
  engine.freeIdentity(made.identity);
  engine.freeConfig(config!);
  // A freed identity is unknown: a config cannot present it.
  expect(engine.newConfig([], made.identity)).toBeNull();

  expect(engine.newIdentity(KeyFormat.Pkcs8, key, [other.der])).toEqual({ refusal: IdentityRefusal.KeyMismatch });
  expect(engine.newIdentity(KeyFormat.Pkcs8, key.subarray(1), [client.der])).toEqual({
    refusal: IdentityRefusal.Unparsable,
  });
  expect(engine.newIdentity(KeyFormat.Pkcs1, key, [client.der])).toEqual({ refusal: IdentityRefusal.Unparsable });
});
