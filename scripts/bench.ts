// Cold request latency: a new TLS connection (full handshake, no resumption)
// plus a 1 KiB GET, pinned-fetch against Node's own pin-capable client
// (node:https with a checkServerIdentity pin), interleaved in rounds so that
// machine drift hits both alike. Loopback only.
//   npm run bench [-- --rounds 5 --requests 40]
import { createHash, X509Certificate } from "node:crypto";
import { request as httpsRequest } from "node:https";
import { checkServerIdentity, type DetailedPeerCertificate, type PeerCertificate } from "node:tls";

import { createPinnedFetch } from "../src/index.js";
import { createPki } from "../test/support/pki.js";
import { pinOf, startHttpsServer } from "../test/support/servers.js";

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const at = args.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(args[at + 1]);
};
const rounds = option("rounds", 5);
const requests = option("requests", 40);

const pki = await createPki();
const server = await startHttpsServer({ chain: [pki.leaf, pki.intermediate], key: pki.leaf });
const url = `https://localhost:${server.port}/bytes/1024`;
const pin = pinOf(pki.intermediate);
const leafPin = pinOf(pki.leaf);

async function pinnedFetchCold(): Promise<void> {
  // A new instance per request: its own session cache, so no resumption.
  const fetch = createPinnedFetch({ pins: { localhost: [pin, leafPin] }, ca: pki.root.certPem, resolve: { localhost: "127.0.0.1" } });
  const body = await (await fetch(url)).arrayBuffer();
  if (body.byteLength !== 1024) throw new Error("short body");
  await fetch.close();
}

function nodeHttpsCold(): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(
      url,
      {
        agent: false,
        lookup: (_host, _options, callback) => callback(null, [{ address: "127.0.0.1", family: 4 }]),
        ca: pki.root.certPem,
        checkServerIdentity(host: string, certificate: PeerCertificate) {
          const error = checkServerIdentity(host, certificate);
          if (error) return error;
          // The leaf and its issuers, as Node's own pinning example walks them.
          for (let cert = certificate as DetailedPeerCertificate, depth = 0; cert && depth < 8; cert = cert.issuerCertificate, depth++) {
            const spki = new X509Certificate(cert.raw).publicKey.export({ type: "spki", format: "der" });
            const certificatePin = `sha256/${createHash("sha256").update(spki).digest("base64")}`;
            if (certificatePin === pin || certificatePin === leafPin) return undefined;
            if (cert.issuerCertificate === cert) break;
          }
          return new Error("pin mismatch");
        },
      },
      (response) => {
        let length = 0;
        response.on("data", (chunk: Buffer) => (length += chunk.length));
        response.on("end", () => (length === 1024 ? resolve() : reject(new Error("short body"))));
      },
    );
    request.on("error", reject);
    request.end();
  });
}

const contenders = { "pinned-fetch": pinnedFetchCold, "node:https + pin": nodeHttpsCold };
const samples: Record<string, number[]> = { "pinned-fetch": [], "node:https + pin": [] };
for (const run of Object.values(contenders)) await run(); // warm up both
for (let round = 0; round < rounds; round++) {
  for (const [name, run] of Object.entries(contenders)) {
    for (let i = 0; i < requests; i++) {
      const start = performance.now();
      await run();
      samples[name]!.push(performance.now() - start);
    }
  }
}
await server.close();

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const baseline = median(samples["node:https + pin"]!);
console.log(`Cold request (new connection + 1 KiB GET), Node ${process.version}, ${rounds} rounds x ${requests}:`);
console.log("| client | median ms | ratio to node:https |\n|---|---|---|");
for (const [name, values] of Object.entries(samples)) {
  console.log(`| ${name} | ${median(values).toFixed(2)} | ${(median(values) / baseline).toFixed(2)}x |`);
}
