// The connection pool: a per-origin limit with requests waiting in order,
// cancellation and close() while they wait, and the safe retry of an
// idempotent request on a kept-alive connection the server had closed. Run
// over HTTP/2 too, against a server that allows one stream per connection
// (harness/http2.ts), so that requests wait for connections there as well.
import {
  type Echo,
  type Group,
  HELLO,
  assert,
  delay,
  eventually,
  local,
  rejection,
  rejectsWith,
  withFetch,
} from "./harness/check.js";
import type { Fixture } from "./harness/description.js";

const url = (fixture: Fixture, path: string) => `https://localhost:${fixture.ports.tls13}${path}`;

/** Server counters since `before`, for the tls13 server. */
async function since(fixture: Fixture, before: { connections: number; requests: number }) {
  const now = await fixture.stats("tls13");
  return { connections: now.connections - before.connections, requests: now.requests - before.requests };
}

/** Starts a request that holds its connection (the server never answers), once the server has it. */
async function holdConnection(fixture: Fixture, fetch: (url: string, init: RequestInit) => Promise<Response>) {
  const before = await fixture.stats("tls13");
  const controller = new AbortController();
  const held = fetch(url(fixture, "/stall"), { signal: controller.signal }).catch((error: unknown) => error);
  await eventually(
    () => fixture.stats("tls13"),
    (stats) => stats.requests > before.requests,
    "the held request",
  );
  return { release: () => controller.abort(new Error("released")), settled: held };
}

/** Why the retry scenarios run over HTTP/1.1 only. */
const KEEP_ALIVE_RETRY =
  "a kept-alive HTTP/1.1 connection closed unanswered at its next request; an h2 server says GOAWAY, with the last " +
  "stream it took, which the HTTP/2 group covers";

export const pool: Group = {
  name: "connection pool",
  scenarios: [
    {
      name: "sends an idempotent request again on a new connection when the kept-alive one was closed unanswered",
      http1Only: KEEP_ALIVE_RETRY,
      run: async (fixture) => {
        const before = await fixture.stats("tls13");
        await withFetch(local(fixture), async (fetch) => {
          assert.equal(await (await fetch(url(fixture, "/once"))).text(), HELLO);
          assert.equal(await (await fetch(url(fixture, "/hello"))).text(), HELLO);
          assert.equal(await (await fetch(url(fixture, "/once"))).text(), HELLO);
          const put = await fetch(url(fixture, "/echo"), { method: "PUT", body: "again" });
          assert.equal(((await put.json()) as Echo).body, "again");
        });
        // Two requests met a closed connection, and each went again on a new one.
        assert.deepEqual(await since(fixture, before), { connections: 3, requests: 6 });
      },
    },
    {
      name: "never sends a POST or a streamed body twice",
      http1Only: KEEP_ALIVE_RETRY,
      run: async (fixture) => {
        const before = await fixture.stats("tls13");
        await withFetch(local(fixture), async (fetch) => {
          await (await fetch(url(fixture, "/once"))).text();
          const post = await rejection(fetch(url(fixture, "/echo"), { method: "POST", body: "once only" }));
          assert.equal(post.code, "ERR_HTTP");
          assert.match(post.message, /POST request .* not sent again because POST is not idempotent/);
          await (await fetch(url(fixture, "/once"))).text();
          const stream = new ReadableStream({
            start: (controller) => (controller.enqueue(new TextEncoder().encode("x")), controller.close()),
          });
          const put = await rejection(
            fetch(url(fixture, "/echo"), { method: "PUT", body: stream, duplex: "half" } as RequestInit),
          );
          assert.equal(put.code, "ERR_HTTP");
          assert.match(put.message, /not sent again because its body is a stream/);
        });
        assert.deepEqual(await since(fixture, before), { connections: 2, requests: 4 });
      },
    },
    {
      name: "opens at most `connections` connections per origin; the other requests wait their turn",
      run: async (fixture) => {
        const before = await fixture.stats("tls13");
        await withFetch({ ...local(fixture), connections: 2 }, async (fetch) => {
          const bodies = await Promise.all(
            Array.from({ length: 6 }, async () => (await fetch(url(fixture, "/chunked"))).text()),
          );
          assert.deepEqual(bodies, Array(6).fill("one,two,three"));
        });
        assert.deepEqual(await since(fixture, before), { connections: 2, requests: 6 });
      },
    },
    {
      name: "a response whose body has all arrived frees its connection, read or not, and keeps its body",
      run: async (fixture) => {
        const before = await fixture.stats("tls13");
        await withFetch({ ...local(fixture), connections: 1 }, async (fetch) => {
          const unread = await fetch(url(fixture, "/hello"));
          // Bounded: were the first connection still held by its unread body, this would wait for it until then.
          const next = await fetch(url(fixture, "/hello"), { signal: AbortSignal.timeout(5_000) });
          assert.equal(await next.text(), HELLO);
          assert.equal(await unread.text(), HELLO);
        });
        assert.deepEqual(await since(fixture, before), { connections: 1, requests: 2 });
      },
    },
    {
      name: "aborting a request that waits for a connection rejects with the reason and keeps the others' places",
      run: async (fixture) => {
        await withFetch({ ...local(fixture), connections: 1 }, async (fetch) => {
          const held = await holdConnection(fixture, fetch);
          const controller = new AbortController();
          const reason = new Error("stop waiting");
          const waiting = fetch(url(fixture, "/hello"), { signal: controller.signal });
          const next = fetch(url(fixture, "/hello"));
          await delay(50); // both are in the queue by now
          controller.abort(reason);
          await rejectsWith(waiting, reason);
          held.release();
          assert.equal(((await held.settled) as Error).message, "released");
          assert.equal(await (await next).text(), HELLO);
        });
      },
    },
    {
      name: "aborting a request whose connection is being opened for it leaves the next one waiting its turn",
      http1Only:
        "over h2 the held request's stream is reset and its connection kept, so no connection is opened for the next " +
        "one: the scenario before covers a request waiting for a stream",
      run: async (fixture) => {
        await withFetch({ ...local(fixture), connections: 1 }, async (fetch) => {
          const held = await holdConnection(fixture, fetch);
          const controller = new AbortController();
          const reason = new Error("stop opening");
          const first = fetch(url(fixture, "/hello"), { signal: controller.signal });
          const second = fetch(url(fixture, "/hello"));
          await delay(50); // both are in the queue by now
          held.release();
          await delay(1); // the held connection is closed, and one is being opened for the first
          controller.abort(reason);
          await rejectsWith(first, reason);
          assert.equal(await (await second).text(), HELLO);
        });
      },
    },
    {
      name: "fetch.close() turns away the requests waiting for a connection",
      run: async (fixture) => {
        await withFetch({ ...local(fixture), connections: 1 }, async (fetch) => {
          const held = await holdConnection(fixture, fetch);
          const waiting = rejection(fetch(url(fixture, "/hello")));
          await delay(50); // in the queue by now
          await fetch.close();
          const error = await waiting;
          assert.equal(error.code, "ERR_CONNECT");
          assert.match(error.message, /close\(\).*connections option/);
          assert.ok((await held.settled) instanceof Error);
          // The instance stays usable.
          assert.equal(await (await fetch(url(fixture, "/hello"))).text(), HELLO);
        });
      },
    },
  ],
};
