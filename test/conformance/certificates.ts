// Certificate verification comes first: a matching pin never excuses an
// expired, misnamed or untrusted certificate, and the path is checked before
// the name. Each reason a chain is refused is named in the message. And pins
// follow the verified path, wherever webpki finds it.
import { type Group, HELLO, assert, local, rejection, withFetch } from "./harness/check.js";
import type { Fixture, ServerName } from "./harness/description.js";

const failsWith = (what: string, code: string, server: ServerName, pins: (fixture: Fixture) => string[]) => ({
  name: `${what} -> ${code}`,
  run: async (fixture: Fixture) => {
    const before = await fixture.stats(server);
    await withFetch(local(fixture, pins(fixture)), async (fetch) => {
      const error = await rejection(fetch(`https://localhost:${fixture.ports[server]}/hello`));
      assert.equal(error.code, code);
      assert.equal(error.host, "localhost");
    });
    assert.equal((await fixture.stats(server)).receivedBytes, before.receivedBytes);
  },
});

/**
 * A chain that the client's CA issued, but that breaks one rule: ERR_CERT_UNTRUSTED, with a message that names
 * the rule, and that neither says the chain leads nowhere nor asks for the CA the client passed.
 */
const refusedFor = (what: string, server: ServerName, says: RegExp) => ({
  name: `${what} -> ERR_CERT_UNTRUSTED, saying why`,
  run: (fixture: Fixture) =>
    withFetch(local(fixture, [fixture.pins.root]), async (fetch) => {
      const error = await rejection(fetch(`https://localhost:${fixture.ports[server]}/hello`));
      assert.equal(error.code, "ERR_CERT_UNTRUSTED");
      assert.match(error.message, says);
      assert.doesNotMatch(error.message, /does not chain|CA's certificate in `ca`|certificate of the CA that did/);
    }),
});

export const certificates: Group = {
  name: "certificate failures win over matching pins",
  scenarios: [
    failsWith("an expired leaf", "ERR_CERT_EXPIRED", "expired", (fixture) => [fixture.pins.intermediate]),
    failsWith("a leaf for another name", "ERR_CERT_HOSTNAME", "wrongName", (fixture) => [fixture.pins.intermediate]),
    failsWith("a leaf from an untrusted CA", "ERR_CERT_UNTRUSTED", "impostor13", (fixture) => [
      fixture.pins.otherLeaf,
      fixture.pins.otherIntermediate,
    ]),
    failsWith("a leaf whose signature does not verify", "ERR_CERT_UNTRUSTED", "forged", (fixture) => [
      fixture.pins.intermediate,
    ]),
    // The path comes first: a leaf that is both misnamed and untrusted is untrusted.
    failsWith("a leaf for another name from an untrusted CA", "ERR_CERT_UNTRUSTED", "wrongNameUntrusted", (fixture) => [
      fixture.pins.otherIntermediate,
    ]),
    failsWith("a leaf for another name, with pins that miss", "ERR_CERT_HOSTNAME", "wrongName", (fixture) => [
      fixture.pins.otherRoot,
    ]),
    refusedFor(
      "an intermediate whose name constraints exclude the leaf's name",
      "nameConstrained",
      /name constraints exclude/,
    ),
    refusedFor("an intermediate marked CA:FALSE", "notCa", /acts as a CA but is not one/),
    refusedFor("an intermediate without basicConstraints", "noBasicConstraints", /acts as a CA but is not one/),
    refusedFor("a leaf for client authentication only", "clientAuthOnly", /extended key usage lacks serverAuth/),
    refusedFor(
      "a leaf signed with SHA-1",
      "sha1",
      /signed with an algorithm that is refused.*\(UnsupportedSignatureAlgorithm\(1\.2\.840\.10045\.4\.1\)\)$/s,
    ),
    refusedFor("a CA certificate as the leaf", "caLeaf", /is a CA certificate \(CA:TRUE\)/),
    refusedFor("a leaf whose alternative names do not parse", "unparsableNames", /cannot be parsed/),
    {
      name: "verifies RSA (PKCS#1 and PSS), P-384 and Ed25519 signatures, in certificates and handshakes",
      run: (fixture) =>
        withFetch(local(fixture, [fixture.pins.root]), async (fetch) => {
          for (const server of ["rsa13", "rsa12", "p384", "ed25519"] as const) {
            assert.equal(await (await fetch(`https://localhost:${fixture.ports[server]}/hello`)).text(), HELLO, server);
          }
        }),
    },
    {
      name: "trusts Mozilla's roots, not a local test CA, when no ca is given",
      run: (fixture) =>
        withFetch({ resolve: { localhost: "127.0.0.1" } }, async (fetch) => {
          const error = await rejection(fetch(`https://localhost:${fixture.ports.tls13}/hello`));
          assert.equal(error.code, "ERR_CERT_UNTRUSTED");
        }),
    },
    {
      name: "tries another verified path when the first misses the pins (cross-signed intermediate)",
      run: (fixture) =>
        withFetch(
          {
            ca: [fixture.ca.root, fixture.ca.otherRoot],
            resolve: { localhost: "127.0.0.1" },
            pins: { localhost: [fixture.pins.otherRoot] },
          },
          async (fetch) => {
            assert.equal(await (await fetch(`https://localhost:${fixture.ports.crossSigned}/hello`)).text(), HELLO);
          },
        ),
    },
    {
      name: "verifies the URL's host, not the address `resolve` connects to",
      run: (fixture) =>
        withFetch(
          {
            ca: fixture.ca.root,
            pins: { "wrong.example": [fixture.pins.intermediate] },
            resolve: { "wrong.example": "127.0.0.1" },
          },
          async (fetch) => {
            assert.equal(await (await fetch(`https://wrong.example:${fixture.ports.wrongName}/hello`)).text(), HELLO);
          },
        ),
    },
  ],
};
