// The observer the client-certificate scenarios rely on, proven against
// clients whose behaviour is known: Node's own TLS client with and without a
// certificate, and pinned-fetch aborting on a pin mismatch before it could
// send one. TLS 1.2 (plaintext) and TLS 1.3 (decrypted with the keylog).
import { once } from "node:events";
import { connect, type ConnectionOptions } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createPinnedFetch } from "../../src/index.js";
import type { Observation } from "../support/wire-observer.js";
import { CLIENT_AUTH, type Issued, issue } from "../support/pki.js";
import { type ClientAuthAnswer, type ClientAuthServer, startClientAuthServer } from "../support/servers.js";

let root: Issued;
let clientCa: Issued;
let clientIntermediate: Issued;
let client: Issued;
let chainedClient: Issued;
const servers: Partial<Record<"TLSv1.2" | "TLSv1.3", ClientAuthServer>> = {};

beforeAll(async () => {
  root = await issue({ commonName: "observer test root", ca: true });
  const serverLeaf = await issue({ commonName: "localhost", dnsNames: ["localhost"], issuer: root });
  clientCa = await issue({ commonName: "observer client CA", ca: true });
  clientIntermediate = await issue({ commonName: "observer client intermediate", ca: true, issuer: clientCa });
  client = await issue({ commonName: "observed client", issuer: clientCa, extendedKeyUsage: [CLIENT_AUTH] });
  chainedClient = await issue({
    commonName: "observed chained client",
    issuer: clientIntermediate,
    extendedKeyUsage: [CLIENT_AUTH],
  });
  for (const version of ["TLSv1.2", "TLSv1.3"] as const) {
    servers[version] = await startClientAuthServer({
      chain: [serverLeaf],
      key: serverLeaf,
      minVersion: version,
      maxVersion: version,
      clientCa: clientCa.certPem,
      require: false,
    });
  }
});

afterAll(() => Promise.all(Object.values(servers).map((server) => server.close())));

/** Connects with Node's client, asks once, and returns the answer (or the error) and the wire's observation. */
async function nodeClient(server: ClientAuthServer, options: ConnectionOptions) {
  const before = server.clientCertificates.length;
  const socket = connect({
    host: "127.0.0.1",
    servername: "localhost",
    port: server.port,
    ca: root.certPem,
    ...options,
  });
  let answer: ClientAuthAnswer | Error;
  try {
    await once(socket, "secureConnect");
    socket.write("GET / HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n");
    const chunks: Buffer[] = [];
    for await (const chunk of socket) chunks.push(chunk as Buffer);
    answer = JSON.parse(Buffer.concat(chunks).toString().split("\r\n\r\n")[1]!) as ClientAuthAnswer;
  } catch (error) {
    answer = error as Error;
    socket.destroy();
  }
  return { answer, observation: await settled(server, before) };
}

/** The observation of the connection after the first `before`, once it is decided (within about 5 s). */
async function settled(server: ClientAuthServer, before: number): Promise<Observation | undefined> {
  let observation: Observation | undefined;
  for (let attempt = 0; attempt < 500; attempt++) {
    const observations = server.clientCertificates;
    observation = observations[before];
    if (observations.length === before + 1 && observation?.verdict !== "pending") break;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return observation;
}

describe.each(["TLSv1.2", "TLSv1.3"] as const)("client certificate observer, %s", (version) => {
  const server = () => servers[version]!;

  it("sees a certificate Node's client sends", async () => {
    const { answer, observation } = await nodeClient(server(), { cert: client.certPem, key: client.keyPem });
    expect(observation).toEqual({ verdict: "sent", certificates: 1 });
    expect(answer).toEqual({ subject: "observed client", certificates: 1, resumed: false });
  });

  it("counts the intermediates sent with it", async () => {
    const cert = chainedClient.certPem + clientIntermediate.certPem;
    const { answer, observation } = await nodeClient(server(), { cert, key: chainedClient.keyPem });
    expect(observation).toEqual({ verdict: "sent", certificates: 2 });
    expect(answer).toMatchObject({ subject: "observed chained client", certificates: 2 });
  });

  // Node checks the server's name once its handshake is done: in TLS 1.2 its Certificate went before the
  // server's Finished; in TLS 1.3 it destroys the socket before its last flight is out, so nothing is to be seen.
  if (version === "TLSv1.2") {
    it("sees the certificate of a client that aborts once the handshake is done", async () => {
      const { answer, observation } = await nodeClient(server(), {
        cert: client.certPem,
        key: client.keyPem,
        checkServerIdentity: () => new Error("refused after the handshake"),
      });
      expect(answer).toBeInstanceOf(Error);
      expect(observation).toEqual({ verdict: "sent", certificates: 1 });
    });
  }

  it("sees an empty Certificate message from a client without one", async () => {
    const { answer, observation } = await nodeClient(server(), {});
    expect(observation).toEqual({ verdict: "empty", certificates: 0 });
    expect(answer).toMatchObject({ subject: "none", certificates: 0 });
  });

  it("sees no Certificate message from a client that aborts on a pin mismatch", async () => {
    const before = server().clientCertificates.length;
    const fetch = createPinnedFetch({
      ca: root.certPem,
      resolve: { localhost: "127.0.0.1" },
      pins: { localhost: ["sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="] },
      onWarning: () => {},
    });
    try {
      await expect(fetch(`https://localhost:${server().port}/`)).rejects.toMatchObject({ code: "ERR_PIN_MISMATCH" });
    } finally {
      await fetch.close();
    }
    expect(await settled(server(), before)).toEqual({ verdict: "none", certificates: 0 });
  });
});
