// Deno.serve and Bun.serve as test servers: runtime-serve.ts run by the
// `deno` or `bun` dev dependency's binary.
import { fileURLToPath } from "node:url";

import { type ChildServer, startChildServer } from "./child-server.js";
import type { Issued } from "./pki.js";
import { BUN, CHILD_ENV, DENO, ROOT, denoRun } from "./runtimes.js";

const SCRIPT = fileURLToPath(new URL("runtime-serve.ts", import.meta.url));

/** Starts `Deno.serve` or `Bun.serve` on 127.0.0.1 with the chain (leaf first) and key given. */
export function startServe(
  runtime: "deno" | "bun",
  options: { chain: readonly Issued[]; key: Issued },
): Promise<ChildServer> {
  const env = {
    ...CHILD_ENV,
    CERT_PEM: options.chain.map((issued) => issued.certPem).join(""),
    KEY_PEM: options.key.keyPem,
  };
  // Deno finds the `.ts` files behind `.js` specifiers with sloppy imports, as it runs the scenarios.
  const [binary, args] =
    runtime === "deno"
      ? [DENO, denoRun(["127.0.0.1"], "--allow-env=CERT_PEM,KEY_PEM", "--unstable-sloppy-imports", SCRIPT)]
      : [BUN, [SCRIPT]];
  return startChildServer(binary, args, { env, cwd: ROOT });
}
