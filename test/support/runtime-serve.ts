// An HTTPS server from the runtime that runs this file, `Deno.serve` or
// `Bun.serve`: the runtimes' own TLS as a server, for the key-exchange
// scenarios. Started by ./serve.ts with the certificate chain
// and key as PEM in CERT_PEM and KEY_PEM. It prints its port, answers every
// request with 200 and HELLO, and exits when its stdin closes.
import process from "node:process";

import { HELLO } from "./content.js";

interface Listening {
  port: number;
}
type Handler = () => Response;
interface DenoServe {
  serve(
    options: { hostname: string; port: number; cert: string; key: string; onListen(address: Listening): void },
    handler: Handler,
  ): unknown;
}
interface BunServe {
  serve(options: { hostname: string; port: number; tls: { cert: string; key: string }; fetch: Handler }): Listening;
}

const cert = process.env.CERT_PEM ?? "";
const key = process.env.KEY_PEM ?? "";
const hostname = "127.0.0.1";
const answer: Handler = () => new Response(HELLO, { headers: { "content-type": "text/plain" } });
const { Deno, Bun } = globalThis as unknown as { Deno?: DenoServe; Bun?: BunServe };

if (Deno) {
  Deno.serve({ hostname, port: 0, cert, key, onListen: ({ port }) => console.log(port) }, answer);
} else if (Bun) {
  console.log(Bun.serve({ hostname, port: 0, tls: { cert, key }, fetch: answer }).port);
} else {
  throw new Error("runtime-serve.ts runs in Deno or Bun");
}
process.stdin.on("end", () => process.exit(0)).resume();
