// The first request of a fresh process: run.ts times this script from spawn
// to its one line. `pinned-fetch` and each of the runtime's pin-capable
// clients (common.ts's BASELINES) load only their own client (so pinned-fetch's
// engine loading counts, and undici's import); pinned-fetch is the built
// package (dist/, which run.ts builds first), as users import it. `none` makes
// no request at all and times the runtime's start alone.
//   <runtime> scripts/bench/first.ts pinned-fetch|<baseline>|none '<target json>'
import { type Client, type Target, benchRuntime, pathOf } from "./common.js";

const [name, json] = process.argv.slice(2) as [string, string];
const target = JSON.parse(json) as Target;
let client: Client | undefined;
if (name === "pinned-fetch") {
  // Through unknown: the built declarations are a separate copy, and classes with private fields never match one.
  const built = (await import("../../dist/index.js")) as unknown as typeof import("../../src/index.js");
  client = (await import("./pinned.js")).pinnedClient(target, "close", built.createPinnedFetch);
} else if (name !== "none") client = await (await import("./native.js")).nativeClient(name, target, "close");
const length = client ? await client.get(pathOf("/bytes/1024", `${benchRuntime}/first/${name}`)) : 1024;
console.log(JSON.stringify({ name, length }));
process.exit(length === 1024 ? 0 : 1);
