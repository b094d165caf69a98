// Key exchange: X25519MLKEM768 is offered first, with an X25519 share beside
// it in the one ClientHello, so that a server with the hybrid uses it and one
// without completes at once, without a HelloRetryRequest; `postQuantum: false`
// offers classical groups alone. Real servers of each kind, each behind a
// relay that shows the ClientHellos it received and the group its server chose.
import { type ConnectTlsOptions, type PinnedFetchError, type TlsConnection } from "../../src/index.js";
import { loadEngine } from "../../src/tls/engine.js";
import type { KeyShare } from "../support/hellos.js";
import type { Handshake } from "../support/wire-observer.js";
import { type Group, HELLO, assert, connectLocal, eventually, local, rejection, withFetch } from "./harness/check.js";
import type { Fixture, KeyExchangeServerName } from "./harness/description.js";

/** The shares of the default ClientHello: the hybrid's (ML-KEM-768's 1,184 bytes and X25519's 32) and X25519's. */
const BOTH_SHARES: KeyShare[] = [
  { group: "X25519", bytes: 32 },
  { group: "X25519MLKEM768", bytes: 1_216 },
];
const X25519_SHARE: KeyShare[] = [{ group: "X25519", bytes: 32 }];

/** Bounds a scenario that may build the Go server first (go-tls-server.ts bounds the build to 180 s). */
const GO_BUILD_BOUND = 200_000;
/** Bounds a scenario that starts Deno or Bun first (child-server.ts bounds the start to 60 s). */
const START_BOUND = 90_000;

/** A ClientHello's shares, in one order whatever order they were sent in. */
const sorted = (shares: readonly KeyShare[]) => [...shares].sort((a, b) => a.group.localeCompare(b.group));

/** The handshakes of the `count` connections that `use` makes to `name` (given its port), once all are seen. */
async function handshakesOf(
  fixture: Fixture,
  name: KeyExchangeServerName,
  count: number,
  use: (port: number) => Promise<void>,
): Promise<Handshake[]> {
  const before = await fixture.keyExchangeServer(name);
  await use(before.port);
  const after = await eventually(
    () => fixture.keyExchangeServer(name),
    (server) => server.handshakes.length === before.handshakes.length + count,
    `connections to ${name}`,
  );
  return after.handshakes.slice(before.handshakes.length);
}

/** One ClientHello (no HelloRetryRequest) with `shares`, and the server chose `group`. */
function assertHandshake(handshake: Handshake | undefined, shares: KeyShare[], group: string | null): void {
  assert.ok(handshake, "no connection seen");
  assert.equal(handshake.unreadable, undefined);
  assert.deepEqual(handshake.clientHellos.map(sorted), [shares], "the ClientHellos' key shares");
  assert.equal(handshake.serverGroup, group, "the group the server chose");
}

