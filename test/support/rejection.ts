import { expect } from "vitest";

import { PinnedFetchError } from "../../src/index.js";

/** The PinnedFetchError `promise` rejects with; fails the test if it resolves or rejects otherwise. */
export async function rejection(promise: Promise<unknown>): Promise<PinnedFetchError> {
  const error = await promise.then(
    () => expect.unreachable("it succeeded"),
    (error: unknown) => error,
  );
  expect(error).toBeInstanceOf(PinnedFetchError);
  expect(error).toBeInstanceOf(TypeError);
  return error as PinnedFetchError;
}
