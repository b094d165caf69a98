// Built-in modules that only some paths need, loaded on their first use:
// importing node:zlib (with the node:stream it stands on) costs more at
// startup than the rest of the HTTP layer, in Bun above all, and most
// processes never see a compressed body or a compressed WebSocket message.
// process.getBuiltinModule is synchronous, and Node 20.16+, Deno and Bun have
// it (the global process: importing node:process costs Node more than zlib).

export function zlib(): typeof import("node:zlib") {
  return process.getBuiltinModule("node:zlib");
}

export function stream(): typeof import("node:stream") {
  return process.getBuiltinModule("node:stream");
}
