// The conformance scenarios in Node, under vitest. Node's LTS line, Deno and
// Bun run the same scenarios through test/conformance/harness/cross-runtime.ts.
import { afterAll, describe, it } from "vitest";

import { type Fixture, fixtureOf } from "./conformance/harness/description.js";
import { type RunningFixture, startFixture } from "./conformance/harness/fixture.js";
import { groups } from "./conformance/index.js";

// Started before the tests are collected: some scenarios take their time limit from it.
const running: RunningFixture = await startFixture();
const fixture: Fixture = fixtureOf(running.description, "node");
afterAll(() => running.close());

for (const group of groups) {
  describe(group.name, () => {
    for (const scenario of group.scenarios) it(scenario.name, () => scenario.run(fixture), scenario.timeout?.(fixture));
  });
}
