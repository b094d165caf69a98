import { PinnedFetchError } from "../errors.js";
import type { BuiltInRuntime, Runtime, RuntimeName } from "./types.js";

export type { BuiltInRuntime, ConnectOptions, Runtime, RuntimeName, Socket } from "./types.js";

/** Adapters are imported on demand, so that no runtime loads another's modules. */
const ADAPTERS: Record<RuntimeName, { available(): boolean; load(): Promise<BuiltInRuntime> }> = {
  deno: {
    available: () => typeof (globalThis as { Deno?: { connect?: unknown } }).Deno?.connect === "function",
    load: () => import("./deno.js").then((module) => module.denoRuntime),
  },
  bun: {
    available: () => typeof (globalThis as { Bun?: { connect?: unknown } }).Bun?.connect === "function",
    load: () => import("./bun.js").then((module) => module.bunRuntime),
  },
  node: {
    available: () =>
      typeof (globalThis as { process?: { versions?: { node?: unknown } } }).process?.versions?.node === "string",
    load: () => import("./node.js").then((module) => module.nodeRuntime),
  },
};

const loaded = new Map<RuntimeName, Promise<BuiltInRuntime>>();

/** The runtime we run in. Deno and Bun also provide Node's `process`, so they are asked first. */
function detectRuntime(): RuntimeName {
  for (const name of ["deno", "bun", "node"] as const) {
    if (ADAPTERS[name].available()) return name;
  }
  throw new PinnedFetchError("ERR_CONFIG", "pinned-fetch runs on Node, Deno and Bun, and found none of them here.");
}

/**
 * The adapter for `choice`: a runtime's name, an adapter of the caller's, or
 * (by default) the runtime we run in. Throws ERR_CONFIG at once for a name
 * that is unknown or not available here, or an object that is not an adapter.
 */
export function selectRuntime(choice: RuntimeName | Runtime | undefined): Promise<Runtime> {
  if (typeof choice === "object" && choice !== null) {
    const { connect, unrefTimer } = choice as Partial<Runtime>;
    if (typeof connect !== "function" || typeof unrefTimer !== "function") {
      throw new PinnedFetchError(
        "ERR_CONFIG",
        'runtime must be "node", "deno", "bun" or an object with connect and unrefTimer.',
      );
    }
    return Promise.resolve(choice);
  }
  return builtInRuntime(choice ?? detectRuntime());
}

/** The built-in adapter of the runtime we run in, for files and the environment, whatever adapter carries the sockets. */
export function hostRuntime(): Promise<BuiltInRuntime> {
  return builtInRuntime(detectRuntime());
}

function builtInRuntime(name: RuntimeName): Promise<BuiltInRuntime> {
  const adapter = Object.hasOwn(ADAPTERS, name) ? ADAPTERS[name] : undefined;
  if (!adapter) {
    throw new PinnedFetchError(
      "ERR_CONFIG",
      `runtime must be "node", "deno", "bun" or an adapter object, not ${JSON.stringify(name)}.`,
    );
  }
  if (!adapter.available()) {
    throw new PinnedFetchError(
      "ERR_CONFIG",
      `runtime "${name}" was asked for, but its APIs are not available in this runtime.`,
    );
  }
  let runtime = loaded.get(name);
  if (!runtime) loaded.set(name, (runtime = adapter.load()));
  return runtime;
}
