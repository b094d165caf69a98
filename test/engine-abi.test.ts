// The loader's check of the engine's ABI version: an engine that speaks
// another version than the code (or none) is refused as ERR_CONFIG before it
// answers anything, and the committed engine speaks the code's. And the
// binding's client identities, whose refusals are numbers of the ABI, and the
// key exchange groups a config offers in its ClientHello.
import { expect, it } from "vitest";

import { PinnedFetchError } from "../src/errors.js";
import { checkAbiVersion, loadEngine } from "../src/tls/engine.js";
import { ABI_VERSION, groupName, Groups, IdentityRefusal, KeyFormat, Verdict } from "../src/tls/wire.js";
import { clientHelloOf } from "./support/hellos.js";
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

it("offers X25519MLKEM768 first with an X25519 share beside it, or the classical groups alone", async () => {
  const engine = await loadEngine();
  const verifier = { presented: () => Verdict.LeafMismatch, path: () => false, reported: () => {} };
  const offered = (groups?: Groups) => {
    const config = engine.newConfig([], 0, groups);
    if (config === null) throw new Error(`config refused for groups ${groups}`);
    const session = engine.newSession(config, "example.com", [], verifier)!;
    const hello = engine.receive(session, null).output!.slice();
    expect(engine.negotiated().keyExchange, "no group before the server answers").toBeNull();
    engine.freeSession(session);
    engine.freeConfig(config);
    const { supportedGroups, keyShares } = clientHelloOf(Buffer.from(hello))!;
    return { supportedGroups, keyShares };
  };
  const postQuantum = {
    supportedGroups: ["X25519MLKEM768", "X25519", "secp256r1", "secp384r1"],
    keyShares: [
      { group: "X25519MLKEM768", bytes: 1184 + 32 },
      { group: "X25519", bytes: 32 },
    ],
  };
  expect(offered()).toEqual(postQuantum);
  expect(offered(Groups.PostQuantumFirst)).toEqual(postQuantum);
  expect(offered(Groups.ClassicalOnly)).toEqual({
    supportedGroups: ["X25519", "secp256r1", "secp384r1"],
    keyShares: [{ group: "X25519", bytes: 32 }],
  });
  for (const unknown of [0, 3]) expect(engine.newConfig([], 0, unknown)).toBeNull();
});

it("names the key exchange groups by their IANA codes", () => {
  expect([0x11ec, 0x001d, 0x0017, 0x0018, 0x0019, 0x0200].map(groupName)).toEqual([
    "X25519MLKEM768",
    "X25519",
    "secp256r1",
    "secp384r1",
    "0x0019",
    "0x0200",
  ]);
});
