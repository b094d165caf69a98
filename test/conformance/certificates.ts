// Certificate verification comes first: a matching pin never excuses an
// expired, misnamed or untrusted certificate. And pins follow the verified
// path, wherever webpki finds it.
import { type Group, HELLO, assert, local, rejection, withFetch } from "./check.js";
import type { Fixture, ServerName } from "./description.js";

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

export const certificates: Group = {
  name: "certificate failures win over matching pins",
  scenarios: [
    failsWith("an expired leaf", "ERR_CERT_EXPIRED", "expired", (fixture) => [fixture.pins.intermediate]),
    failsWith("a leaf for another name", "ERR_CERT_HOSTNAME", "wrongName", (fixture) => [fixture.pins.intermediate]),
    failsWith("a leaf from an untrusted CA", "ERR_CERT_UNTRUSTED", "impostor13", (fixture) => [
      fixture.pins.otherLeaf,
      fixture.pins.otherIntermediate,
    ]),
    failsWith("a leaf whose signature does not verify", "ERR_CERT_UNTRUSTED", "forged", (fixture) => [fixture.pins.intermediate]),
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
