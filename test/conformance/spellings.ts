// Every spelling of a pinned host that reaches it gets its rule, and a TLS
// session is resumed only where the full pin decision that made it would be
// made again: an impostor trusted through `ca` (a mis-issued or corporate CA)
// sees no byte of a request, whatever the URL says or whatever came before.
// Run over HTTP/1.1 and over HTTP/2 (harness/http2.ts): over h2, no byte of
// the client preface either.
import { type PinnedFetchOptions, createPinnedFetch } from "../../src/index.js";
import { selectRuntime } from "../../src/runtime/index.js";
import { openTls } from "../../src/connect-tls.js";
import { TrustContext } from "../../src/tls/trust.js";
import { PinSet, parsePin } from "../../src/pins/pin.js";
import { type Group, type Scenario, assert, ignoreWarning } from "./harness/check.js";
import type { Fixture, ServerName } from "./harness/description.js";

/** Spellings of `localhost` and of 127.0.0.1: those that reach the host, and those that are no host at all. */
const NAME_SPELLINGS = [
  "LOCALHOST",
  "LocalHost.",
  "localhost.",
  "localhost..",
  ".localhost",
  "user@localhost",
  "user:pass@localhost",
];
const ADDRESS_SPELLINGS = [
  "127.1",
  "127.0.0.1.",
  "0x7f.0.0.1",
  "2130706433",
  "0177.0.0.1",
  "[::ffff:127.0.0.1]",
  "user@127.0.0.1",
];

/**
 * A request to each spelling, then to the pinned URL, on one instance whose
 * `ca` trusts the impostor's CA too: each is refused, and the impostor
 * receives no request byte (a session it gave an unpinned spelling would
 * otherwise be resumed for the pinned URL, skipping the pin check).
 */
function everySpelling(
  impostor: ServerName,
  host: string,
  spellings: readonly string[],
  proxied: boolean,
  rule = host,
): Scenario {
  return {
    name: `an impostor on ${impostor} gets no byte from any spelling of ${host} pinned as "${rule}"${proxied ? " through a proxy" : ""}`,
    run: async (fixture: Fixture) => {
      const before = await fixture.stats(impostor);
      const options: PinnedFetchOptions = {
        pins: { [rule]: [fixture.pins.intermediate] },
        ca: [fixture.ca.root, fixture.ca.otherRoot],
        resolve: { localhost: "127.0.0.1" },
        onWarning: ignoreWarning,
        ...(proxied && { proxy: `http://127.0.0.1:${fixture.ports.proxy}` }),
      };
      const fetch = createPinnedFetch(options);
      const outcomes: string[] = [];
      try {
        for (const spelling of [...spellings, host]) {
          const outcome = await fetch(`https://${spelling}:${fixture.ports[impostor]}/echo`, {
            method: "POST",
            headers: { authorization: "Bearer secret" },
            body: "secret",
          }).then(
            (response) => `${response.status}`,
            (error: { code?: string }) => error.code ?? String(error),
          );
          outcomes.push(`${spelling}: ${outcome}`);
        }
      } finally {
        await fetch.close();
      }
      // Names that reach the host fail their pins; names that are no host fail before any connection.
      for (const outcome of outcomes) assert.match(outcome, /: ERR_(PIN_MISMATCH|CONFIG)$/, outcomes.join(", "));
      const after = await fixture.stats(impostor);
      assert.equal(after.requests - before.requests, 0, "requests the impostor received");
      assert.equal(after.receivedBytes - before.receivedBytes, 0, "bytes the impostor decrypted");
      assert.equal(after.resumed - before.resumed, 0, "sessions the impostor resumed");
    },
  };
}

/** Requests with a name that is no host fail with ERR_CONFIG before a connection is made, and say why. */
const emptyLabels: Scenario = {
  name: "a host name with an empty label is ERR_CONFIG before any connection",
  http1Only: "makes no connection",
  run: async (fixture) => {
    const before = await fixture.stats("impostor13");
    const fetch = createPinnedFetch({ ca: fixture.ca.otherRoot });
    try {
      for (const host of ["localhost..", ".localhost", "a..localhost"]) {
        const error = await fetch(`https://${host}:${fixture.ports.impostor13}/`).then(
          () => assert.fail(`${host} was fetched`),
          (error: { code?: string; message?: string }) => error,
        );
        assert.equal(error.code, "ERR_CONFIG", host);
        assert.match(error.message ?? "", /no valid host name/);
      }
    } finally {
      await fetch.close();
    }
    assert.equal((await fixture.stats("impostor13")).connections, before.connections);
  },
};

/**
 * The invariant below every spelling: a session that one pin decision
 * accepted is not resumed under another, even within one trust context.
 */
function noResumptionAcrossDecisions(impostor: ServerName): Scenario {
  return {
    name: `a session made unpinned on ${impostor} is not resumed under pins`,
    http1Only: "opens TLS connections itself, without fetch, and writes HTTP/1.1 on them",
    run: async (fixture) => {
      const runtime = await selectRuntime(undefined);
      const trust = new TrustContext([fixture.ca.root, fixture.ca.otherRoot]);
      const target = { hostname: "localhost", port: fixture.ports[impostor], address: "127.0.0.1" };
      const before = await fixture.stats(impostor);
      for (let i = 0; i < 2; i++) {
        const unpinned = await openTls(runtime, trust, target);
        // A TLS 1.3 server sends its tickets after the handshake: reading the server's first bytes takes them in.
        const writer = unpinned.writable.getWriter();
        await writer.write(
          new TextEncoder().encode("GET /hello HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n"),
        );
        await new Response(unpinned.readable).arrayBuffer();
        await unpinned.close();
      }
      const resumedUnpinned = (await fixture.stats(impostor)).resumed - before.resumed;
      assert.equal(resumedUnpinned, 1, "the second unpinned connection resumed the first one's session");
      const pins = new PinSet([parsePin(fixture.pins.intermediate, "localhost")]);
      const error = await openTls(runtime, trust, { ...target, pins }).then(
        () => assert.fail("the pinned connection was accepted"),
        (error: { code?: string }) => error,
      );
      assert.equal(error.code, "ERR_PIN_MISMATCH");
      assert.equal((await fixture.stats(impostor)).resumed - before.resumed, 1, "no session resumed under the pins");
    },
  };
}

export const spellings: Group = {
  name: "host spellings and resumption",
  scenarios: [
    emptyLabels,
    everySpelling("impostor13", "localhost", NAME_SPELLINGS, false),
    everySpelling("impostor12", "localhost", NAME_SPELLINGS, false),
    everySpelling("impostor13", "localhost", NAME_SPELLINGS, false, "**.localhost"),
    everySpelling("impostor12", "localhost", NAME_SPELLINGS, false, "**.localhost"),
    everySpelling("impostor13", "127.0.0.1", ADDRESS_SPELLINGS, false),
    everySpelling("impostor13", "localhost", NAME_SPELLINGS, true),
    noResumptionAcrossDecisions("impostor13"),
    noResumptionAcrossDecisions("impostor12"),
  ],
};
