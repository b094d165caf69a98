// The Deno and Bun binaries that `npm ci` installed (the `deno` and `bun`
// dev dependencies), called directly: their platform packages carry working
// binaries whether or not install scripts ran.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** The one installed platform package of `scope` that holds `binary`. */
function installed(scope: string, binary: string): string {
  const directory = join(ROOT, "node_modules", scope);
  const found = existsSync(directory)
    ? readdirSync(directory).map((name) => join(directory, name, binary)).find((path) => existsSync(path))
    : undefined;
  if (!found) throw new Error(`no ${binary} under node_modules/${scope}: run npm ci`);
  return found;
}

export const DENO = installed("@deno", "deno");
export const BUN = installed("@oven", "bin/bun");

/**
 * `deno run` with what pinned-fetch needs: network access to `hosts` and
 * reading the engine under `readable`. `--unstable-sloppy-imports` lets the
 * sources' `.js` specifiers find their `.ts` files, as tsc and Bun do.
 */
export function denoRun(hosts: readonly string[], readable: string, ...rest: string[]): string[] {
  return ["run", "--no-prompt", "--no-lock", `--allow-net=${hosts.join(",")}`, `--allow-read=${readable}`, ...rest];
}
