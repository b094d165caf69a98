import type { Runtime } from "./types.js";

export type { ConnectOptions, Runtime, Socket } from "./types.js";

let detected: Promise<Runtime> | undefined;

/**
 * The adapter for the runtime we run in. Imported on demand so that no
 * runtime loads another's modules.
 */
export function detectRuntime(): Promise<Runtime> {
  detected ??= import("./node.js").then((module) => module.nodeRuntime);
  return detected;
}
