// An HTTPS server from the runtime that runs this file, for the HTTP/2
// scenarios: `Deno.serve` (which answers ALPN h2) or `Bun.serve` (http/1.1
// only). Started by ./http2-servers.ts with the certificate chain and key as
// PEM in CERT_PEM and KEY_PEM; it prints its port and exits when its stdin
// closes. Routes:
//   /hello               HELLO
//   /echo                the request body, as it came
//   /pattern/N           N bytes of the pattern (content.ts)
//   /held?group&total=N  held until the group has had N requests, then HELLO
//   /report/<group>      the client ports the group's requests came from, as JSON: one port per connection
import process from "node:process";

import { HELLO, patternChunk } from "./content.js";

interface Listening {
  port: number;
}
type Handler = (request: Request, client: { port: number }) => Response | Promise<Response>;
interface DenoServe {
  serve(
    options: { hostname: string; port: number; cert: string; key: string; onListen(address: Listening): void },
    handler: (request: Request, info: { remoteAddr: { port: number } }) => Response | Promise<Response>,
  ): unknown;
}
interface BunServer {
  requestIP(request: Request): { port: number } | null;
}
interface BunServe {
  serve(options: {
    hostname: string;
    port: number;
    tls: { cert: string; key: string };
    fetch(request: Request, server: BunServer): Response | Promise<Response>;
  }): Listening;
}

/** Per group: the client port of each request, and the requests held until the group is complete. */
const groups = new Map<string, { ports: number[]; held: (() => void)[] }>();

const answer: Handler = async (request, client) => {
  const url = new URL(request.url);
  const group = url.searchParams.get("group");
  if (url.pathname.startsWith("/report/")) {
    return Response.json({ ports: groups.get(url.pathname.slice("/report/".length))?.ports ?? [] });
  }
  if (group !== null) {
    const record = groups.get(group) ?? { ports: [], held: [] };
    groups.set(group, record);
    record.ports.push(client.port);
    if (url.pathname === "/held") {
      await new Promise<void>((resolve) => {
        record.held.push(resolve);
        if (record.ports.length >= Number(url.searchParams.get("total"))) for (const release of record.held) release();
      });
    }
  }
  if (url.pathname === "/echo") return new Response(await request.arrayBuffer());
  if (url.pathname.startsWith("/pattern/")) {
    return new Response(patternChunk(0, Number(url.pathname.slice("/pattern/".length))));
  }
  return new Response(HELLO, { headers: { "content-type": "text/plain" } });
};

const cert = process.env.CERT_PEM ?? "";
const key = process.env.KEY_PEM ?? "";
const hostname = "127.0.0.1";
const { Deno, Bun } = globalThis as unknown as { Deno?: DenoServe; Bun?: BunServe };

if (Deno) {
  Deno.serve({ hostname, port: 0, cert, key, onListen: ({ port }) => console.log(port) }, (request, info) =>
    answer(request, info.remoteAddr),
  );
} else if (Bun) {
  const server = Bun.serve({
    hostname,
    port: 0,
    tls: { cert, key },
    fetch: (request, bun) => answer(request, bun.requestIP(request) ?? { port: 0 }),
  });
  console.log(server.port);
} else {
  throw new Error("runtime-http2.ts runs in Deno or Bun");
}
process.stdin.on("end", () => process.exit(0)).resume();
