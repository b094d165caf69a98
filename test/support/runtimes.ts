// The Deno and Bun binaries that `npm ci` installed (the `deno` and `bun`
// dev dependencies), called directly. Where a binary sits depends on whether
// the packages' install scripts ran (Bun's moves its binary out of the
// platform package), so the first candidate that runs is taken.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const MODULES = join(ROOT, "node_modules");

/**
 * The environment for every tool the tests start: no colours to parse, and
 * no update checks or telemetry that would reach beyond loopback.
 */
export const CHILD_ENV: NodeJS.ProcessEnv = {
  ...process.env,
  NO_COLOR: "1",
  DENO_NO_UPDATE_CHECK: "1",
  DO_NOT_TRACK: "1",
  npm_config_update_notifier: "false",
};

/** The binaries under each installed platform package of `scope` (npm installs only this platform's). */
function platformBinaries(scope: string, binary: string): string[] {
  const directory = join(MODULES, scope);
  return existsSync(directory) ? readdirSync(directory).map((name) => join(directory, name, binary)) : [];
}

function firstRunning(name: string, candidates: string[]): string {
  for (const candidate of candidates) {
    try {
      execFileSync(candidate, ["--version"], { stdio: "ignore", timeout: 10_000, env: CHILD_ENV });
      return candidate;
    } catch {
      // not there, or the placeholder left when install scripts did not run
    }
  }
  throw new Error(`no working ${name} binary in node_modules (tried ${candidates.join(", ")}): run npm ci`);
}

export const DENO = firstRunning("deno", [...platformBinaries("@deno", "deno"), join(MODULES, "deno", "deno")]);
export const BUN = firstRunning("bun", [
  ...platformBinaries("@oven", "bin/bun"),
  join(MODULES, "bun", "bin", "bun.exe"),
]);

/** The Node LTS line tested besides the Node that runs the tests. */
const NODE_LTS_VERSION = "24.22.3";

/**
 * Node's own binary of NODE_LTS_VERSION, as the npm package `node-<os>-<cpu>`
 * carries it, fetched into npm's cache on first use. Not a dev dependency:
 * its `node` command would shadow the user's Node in every npm script, and
 * npm would refuse to install it on other platforms.
 */
export function nodeLts(): string {
  const os = process.platform === "win32" ? "win" : process.platform;
  const spec = `node-${os}-${process.arch}@${NODE_LTS_VERSION}`;
  const printed = execFileSync("npm", ["exec", "--yes", `--package=${spec}`, "--", "node", "-p", "process.execPath"], {
    encoding: "utf8",
    timeout: 300_000,
    env: CHILD_ENV,
  });
  return firstRunning(`node ${NODE_LTS_VERSION}`, [printed.trim()]);
}

/** The version a runtime's binary reports ("v24.22.3", "deno 2.9.5 (stable, …)", "1.4.5"), as 1.2.3. */
export function versionOf(binary: string): string {
  const printed = execFileSync(binary, ["--version"], { encoding: "utf8", timeout: 10_000, env: CHILD_ENV });
  return /\d+\.\d+\.\d+/.exec(printed)?.[0] ?? printed.trim();
}

/** `deno run` with what pinned-fetch needs, network access to `hosts`, and nothing else unless `rest` grants it. */
export function denoRun(hosts: readonly string[], ...rest: string[]): string[] {
  return ["run", "--no-prompt", "--no-lock", `--allow-net=${hosts.join(",")}`, ...rest];
}
