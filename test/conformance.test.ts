// The conformance scenarios in Node, under vitest. Deno and Bun run the same
// scenarios through test/conformance/cross-runtime.ts.
import { afterAll, beforeAll, describe, it } from "vitest";

import { type Fixture, fixtureOf } from "./conformance/description.js";
import { type RunningFixture, startFixture } from "./conformance/fixture.js";
import { groups } from "./conformance/index.js";

let running: RunningFixture;
let fixture: Fixture;
beforeAll(async () => {
  running = await startFixture();
  fixture = fixtureOf(running.description, "node");
});
afterAll(() => running.close());

for (const group of groups) {
  describe(group.name, () => {
    for (const scenario of group.scenarios) it(scenario.name, () => scenario.run(fixture));
  });
}
