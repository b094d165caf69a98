// A pinned request to a local TLS server this demo starts itself, showing
// the pin check: first with the right pin, then with an impostor's.
import { connectTls, createPinnedFetch, PinnedFetchError } from "../src/index.js";
import { createPki } from "../test/support/pki.js";
import { pinOf, startHttpsServer } from "../test/support/servers.js";

const pki = await createPki();
const server = await startHttpsServer({ chain: [pki.leaf, pki.intermediate], key: pki.leaf });
const origin = `https://localhost:${server.port}`;
const pin = pinOf(pki.intermediate);
const options = { ca: pki.root.certPem, resolve: { localhost: "127.0.0.1" } };
console.log(`Started a TLS server at ${origin} with a certificate from a test CA made just now.\n`);

const connection = await connectTls({
  hostname: "localhost",
  resolve: { localhost: "127.0.0.1" },
  port: server.port,
  ca: options.ca,
});
console.log(`The verified path the server presents (${connection.protocol}):`);
connection.peerCertificates.forEach((certificate, index) => {
  const mark = certificate.pin === pin ? "  <- pinned" : "";
  console.log(`  ${index + 1}. ${certificate.subject}\n     ${certificate.pin}${mark}`);
});
await connection.close();

// The intermediate's pin, and the root's as a backup.
const fetch = createPinnedFetch({ ...options, pins: { localhost: [pin, pinOf(pki.root)] } });
const response = await fetch(`${origin}/hello`);
console.log(
  `\nPinned to the intermediate CA: ${response.status} ${response.statusText}, body "${await response.text()}"`,
);
await fetch.close();

const misled = createPinnedFetch({
  ...options,
  pins: { localhost: [pinOf(pki.otherIntermediate), pinOf(pki.otherRoot)] },
});
const requestsBefore = server.requests;
try {
  await misled(`${origin}/hello`);
  console.log("Unexpected: the request with the wrong pin succeeded.");
  process.exitCode = 1;
} catch (error) {
  if (!(error instanceof PinnedFetchError)) throw error;
  console.log(`\nPinned to another CA's key instead: rejected with ${error.code}.`);
  console.log(`The server received ${server.requests - requestsBefore} requests. The message says:\n`);
  console.log(error.message.replace(/^/gm, "  "));
}
await server.close();
