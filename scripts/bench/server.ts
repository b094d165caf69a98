// The benchmark's TLS server, in a process of its own so that it takes no
// CPU from the client being measured. Prints {port, ca, pins} as one JSON
// line; when its stdin closes, prints its counters and exits.
import { createPki } from "../../test/support/pki.js";
import { pinOf, startHttpsServer } from "../../test/support/servers.js";

const pki = await createPki();
const server = await startHttpsServer({ chain: [pki.leaf, pki.intermediate], key: pki.leaf, resumption: false });
console.log(JSON.stringify({ port: server.port, ca: pki.root.certPem, pins: [pinOf(pki.leaf), pinOf(pki.intermediate)] }));
process.stdin.resume();
process.stdin.on("end", async () => {
  console.log(JSON.stringify({ connections: server.connections, resumed: server.resumed, requests: server.requests }));
  await server.close();
  process.exit(0);
});
