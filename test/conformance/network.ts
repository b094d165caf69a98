// Network failures map to the same codes in every runtime, and an abort
// signal stops a request at any stage with its own reason.
import { type PinnedFetch, type Runtime, connectTls } from "../../src/index.js";
import { selectRuntime } from "../../src/runtime/index.js";
import { type Group, assert, delay, eventually, local, rejection, rejectsWith, withFetch } from "./harness/check.js";
import type { Fixture, ServerName } from "./harness/description.js";

const fast = (fixture: Fixture) => ({ ca: fixture.ca.root, connectTimeout: 300 });
const at = (fixture: Fixture, server: ServerName, path = "/") => `https://127.0.0.1:${fixture.ports[server]}${path}`;

const failsWith = (what: string, code: string, url: (fixture: Fixture) => string, message?: RegExp) => ({
  name: `${what} is ${code}`,
  run: (fixture: Fixture) =>
    withFetch(fast(fixture), async (fetch) => {
      const error = await rejection(fetch(url(fixture)));
      assert.equal(error.code, code);
      if (message) assert.match(error.message, message);
    }),
});

export const network: Group = {
  name: "network failures",
  scenarios: [
    failsWith("a refused connection", "ERR_CONNECT", (fixture) => at(fixture, "refused"), /refused/),
    failsWith(
      "a host name that does not resolve",
      "ERR_CONNECT",
      (fixture) => `https://${fixture.unresolvable}/`,
      /could not be resolved/,
    ),
    failsWith("a reset during the handshake", "ERR_CONNECT", (fixture) => at(fixture, "reset"), /reset/),
    failsWith(
      "a connect that the network never completes",
      "ERR_TIMEOUT",
      (fixture) => at(fixture, "blackHole"),
      /connectTimeout/,
    ),
    failsWith(
      "a server that never answers the handshake",
      "ERR_TIMEOUT",
      (fixture) => at(fixture, "silent"),
      /connectTimeout/,
    ),
    failsWith("a server that answers with garbage", "ERR_TLS", (fixture) => at(fixture, "garbage")),
    failsWith("a server that closes during the handshake", "ERR_TLS", (fixture) => at(fixture, "hangup")),
    // The fuzzer found it: the engine trapped when it closed after this failure (fixed in 3e348d1).
    failsWith(
      "an alert inside a ServerHello split across records",
      "ERR_TLS",
      (fixture) => at(fixture, "interleaved"),
      /MessageInterleavedWithHandshakeMessage/,
    ),
    failsWith(
      "a record that fails authentication",
      "ERR_TLS",
      (fixture) => at(fixture, "raw", "/forged-record"),
      /bad_record_mac|decrypt/i,
    ),
    {
      name: "what records before a failing one carried is read first, then the failure",
      run: async (fixture) => {
        const connection = await connectTls({
          hostname: "localhost",
          resolve: { localhost: "127.0.0.1" },
          port: fixture.ports.trailing,
          ca: fixture.ca.root,
        });
        try {
          // The server sends both records in one TCP write; once it is out, one read takes them together.
          await eventually(
            () => fixture.stats("trailing"),
            (stats) => stats.sentBytes > 0,
            "the server's records sent",
          );
          const reader = connection.readable.getReader();
          const first = await reader.read();
          assert.equal(new TextDecoder().decode(first.value), "hello");
          const error = await rejection(reader.read());
          assert.equal(error.code, "ERR_TLS");
          assert.match(error.message, /decrypt/);
        } finally {
          await connection.close();
        }
      },
    },
    {
      name: "no response head within timeout is ERR_TIMEOUT, and a prompt one is unaffected",
      run: (fixture) =>
        withFetch({ ...local(fixture), timeout: 300 }, async (fetch) => {
          const error = await rejection(fetch(`https://localhost:${fixture.ports.raw}/no-answer`));
          assert.equal(error.code, "ERR_TIMEOUT");
          assert.match(error.message, /timeout option/);
          assert.equal((await fetch(`https://localhost:${fixture.ports.raw}/split-crlf`)).status, 200);
        }),
    },
    {
      name: "a reset inside the body is ERR_CONNECT from the body",
      run: (fixture) =>
        withFetch(local(fixture), async (fetch) => {
          const response = await fetch(`https://localhost:${fixture.ports.raw}/reset-in-body`);
          assert.equal(response.status, 200);
          const error = await rejection(response.arrayBuffer());
          assert.equal(error.code, "ERR_CONNECT");
          assert.match(error.message, /reset/);
        }),
    },
  ],
};

