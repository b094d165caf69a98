// Every conformance scenario, in the order they run. Written once; run by
// vitest in Node (test/conformance.test.ts) and by harness/run.ts in Node's LTS line,
// Deno and Bun. The groups about HTTP run twice: over HTTP/1.1, then at the end
// over HTTP/2 against h2-only twins of their servers (harness/http2.ts).
import { bodies } from "./bodies.js";
import { certificates } from "./certificates.js";
import { clientCertificates } from "./client-certificates.js";
import type { Group } from "./harness/check.js";
import { overHttp2 } from "./harness/http2.js";
import { config } from "./config.js";
import { decoding } from "./decoding.js";
import { framing } from "./framing.js";
import { hostile } from "./hostile.js";
import { http } from "./http.js";
import { http2 } from "./http2.js";
import { keyExchange } from "./key-exchange.js";
import { libraries } from "./libraries.js";
import { limits } from "./limits.js";
import { cancellation, network } from "./network.js";
import { pins } from "./pins.js";
import { proxies } from "./proxy.js";
import { pool } from "./pool.js";
import { redirects } from "./redirects.js";
import { formats, patterns, reportOnly, rules, tooling, trust } from "./policy.js";
import { runtime } from "./runtime.js";
import { spellings } from "./spellings.js";
import { tls } from "./tls.js";
import { websocket } from "./websocket.js";
import { websocketServers } from "./websocket-servers.js";

export const groups: Group[] = [
  ...pins,
  certificates,
  formats,
  patterns,
  rules,
  reportOnly,
  trust,
  tooling,
  http,
  spellings,
  bodies,
  redirects,
  proxies,
  pool,
  http2,
  libraries,
  tls,
  keyExchange,
  clientCertificates,
  config,
  network,
  cancellation,
  framing,
  limits,
  decoding,
  runtime,
  websocket,
  websocketServers,
  hostile,
  // The groups about HTTP again, over HTTP/2 against h2-only twins of their servers.
  ...[http, spellings, bodies, redirects, libraries, limits, decoding].map((group) => overHttp2(group)),
  // One stream at a time: requests queue for connections, as they do over HTTP/1.1.
  overHttp2(pool, { tls13: "tls13OneStream" }),
];

/** The groups named (all when none are): for running a few while working on them. */
export function selectGroups(names: readonly string[]): Group[] {
  const unknown = names.filter((name) => !groups.some((group) => group.name === name));
  if (unknown.length > 0) throw new Error(`no conformance group named ${unknown.join(", ")}`);
  return names.length === 0 ? groups : groups.filter((group) => names.includes(group.name));
}
