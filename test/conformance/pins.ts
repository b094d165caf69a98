// Pins on every certificate of the verified path, over TLS 1.3 and 1.2, and
// the impostors that must be stopped before a byte of the request is sent.
import { type Group, HELLO, assert, eventually, local, rejection, withFetch } from "./harness/check.js";
import type { CertificateName, Fixture, ServerName } from "./harness/description.js";

const MISSING_PIN = "sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

function pinsOver(version: "1.3" | "1.2"): Group {
  const suffix = version === "1.3" ? "13" : "12";
  const server = `tls${suffix}` as ServerName;
  const impostor = `impostor${suffix}` as ServerName;
  const appended = `appended${suffix}` as ServerName;
  // Both roots are trusted: the impostor's chain is valid, only the pins tell it apart.
  const options = (fixture: Fixture, pins: string[]) => ({
    pins: { localhost: pins },
    ca: [fixture.ca.root, fixture.ca.otherRoot],
    resolve: { localhost: "127.0.0.1" },
  });
  const url = (fixture: Fixture, name: ServerName) => `https://localhost:${fixture.ports[name]}/hello`;

  const acceptsPinOn = (certificate: CertificateName) => ({
    name: `accepts a pin on the ${certificate}`,
    run: (fixture: Fixture) =>
      withFetch(options(fixture, [fixture.pins[certificate]]), async (fetch) => {
        const response = await fetch(url(fixture, server));
        assert.equal(response.status, 200);
        assert.equal(await response.text(), HELLO);
      }),
  });

  return {
    name: `pins over TLS ${version}`,
    scenarios: [
      acceptsPinOn("leaf"),
      acceptsPinOn("intermediate"),
      acceptsPinOn("root"),
      {
        name: "accepts a backup pin when the first pin matches nothing",
        run: (fixture) =>
          withFetch(options(fixture, [MISSING_PIN, fixture.pins.intermediate]), async (fetch) => {
            assert.equal(await (await fetch(url(fixture, server))).text(), HELLO);
          }),
      },
      {
        name: "rejects another CA's valid certificate before sending a byte",
        run: async (fixture) => {
          const { pins } = fixture;
          const before = await fixture.stats(impostor);
          await withFetch(options(fixture, [pins.intermediate, pins.root]), async (fetch) => {
            const error = await rejection(fetch(url(fixture, impostor)));
            assert.equal(error.code, "ERR_PIN_MISMATCH");
            assert.equal(error.host, "localhost");
            assert.deepEqual(error.expected, [pins.intermediate, pins.root]);
            assert.deepEqual(
              error.chain?.map((certificate) => certificate.pin),
              [pins.otherLeaf, pins.otherIntermediate, pins.otherRoot],
            );
            assert.match(error.chain?.[0]?.subject ?? "", /CN=localhost/);
            assert.ok(error.message.includes(pins.otherLeaf), "the message names the presented pins");
          });
          // Aborted by our alert: the server decrypted nothing and saw no request.
          const after = await eventually(
            () => fixture.stats(impostor),
            (stats) => stats.handshakeFailures === before.handshakeFailures + 1,
            "the impostor's handshake failures",
          );
          assert.equal(after.receivedBytes, before.receivedBytes);
          assert.equal(after.requests, before.requests);
        },
      },
      {
        name: "ignores the pinned intermediate when the server merely appends it",
        run: async (fixture) => {
          const before = await fixture.stats(appended);
          await withFetch(options(fixture, [fixture.pins.intermediate]), async (fetch) => {
            const error = await rejection(fetch(url(fixture, appended)));
            assert.equal(error.code, "ERR_PIN_MISMATCH");
            assert.ok(!error.chain?.some((certificate) => certificate.pin === fixture.pins.intermediate));
          });
          const after = await fixture.stats(appended);
          assert.equal(after.receivedBytes, before.receivedBytes);
          assert.equal(after.requests, before.requests);
        },
      },
    ],
  };
}

/** The advice of a mismatch's message, which must fit the path it was decided on. */
const advice: Group = {
  name: "what a pin mismatch advises",
  scenarios: [
    {
      name: "a path with an intermediate: its pin makes a good backup",
      run: (fixture) =>
        withFetch(local(fixture, [MISSING_PIN]), async (fetch) => {
          const error = await rejection(fetch(`https://localhost:${fixture.ports.tls13}/hello`));
          assert.equal(error.code, "ERR_PIN_MISMATCH");
          assert.equal(error.chain?.length, 3);
          assert.match(oneLine(error.message), /add the new pin \(an intermediate's pin makes a good backup\); if not/);
        }),
    },
    {
      name: "a leaf the root issued directly: only the leaf's pin and its CA's can match, and no intermediate is advised",
      run: (fixture) =>
        withFetch(local(fixture, [MISSING_PIN]), async (fetch) => {
          const error = await rejection(fetch(`https://localhost:${fixture.ports.rootIssued}/hello`));
          assert.equal(error.code, "ERR_PIN_MISMATCH");
          assert.deepEqual(error.chain?.map((certificate) => certificate.pin).at(-1), fixture.pins.root);
          const message = oneLine(error.message);
          assert.match(
            message,
            /this path has no intermediate: only the leaf's pin and its CA's can match, and the CA's makes a good backup/,
          );
          assert.doesNotMatch(message, /intermediate's pin/);
        }),
    },
    {
      name: "a leaf trusted by itself: only its own pin can match",
      run: async (fixture) => {
        const url = `https://localhost:${fixture.ports.selfSignedCa}/hello`;
        const options = {
          ca: fixture.selfSigned.pem,
          resolve: { localhost: "127.0.0.1" },
          pins: { localhost: [MISSING_PIN] },
        };
        for (const given of [options, { ...local(fixture, [MISSING_PIN]), trust: "pins-only" as const }]) {
          await withFetch(given, async (fetch) => {
            const error = await rejection(
              fetch(given === options ? url : `https://localhost:${fixture.ports.tls13}/hello`),
            );
            assert.equal(error.code, "ERR_PIN_MISMATCH");
            assert.equal(error.chain?.length, 1);
            const message = oneLine(error.message);
            assert.match(message, /only the leaf's own pin can match here, as nothing else vouches for it/);
            assert.doesNotMatch(message, /intermediate's pin/);
          });
        }
      },
    },
  ],
};

/** A message with its line breaks as spaces, so that a phrase can be matched wherever the lines wrap. */
const oneLine = (message: string) => message.replace(/\s*\n\s*/g, " ");

export const pins: Group[] = [pinsOver("1.3"), pinsOver("1.2"), advice];