/** Sends a GET of /hello over `connection` and returns the response's status line, then closes it. */
async function statusLine(connection: TlsConnection): Promise<string> {
  const writer = connection.writable.getWriter();
  await writer.write(new TextEncoder().encode("GET /hello HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n"));
  const reader = connection.readable.getReader();
  let text = "";
  try {
    while (!text.includes("\r\n")) {
      const { done, value } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
  } finally {
    reader.releaseLock();
    await connection.close();
  }
  return text.split("\r\n", 1)[0]!;
}

/** connectTls to `name` reports `group`, and an HTTP request over the connection gets 200. */
async function connectTlsReports(
  fixture: Fixture,
  name: KeyExchangeServerName,
  group: string,
  extra: Partial<ConnectTlsOptions> = {},
): Promise<Handshake> {
  const [handshake] = await handshakesOf(fixture, name, 1, async (port) => {
    const connection = await connectLocal(fixture, port, extra);
    assert.equal(connection.keyExchange, group);
    assert.equal(await statusLine(connection), "HTTP/1.1 200 OK");
  });
  return handshake!;
}

/** Deno.serve or Bun.serve: both accept X25519MLKEM768 and prefer it when the client offers it first. */
const runtimeServer = (name: "denoServe" | "bunServe", label: string) => ({
  name: `${label} with TLS: fetch and connectTls get 200 over X25519MLKEM768, from one ClientHello`,
  timeout: () => START_BOUND,
  run: async (fixture: Fixture) => {
    const [fetched] = await handshakesOf(fixture, name, 1, (port) =>
      withFetch(local(fixture), async (fetch) => {
        const response = await fetch(`https://localhost:${port}/`);
        assert.equal(response.status, 200);
        assert.equal(await response.text(), HELLO);
      }),
    );
    assertHandshake(fetched, BOTH_SHARES, "X25519MLKEM768");
    assertHandshake(await connectTlsReports(fixture, name, "X25519MLKEM768"), BOTH_SHARES, "X25519MLKEM768");
  },
});

export const keyExchange: Group = {
  name: "key exchange",
  scenarios: [
    {
      name: "a server that accepts only X25519MLKEM768 (Go's crypto/tls): 200 over it, which the server reports, from one ClientHello with shares for it and X25519",
      timeout: () => GO_BUILD_BOUND,
      run: async (fixture) => {
        const [handshake] = await handshakesOf(fixture, "hybridOnly", 1, (port) =>
          withFetch(local(fixture), async (fetch) => {
            const response = await fetch(`https://localhost:${port}/`);
            assert.equal(response.status, 200);
            assert.equal(response.headers.get("x-key-exchange"), "X25519MLKEM768");
            assert.deepEqual(await response.json(), { keyExchange: "X25519MLKEM768", protocol: "TLSv1.3" });
          }),
        );
        assertHandshake(handshake, BOTH_SHARES, "X25519MLKEM768");
      },
    },
    {
      name: "connectTls to the server that accepts only X25519MLKEM768 reports keyExchange X25519MLKEM768",
      timeout: () => GO_BUILD_BOUND,
      run: async (fixture) => {
        assertHandshake(
          await connectTlsReports(fixture, "hybridOnly", "X25519MLKEM768"),
          BOTH_SHARES,
          "X25519MLKEM768",
        );
      },
    },
    {
      name: "a classical-only server (Node 20's OpenSSL 3.0): 200 over X25519 from one ClientHello, no HelloRetryRequest, and connectTls reports X25519",
      run: async (fixture) => {
        const [fetched] = await handshakesOf(fixture, "classical", 1, (port) =>
          withFetch(local(fixture), async (fetch) => {
            const response = await fetch(`https://localhost:${port}/hello`);
            assert.equal(response.status, 200);
            assert.equal(await response.text(), HELLO);
          }),
        );
        assertHandshake(fetched, BOTH_SHARES, "X25519");
        assertHandshake(await connectTlsReports(fixture, "classical", "X25519"), BOTH_SHARES, "X25519");
      },
    },
    {
      name: "postQuantum: false offers X25519 alone: one ClientHello with only its share, 200, and connectTls reports X25519",
      run: async (fixture) => {
        const [fetched] = await handshakesOf(fixture, "classical", 1, (port) =>
          withFetch({ ...local(fixture), postQuantum: false }, async (fetch) => {
            const response = await fetch(`https://localhost:${port}/hello`);
            assert.equal(response.status, 200);
            assert.equal(await response.text(), HELLO);
          }),
        );
        assertHandshake(fetched, X25519_SHARE, "X25519");
        const connected = await connectTlsReports(fixture, "classical", "X25519", { postQuantum: false });
        assertHandshake(connected, X25519_SHARE, "X25519");
      },
    },
    {
      name: "postQuantum: false against a server that accepts only X25519MLKEM768: ERR_TLS naming the group",
      timeout: () => GO_BUILD_BOUND,
      run: async (fixture) => {
        const handshakes = await handshakesOf(fixture, "hybridOnly", 2, async (port) => {
          const errors: PinnedFetchError[] = [];
          await withFetch({ ...local(fixture), postQuantum: false }, async (fetch) => {
            errors.push(await rejection(fetch(`https://localhost:${port}/`)));
          });
          errors.push(await rejection(connectLocal(fixture, port, { postQuantum: false })));
          for (const error of errors) {
            assert.equal(error.code, "ERR_TLS", error.message);
            assert.match(error.message, /X25519MLKEM768/);
            assert.match(error.message, /postQuantum: false/);
          }
        });
        for (const handshake of handshakes) {
          assertHandshake(handshake, X25519_SHARE, null);
        }
      },
    },
    {
      name: "every ClientHello of an instance carries the hybrid's share: after a server of the host chose X25519, a hybrid-only one on another port needs no retry",
      timeout: () => GO_BUILD_BOUND,
      run: async (fixture) => {
        await withFetch(local(fixture), async (fetch) => {
          const [classical] = await handshakesOf(fixture, "classical", 1, async (port) => {
            const response = await fetch(`https://localhost:${port}/hello`);
            assert.equal(await response.text(), HELLO);
          });
          assertHandshake(classical, BOTH_SHARES, "X25519");
          // rustls would remember X25519 for "localhost" and lead with its share alone, which this server refuses.
          const [hybrid] = await handshakesOf(fixture, "hybridOnly", 1, async (port) => {
            const response = await fetch(`https://localhost:${port}/`);
            assert.equal(response.headers.get("x-key-exchange"), "X25519MLKEM768");
            await response.body?.cancel();
          });
          assertHandshake(hybrid, BOTH_SHARES, "X25519MLKEM768");
        });
      },
    },
    {
      // Only Bun's crypto holds X25519 keys for the engine (x25519InHost); in Node and Deno ring's stay in the engine.
      name: "X25519 keys the runtime's crypto holds for the engine (Bun's) are all let go: after X25519, the hybrid and postQuantum: false, none is left",
      timeout: () => GO_BUILD_BOUND,
      run: async (fixture) => {
        const { port: classical } = await fixture.keyExchangeServer("classical");
        const { port: hybridOnly } = await fixture.keyExchangeServer("hybridOnly");
        for (const postQuantum of [true, false]) {
          await withFetch({ ...local(fixture), postQuantum }, async (fetch) => {
            assert.equal(await (await fetch(`https://localhost:${classical}/hello`)).text(), HELLO);
            const hybrid = fetch(`https://localhost:${hybridOnly}/`);
            if (postQuantum) assert.equal((await hybrid).headers.get("x-key-exchange"), "X25519MLKEM768");
            else assert.equal((await rejection(hybrid)).code, "ERR_TLS");
          });
        }
        assert.equal((await loadEngine()).inUse.x25519Keys, 0, "X25519 keys still held");
      },
    },
    runtimeServer("denoServe", "Deno.serve"),
    runtimeServer("bunServe", "Bun.serve"),
  ],
};
