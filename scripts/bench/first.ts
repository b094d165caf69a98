// The first request of a fresh process: run.ts times this script from spawn
// to its one line. `pinned-fetch` and each of the runtime's pin-capable
// clients (common.ts's BASELINES) load only their own client (so pinned-fetch's
// engine loading counts, and undici's import); pinned-fetch is the built
// package (dist/, which run.ts builds first), as users import it. `none` makes
// no request at all and times the runtime's start alone. Deno and Bun run this
// file; Node runs first.mjs, which imports the package before tsx compiles
// this file.
//   <runtime> scripts/bench/first.ts pinned-fetch|<baseline>|none '<target json>'
import { type Client, type Target, benchRuntime, pathOf } from "./common.js";

type Package = typeof import("../../src/index.js");

const [name, json] = process.argv.slice(2) as [string, string];

/** Makes the measure's one request; `built` is the package, imported already, when `name` is pinned-fetch. */
export async function firstRequest(built: unknown): Promise<never> {
  const target = JSON.parse(json) as Target;
  let client: Client | undefined;
  if (name === "pinned-fetch") {
    // Through unknown: the built declarations are a separate copy, and classes with private fields never match one.
    client = (await import("./pinned.js")).pinnedClient(target, "close", (built as Package).createPinnedFetch);
  } else if (name !== "none") client = await (await import("./native.js")).nativeClient(name, target, "close");
  const length = client ? await client.get(pathOf("/bytes/1024", `${benchRuntime}/first/${name}`)) : 1024;
  console.log(JSON.stringify({ name, length }));
  process.exit(length === 1024 ? 0 : 1);
}

if ("Deno" in globalThis || "Bun" in globalThis) {
  await firstRequest(name === "pinned-fetch" ? await import("../../dist/index.js") : undefined);
}
