// Built-in modules that only some paths need, loaded on their first use:
// importing node:zlib (with the node:stream it stands on) costs more at
// startup than the rest of the HTTP layer, in Bun above all (BENCHMARKS.md,
// "Figures behind design choices"), and most processes never see a
// compressed body or a compressed WebSocket message. process.getBuiltinModule
// is synchronous; Node has it from 20.16, and the Deno and Bun tested do
// (the global process: importing node:process costs Node more than zlib).
import { PinnedFetchError } from "../errors.js";

let zlibModule: typeof import("node:zlib") | undefined;
let streamModule: typeof import("node:stream") | undefined;

export function zlib(): typeof import("node:zlib") {
  return (zlibModule ??= builtin<typeof import("node:zlib")>("node:zlib"));
}

export function stream(): typeof import("node:stream") {
  return (streamModule ??= builtin<typeof import("node:stream")>("node:stream"));
}

function builtin<T>(name: "node:zlib" | "node:stream"): T {
  if (typeof process?.getBuiltinModule !== "function") {
    throw new PinnedFetchError(
      "ERR_CONFIG",
      `This runtime has no process.getBuiltinModule, which pinned-fetch needs to load ${name} for a compressed ` +
        "body or WebSocket message: use Node 20.16 or later, or a current Deno or Bun.",
    );
  }
  return process.getBuiltinModule(name) as T;
}
