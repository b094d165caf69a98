// One runtime's side of the cold-request benchmark: a new TLS connection
// (full handshake) plus a 1 KiB GET, pinned-fetch against the runtime's own
// pin-capable client, interleaved in rounds so that drift hits both alike.
// Runs in Node, Deno and Bun:  <runtime> scripts/bench/client.ts '<json>'
// where the JSON holds the server's {port, ca, pins} and {rounds, requests}.
import { createHash, X509Certificate } from "node:crypto";
import { request as httpsRequest } from "node:https";
import { checkServerIdentity, type DetailedPeerCertificate, type PeerCertificate } from "node:tls";

import { createPinnedFetch } from "../../src/index.js";
import { detectRuntime } from "../../src/runtime/index.js";

interface Setup {
  port: number;
  ca: string;
  pins: string[];
  rounds: number;
  requests: number;
}

const setup = JSON.parse(process.argv[2]!) as Setup;
const url = `https://localhost:${setup.port}/bytes/1024`;
const runtime = detectRuntime();

// One instance, as an application holds it; `connection: close` makes every request open a new connection.
const pinnedFetch = createPinnedFetch({ pins: { localhost: setup.pins }, ca: setup.ca, resolve: { localhost: "127.0.0.1" } });
async function pinnedFetchCold(): Promise<void> {
  const response = await pinnedFetch(url, { headers: { connection: "close" } });
  expectKiB((await response.arrayBuffer()).byteLength);
}

/** Some certificate of the chain has a pinned key: the pin check as Node's documentation shows it. */
function pinCheck(host: string, certificate: PeerCertificate): Error | undefined {
  const error = checkServerIdentity(host, certificate);
  if (error) return error;
  for (let cert = certificate as DetailedPeerCertificate | undefined, depth = 0; cert && depth < 8; depth++) {
    const spki = new X509Certificate(cert.raw).publicKey.export({ type: "spki", format: "der" });
    if (setup.pins.includes(`sha256/${createHash("sha256").update(spki).digest("base64")}`)) return undefined;
    cert = cert.issuerCertificate === cert ? undefined : cert.issuerCertificate;
  }
  return new Error("pin mismatch");
}

/** Node's and Deno's pin-capable client: node:https with a checkServerIdentity pin, no agent. */
function nodeHttpsCold(): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(
      url,
      {
        agent: false,
        lookup: (_host, _options, callback) => callback(null, [{ address: "127.0.0.1", family: 4 }]),
        ca: setup.ca,
        checkServerIdentity: pinCheck,
      },
      (response) => {
        let length = 0;
        response.on("data", (chunk: Uint8Array) => (length += chunk.length));
        response.on("end", () => {
          try {
            resolve(expectKiB(length));
          } catch (error) {
            reject(error);
          }
        });
      },
    );
    request.on("error", reject);
    request.end();
  });
}

/** Bun's pin-capable client: its fetch with `tls.checkServerIdentity` (Bun passes the leaf only). */
async function bunFetchCold(): Promise<void> {
  const init = { keepalive: false, tls: { ca: setup.ca, checkServerIdentity: pinCheck } };
  const response = await fetch(url, init as RequestInit);
  expectKiB((await response.arrayBuffer()).byteLength);
}

function expectKiB(length: number): void {
  if (length !== 1024) throw new Error(`expected 1024 bytes, got ${length}`);
}

const native = runtime === "bun" ? { name: "fetch + tls.checkServerIdentity", run: bunFetchCold } : { name: "node:https + checkServerIdentity", run: nodeHttpsCold };
const contenders = { "pinned-fetch": pinnedFetchCold, [native.name]: native.run };
const samples: Record<string, number[]> = Object.fromEntries(Object.keys(contenders).map((name) => [name, []]));
for (const run of Object.values(contenders)) await run(); // warm up, and load the engine
for (let round = 0; round < setup.rounds; round++) {
  for (const [name, run] of Object.entries(contenders)) {
    for (let i = 0; i < setup.requests; i++) {
      const start = performance.now();
      await run();
      samples[name]!.push(performance.now() - start);
    }
  }
}
await pinnedFetch.close();
const version = runtime === "deno" ? (globalThis as unknown as { Deno: { version: { deno: string } } }).Deno.version.deno : runtime === "bun" ? (globalThis as unknown as { Bun: { version: string } }).Bun.version : process.versions.node;
console.log(JSON.stringify({ runtime, version, native: native.name, samples }));
process.exit(0);