/** Fetches `url`, aborts once `ready` resolves, and expects the abort's own reason back. */
async function abortedOnceReady(fetch: PinnedFetch, url: string, ready: () => Promise<unknown>): Promise<void> {
  const controller = new AbortController();
  const reason = new Error("stop");
  const outcome = rejectsWith(fetch(url, { signal: controller.signal }), reason);
  await ready();
  controller.abort(reason);
  await outcome;
}

export const cancellation: Group = {
  name: "cancellation",
  scenarios: [
    {
      name: "an aborted signal stops the request before it connects",
      run: async (fixture) => {
        const before = await fixture.stats("silent");
        await withFetch(fast(fixture), async (fetch) => {
          const reason = new Error("already");
          await rejectsWith(fetch(at(fixture, "silent"), { signal: AbortSignal.abort(reason) }), reason);
        });
        assert.equal((await fixture.stats("silent")).connections, before.connections);
      },
    },
    {
      name: "aborting a connect that the network never completes rejects with the reason",
      run: (fixture) =>
        withFetch({ ca: fixture.ca.root }, async (fetch) => {
          await abortedOnceReady(fetch, at(fixture, "blackHole"), () => delay(20));
        }),
    },
    {
      name: "aborting at any moment of connecting leaves no connection open",
      run: async (fixture) => {
        const before = await fixture.stats("silent");
        await withFetch({ ca: fixture.ca.root }, async (fetch) => {
          for (let moment = 0; moment < 20; moment++) {
            const controller = new AbortController();
            const pending = fetch(at(fixture, "silent"), { signal: controller.signal });
            const reason = new Error(`stop at ${moment}`);
            if (moment === 0) controller.abort(reason);
            else setTimeout(() => controller.abort(reason), moment / 4);
            await rejectsWith(pending, reason);
          }
        });
        await eventually(
          () => fixture.stats("silent"),
          (stats) => stats.open === before.open,
          "connections left open",
        );
      },
    },
    {
      name: "aborting while the runtime connects closes the socket that arrives late",
      run: async (fixture) => {
        const native = await selectRuntime(undefined);
        const before = await fixture.stats("silent");
        const moments: ((abort: () => void) => void)[] = [
          (abort) => abort(),
          queueMicrotask,
          (abort) => setTimeout(abort, 0),
        ];
        for (const moment of moments) {
          const controller = new AbortController();
          const reason = new Error("stop");
          // An adapter whose connect is still in flight when the signal aborts.
          const runtime: Runtime = {
            name: "aborted-in-flight",
            connect(options) {
              const connecting = native.connect(options);
              moment(() => controller.abort(reason));
              return connecting;
            },
            unrefTimer: (timer) => native.unrefTimer(timer),
          };
          await withFetch({ ca: fixture.ca.root, runtime }, async (fetch) => {
            await rejectsWith(fetch(at(fixture, "silent"), { signal: controller.signal }), reason);
          });
        }
        await eventually(
          () => fixture.stats("silent"),
          (stats) => stats.open === before.open,
          "connections left open",
        );
      },
    },
    {
      name: "aborting during the handshake rejects with the reason",
      run: (fixture) =>
        withFetch({ ca: fixture.ca.root }, async (fetch) => {
          await abortedOnceReady(fetch, at(fixture, "silent"), () => delay(20));
        }),
    },
    {
      name: "aborting while waiting for the response head rejects with the reason",
      run: (fixture) =>
        withFetch(local(fixture), async (fetch) => {
          const before = await fixture.stats("raw");
          await abortedOnceReady(fetch, `https://localhost:${fixture.ports.raw}/no-answer`, () =>
            eventually(
              () => fixture.stats("raw"),
              (stats) => stats.receivedBytes > before.receivedBytes,
              "the request",
            ),
          );
        }),
    },
    {
      name: "aborting before reading a body that has all arrived errors it with the reason",
      run: (fixture) =>
        withFetch(local(fixture), async (fetch) => {
          const url = `https://localhost:${fixture.ports.tls13}/hello`;
          const controller = new AbortController();
          const unread = await fetch(url, { signal: controller.signal });
          const reason = new Error("stop");
          controller.abort(reason);
          await rejectsWith(unread.text(), reason);
        }),
    },
    {
      name: "aborting while reading the body errors the body with the reason",
      run: (fixture) =>
        withFetch(local(fixture), async (fetch) => {
          const controller = new AbortController();
          const response = await fetch(`https://localhost:${fixture.ports.raw}/stalled-body`, {
            signal: controller.signal,
          });
          const reader = response.body!.getReader();
          assert.equal(new TextDecoder().decode((await reader.read()).value), "a");
          const reason = new Error("stop");
          const next = reader.read();
          controller.abort(reason);
          await rejectsWith(next, reason);
        }),
    },
  ],
};
