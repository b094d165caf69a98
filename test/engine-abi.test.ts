// The loader's check of the engine's ABI version: an engine that speaks
// another version than the code (or none) is refused as ERR_CONFIG before it
// answers anything, and the committed engine speaks the code's.
import { expect, it } from "vitest";

import { PinnedFetchError } from "../src/errors.js";
import { checkAbiVersion, loadEngine } from "../src/tls/engine.js";
import { ABI_VERSION } from "../src/tls/wire.js";

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
