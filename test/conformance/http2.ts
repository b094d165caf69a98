// HTTP/2: negotiated by ALPN (h2, h2 only, http/1.1 only, `http2: false`,
// through a proxy), many streams on one connection within the server's
// SETTINGS_MAX_CONCURRENT_STREAMS, GOAWAY, RST_STREAM both ways, flow control
// both ways, trailers, header lists, and `Deno.serve` (h2) and `Bun.serve`
// (http/1.1). The servers (test/support/http2-servers.ts) count, per group of
// requests (`?group=`), the connections and streams that carried them and the
// HTTP version they came in, so each scenario proves its protocol server-side.
import { type PinnedFetch, type PinnedFetchOptions } from "../../src/index.js";
import { patternChunk, patternMismatch } from "../support/content.js";
import type { Http2Group } from "../support/http2-servers.js";
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
import type { Fixture, Http2RuntimeServerName, Http2ServerName } from "./harness/description.js";

const MiB = 1024 * 1024;
/** The flow-control bodies, each way. */
const BIG = 64 * MiB;
/** Bounds a scenario that moves BIG bytes (it takes a few seconds) or starts Deno or Bun first. */
const LONG = 120_000;
/** Requests in flight at once. */
const MANY = 100;

const origin = (fixture: Fixture, server: Http2ServerName) => `https://localhost:${fixture.http2Ports[server]}`;
/** Pins the test intermediate and root: every server's chain but h2Impostor's. */
const pinned = (fixture: Fixture): PinnedFetchOptions => local(fixture, [fixture.pins.intermediate, fixture.pins.root]);
/** A group id no other request uses, in any runtime's run. */
const newGroup = () => crypto.randomUUID();

/** What `server` recorded of `group` (fails if it saw none of it). */
async function groupAt(fixture: Fixture, server: Http2ServerName, group: string): Promise<Http2Group> {
  const record = (await fixture.http2Stats(server)).groups[group];
  assert.ok(record, `${server} saw no request of the group`);
  return record;
}

/** What `server` counted between `before` and now: handshakes by protocol, h2 sessions and streams. */
async function countedSince(fixture: Fixture, server: Http2ServerName, before: Counts): Promise<Counts> {
  const now = counts(await fixture.http2Stats(server));
  return {
    h2: now.h2 - before.h2,
    http1: now.http1 - before.http1,
    handshakes: now.handshakes - before.handshakes,
    sessions: now.sessions - before.sessions,
    streams: now.streams - before.streams,
  };
}
interface Counts {
  h2: number;
  http1: number;
  handshakes: number;
  sessions: number;
  streams: number;
}
function counts(stats: Awaited<ReturnType<Fixture["http2Stats"]>>): Counts {
  const { h2 = 0, "http/1.1": http1 = 0 } = stats.protocols;
  const handshakes = Object.values(stats.protocols).reduce((sum, count) => sum + count, 0);
  return { h2, http1, handshakes, sessions: stats.sessions, streams: stats.streams };
}
const countsOf = async (fixture: Fixture, server: Http2ServerName) => counts(await fixture.http2Stats(server));

/** GETs `url` and expects HELLO. */
async function hello(fetch: PinnedFetch, url: string, init?: RequestInit): Promise<void> {
  const response = await fetch(url, init);
  assert.equal(response.status, 200);
  assert.equal(await response.text(), HELLO);
}

/** `promise`, marked as handled: a scenario that fails before awaiting it leaves no unhandled rejection behind. */
function started<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

/** Reads `body` to its end, checking that it is the pattern from `offset` and ends at `size`. */
async function readPattern(body: ReadableStream<Uint8Array>, size: number, offset = 0): Promise<void> {
  let read = offset;
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    const mismatch = patternMismatch(chunk, read);
    assert.equal(mismatch, -1, `byte ${mismatch} is not the pattern's`);
    read += chunk.length;
  }
  assert.equal(read, size);
}

/** A request body of `size` bytes of the pattern, made as it is read. */
function patternBody(size: number): ReadableStream<Uint8Array> {
  const CHUNK = 256 * 1024;
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      const length = Math.min(CHUNK, size - offset);
      controller.enqueue(patternChunk(offset, length));
      offset += length;
      if (offset === size) controller.close();
    },
  });
}

/** Reads `read()` until two reads 100 ms apart agree, for at most about 10 s: a counter that has stopped moving. */
async function settled(read: () => Promise<number>, what: string): Promise<number> {
  let last = await read();
  for (let attempt = 0; attempt < 100; attempt++) {
    await delay(100);
    const now = await read();
    if (now === last) return now;
    last = now;
  }
  assert.fail(`${what} still moves: ${last}`);
}

/** `Deno.serve` or `Bun.serve`: its URL for `path` (started if it is not yet). */
async function runtimeUrl(fixture: Fixture, name: Http2RuntimeServerName, path: string): Promise<string> {
  return `https://localhost:${await fixture.http2RuntimePort(name)}${path}`;
}

export const http2: Group = {
  name: "HTTP/2",
  scenarios: [
    // ALPN.
    {
      name: "offers h2 and http/1.1 by ALPN: a server that speaks both gets h2",
      run: async (fixture) => {
        const before = await countsOf(fixture, "h2");
        const group = newGroup();
        await withFetch(pinned(fixture), async (fetch) => {
          const response = await fetch(`${origin(fixture, "h2")}/echo?group=${group}`);
          assert.equal(((await response.json()) as Echo & { httpVersion: string }).httpVersion, "2.0");
        });
        assert.deepEqual((await groupAt(fixture, "h2", group)).versions, { "2.0": 1 });
        assert.deepEqual(await countedSince(fixture, "h2", before), {
          h2: 1,
          http1: 0,
          handshakes: 1,
          sessions: 1,
          streams: 1,
        });
      },
    },
    {
      name: "a server that speaks h2 only: GET and POST",
      run: async (fixture) => {
        const group = newGroup();
        await withFetch(pinned(fixture), async (fetch) => {
          await hello(fetch, `${origin(fixture, "h2Only")}/hello?group=${group}`);
          const response = await fetch(`${origin(fixture, "h2Only")}/echo?group=${group}`, {
            method: "POST",
            body: "posted",
            headers: { "content-type": "text/plain" },
          });
          const echo = (await response.json()) as Echo;
          assert.deepEqual([echo.method, echo.body, echo.headers["content-type"]], ["POST", "posted", "text/plain"]);
        });
        const record = await groupAt(fixture, "h2Only", group);
        assert.deepEqual([record.versions, record.connections], [{ "2.0": 2 }, 1]);
      },
    },
    {
      name: "a server that answers http/1.1 only gets HTTP/1.1, after an offer of h2 and http/1.1",
      run: async (fixture) => {
        const before = (await fixture.http2Stats("http1Only")).offers["h2,http/1.1"] ?? 0;
        const group = newGroup();
        await withFetch(pinned(fixture), async (fetch) => {
          await hello(fetch, `${origin(fixture, "http1Only")}/hello?group=${group}`);
          await hello(fetch, `${origin(fixture, "http1Only")}/hello?group=${group}`);
        });
        assert.equal((await fixture.http2Stats("http1Only")).offers["h2,http/1.1"], before + 1);
        const record = await groupAt(fixture, "http1Only", group);
        assert.deepEqual([record.versions, record.connections], [{ "1.1": 2 }, 1]);
      },
    },
    {
      name: "`http2: false` offers http/1.1 only, and speaks HTTP/1.1 to a server that speaks h2",
      run: async (fixture) => {
        const offered = (await fixture.http2Stats("http1Only")).offers["http/1.1"] ?? 0;
        const before = await countsOf(fixture, "h2");
        const group = newGroup();
        await withFetch({ ...pinned(fixture), http2: false }, async (fetch) => {
          await hello(fetch, `${origin(fixture, "h2")}/hello?group=${group}`);
          await hello(fetch, `${origin(fixture, "http1Only")}/hello`);
        });
        assert.deepEqual((await groupAt(fixture, "h2", group)).versions, { "1.1": 1 });
        assert.deepEqual(await countedSince(fixture, "h2", before), {
          h2: 0,
          http1: 1,
          handshakes: 1,
          sessions: 0,
          streams: 0,
        });
        assert.equal((await fixture.http2Stats("http1Only")).offers["http/1.1"], offered + 1);
      },
    },
    {
      name: "h2 through a CONNECT proxy, end to end; with a wrong pin the server gets no client preface",
      run: async (fixture) => {
        const proxy = `http://127.0.0.1:${fixture.ports.proxy}`;
        const tunnels = (await fixture.stats("proxy")).tunnels ?? 0;
        const group = newGroup();
        await withFetch({ ...pinned(fixture), proxy }, async (fetch) => {
          await hello(fetch, `${origin(fixture, "h2")}/hello?group=${group}`);
        });
        assert.deepEqual((await groupAt(fixture, "h2", group)).versions, { "2.0": 1 });
        assert.equal((await fixture.stats("proxy")).tunnels, tunnels + 1);
        const before = await countsOf(fixture, "h2");
        const wrong = local(fixture, [fixture.pins.otherIntermediate, fixture.pins.otherRoot]);
        await withFetch({ ...wrong, proxy }, async (fetch) => {
          const error = await rejection(fetch(`${origin(fixture, "h2")}/hello?group=${newGroup()}`));
          assert.equal(error.code, "ERR_PIN_MISMATCH");
        });
        assert.equal((await fixture.stats("proxy")).tunnels, tunnels + 2);
        // No handshake completed, so not a byte of the preface (nor a session) reached the server.
        assert.deepEqual(await countedSince(fixture, "h2", before), {
          h2: 0,
          http1: 0,
          handshakes: 0,
          sessions: 0,
          streams: 0,
        });
      },
    },
    // Many streams on one connection.
    {
      name: `${MANY} requests in flight at once to one origin share one connection, as ${MANY} streams`,
      run: async (fixture) => {
        const group = newGroup();
        // The server holds every one until all are in flight.
        const url = `${origin(fixture, "h2")}/held?group=${group}&batch=${MANY}&total=${MANY}`;
        await withFetch(pinned(fixture), async (fetch) => {
          await Promise.all(Array.from({ length: MANY }, () => hello(fetch, url)));
        });
        const record = await groupAt(fixture, "h2", group);
        assert.deepEqual([record.connections, record.versions, record.maxOpen], [1, { "2.0": MANY }, MANY]);
      },
    },
    ...[1, 3, undefined].map((connections) => ({
      name:
        connections === undefined
          ? `SETTINGS_MAX_CONCURRENT_STREAMS = 10 and no \`connections\` limit: ${MANY} requests open more connections, 10 streams each`
          : `SETTINGS_MAX_CONCURRENT_STREAMS = 10 and \`connections: ${connections}\`: ${MANY} requests on at most ${connections}, the rest waiting`,
      run: async (fixture: Fixture) => {
        const group = newGroup();
        // The server holds requests until 10 are in flight on a connection (or all have come).
        const url = `${origin(fixture, "h2Streams10")}/held?group=${group}&batch=10&total=${MANY}`;
        await withFetch({ ...pinned(fixture), ...(connections && { connections }) }, async (fetch) => {
          await Promise.all(Array.from({ length: MANY }, () => hello(fetch, url)));
        });
        const record = await groupAt(fixture, "h2Streams10", group);
        console.log(`      (${record.connections} connections)`);
        const [least, most] = connections === undefined ? [2, MANY / 10] : [1, connections];
        assert.ok(record.connections >= least && record.connections <= most, `${record.connections} connections`);
        assert.deepEqual([record.versions, record.maxOpen], [{ "2.0": MANY }, 10]);
        assert.deepEqual(record.closeCodes, Array(MANY).fill(0), "no stream was refused or reset");
      },
    })),
    {
      name: "GOAWAY mid-load: GETs above the last stream id go again on a new connection, a POST fails",
      run: async (fixture) => {
        const group = newGroup();
        // Held until 8 are in flight; then GOAWAY with the 4th's stream id as the last, which alone are answered.
        const url = `${origin(fixture, "h2")}/goaway?group=${group}&hold=8&last=4`;
        await withFetch({ ...pinned(fixture), timeout: 10_000 }, async (fetch) => {
          const first = Array.from({ length: 4 }, () => started(hello(fetch, url)));
          // The first four have the lowest stream ids once the server has them.
          await eventually(
            () => groupAt(fixture, "h2", group).catch(() => undefined),
            (record) => record?.versions["2.0"] === 4,
            "the first four requests at the server",
          );
          const gets = Array.from({ length: 3 }, () => started(hello(fetch, url)));
          const post = rejection(fetch(url, { method: "POST", body: "not twice" }));
          await Promise.all([...first, ...gets]);
          const error = await post;
          assert.equal(error.code, "ERR_HTTP");
          console.log(`      (${error.message})`);
        });
        const record = await groupAt(fixture, "h2", group);
        // 8 on the first connection; the 3 GETs again on a second one.
        assert.deepEqual([record.connections, record.versions], [2, { "2.0": 11 }]);
      },
    },
    // One stream's end, the others unaffected.
    {
      name: "RST_STREAM from the server fails that request with ERR_HTTP naming the code; the other stream goes on",
      run: async (fixture) => {
        const group = newGroup();
        await withFetch({ ...pinned(fixture), timeout: 10_000 }, async (fetch) => {
          // Answered only once the other stream has been reset.
          const other = started(hello(fetch, `${origin(fixture, "h2")}/after-close?group=${group}`));
          const error = await rejection(fetch(`${origin(fixture, "h2")}/reset?group=${group}&code=2`));
          assert.equal(error.code, "ERR_HTTP");
          assert.match(error.message, /INTERNAL_ERROR/);
          await other;
        });
        const record = await groupAt(fixture, "h2", group);
        assert.deepEqual([record.connections, record.versions], [1, { "2.0": 2 }]);
        assert.deepEqual(record.closeCodes, [2, 0]);
      },
    },
    {
      name: "aborting one request cancels its stream only (RST_STREAM CANCEL); the connection goes on",
      run: async (fixture) => {
        const group = newGroup();
        await withFetch({ ...pinned(fixture), timeout: 10_000 }, async (fetch) => {
          const controller = new AbortController();
          const stalled = started(
            fetch(`${origin(fixture, "h2")}/stall?group=${group}`, { signal: controller.signal }),
          );
          // Answered only once the stalled stream has been reset.
          const other = started(hello(fetch, `${origin(fixture, "h2")}/after-close?group=${group}`));
          await eventually(
            () => groupAt(fixture, "h2", group).catch(() => undefined),
            (record) => record?.versions["2.0"] === 2,
            "both requests at the server",
          );
          const reason = new Error("no longer needed");
          controller.abort(reason);
          await rejectsWith(stalled, reason);
          await other;
          await hello(fetch, `${origin(fixture, "h2")}/hello?group=${group}`);
        });
        const record = await groupAt(fixture, "h2", group);
        assert.deepEqual([record.connections, record.versions], [1, { "2.0": 3 }]);
        assert.deepEqual(record.closeCodes, [8, 0, 0], "CANCEL (8) for the aborted stream");
      },
    },
    // Flow control.
    {
      name: "a 64 MiB response with the server's initial window at 64 KiB, read to the end byte for byte",
      timeout: () => LONG,
      run: async (fixture) => {
        const group = newGroup();
        await withFetch(pinned(fixture), async (fetch) => {
          const started = Date.now();
          const response = await fetch(`${origin(fixture, "h2SmallWindow")}/pattern/${BIG}?group=${group}`);
          await readPattern(response.body!, BIG);
          console.log(`      (64 MiB in ${Date.now() - started} ms)`);
        });
        const record = await groupAt(fixture, "h2SmallWindow", group);
        assert.deepEqual([record.versions, record.sentBytes], [{ "2.0": 1 }, BIG]);
      },
    },
    {
      name: "a slow reader holds the server back: it cannot send the whole body until the reader reads",
      timeout: () => LONG,
      run: async (fixture) => {
        const group = newGroup();
        const sent = async () => (await groupAt(fixture, "h2", group)).sentBytes;
        await withFetch(pinned(fixture), async (fetch) => {
          const response = await fetch(`${origin(fixture, "h2")}/pattern/${BIG}?group=${group}`);
          const reader = response.body!.getReader();
          const first = await reader.read();
          assert.equal(patternMismatch(first.value!, 0), -1);
          // The reader waits: the server's writes stop where the windows (and buffers) end.
          const held = await settled(sent, "the bytes the server sent");
          console.log(`      (the server sent ${(held / MiB).toFixed(1)} MiB while the reader waited)`);
          assert.ok(held < BIG, `the server sent the whole body (${held} bytes) to a reader that read none of it`);
          reader.releaseLock();
          await readPattern(response.body!, BIG, first.value!.length);
        });
        const record = await groupAt(fixture, "h2", group);
        assert.deepEqual([record.versions, record.sentBytes], [{ "2.0": 1 }, BIG]);
      },
    },
    {
      name: "a 64 MiB request body streamed to an h2 server whose window is 64 KiB",
      timeout: () => LONG,
      run: async (fixture) => {
        const group = newGroup();
        await withFetch(pinned(fixture), async (fetch) => {
          const started = Date.now();
          const response = await fetch(`${origin(fixture, "h2SmallWindow")}/upload?group=${group}`, {
            method: "POST",
            body: patternBody(BIG),
            duplex: "half",
          } as RequestInit);
          assert.deepEqual(await response.json(), { bytes: BIG, mismatch: -1 });
          console.log(`      (64 MiB in ${Date.now() - started} ms)`);
        });
        assert.deepEqual((await groupAt(fixture, "h2SmallWindow", group)).versions, { "2.0": 1 });
      },
    },
    // Trailers and header lists.
    {
      name: "trailers are read and dropped; trailers over maxHeaderSize are ERR_HTTP",
      run: async (fixture) => {
        const group = newGroup();
        await withFetch({ ...pinned(fixture), maxHeaderSize: 16 * 1024 }, async (fetch) => {
          const response = await fetch(`${origin(fixture, "h2")}/trailers?group=${group}&size=1024`);
          assert.equal(await response.text(), HELLO);
          assert.equal(response.headers.get("x-trailer"), null);
          const big = await fetch(`${origin(fixture, "h2")}/trailers?group=${group}&size=${32 * 1024}`);
          const error = await rejection(big.text());
          assert.equal(error.code, "ERR_HTTP");
          assert.match(error.message, /maxHeaderSize/);
        });
        assert.deepEqual((await groupAt(fixture, "h2", group)).versions, { "2.0": 2 });
      },
    },
    {
      name: "a decoded header list over maxHeaderSize is ERR_HTTP mentioning maxHeaderSize",
      run: async (fixture) => {
        const group = newGroup();
        const url = (size: number) => `${origin(fixture, "h2")}/big-header?group=${group}&size=${size}`;
        await withFetch(pinned(fixture), async (fetch) => {
          // The default, 64 KiB.
          assert.equal((await fetch(url(32 * 1024))).headers.get("x-big")?.length, 32 * 1024);
          const error = await rejection(fetch(url(100 * 1024)));
          assert.equal(error.code, "ERR_HTTP");
          assert.match(error.message, /maxHeaderSize/);
        });
        await withFetch({ ...pinned(fixture), maxHeaderSize: 8 * 1024 }, async (fetch) => {
          assert.equal(await (await fetch(url(4 * 1024))).text(), HELLO);
          const error = await rejection(fetch(url(10 * 1024)));
          assert.equal(error.code, "ERR_HTTP");
          assert.match(error.message, /maxHeaderSize/);
        });
        assert.deepEqual((await groupAt(fixture, "h2", group)).versions, { "2.0": 4 });
      },
    },
    {
      name: "a response over h2: status, headers without pseudo-header fields, statusText '', decoded bodies",
      run: async (fixture) => {
        const group = newGroup();
        await withFetch(pinned(fixture), async (fetch) => {
          const response = await fetch(`${origin(fixture, "h2")}/status/201?group=${group}`);
          assert.deepEqual([response.status, response.statusText, response.ok], [201, "", true]);
          const names = [...response.headers.keys()];
          assert.ok(names.includes("content-type"), names.join());
          assert.deepEqual(
            names.filter((name) => name.startsWith(":")),
            [],
          );
          assert.equal(await response.text(), HELLO);
          assert.equal((await fetch(`${origin(fixture, "h2")}/status/404?group=${group}`)).status, 404);
          for (const coding of ["gzip", "br"]) {
            const encoded = await fetch(`${origin(fixture, "h2")}/encoded/${coding}?group=${group}`);
            assert.equal(encoded.headers.get("content-encoding"), coding);
            assert.equal(await encoded.text(), `${HELLO}\n`.repeat(5000));
          }
        });
        assert.deepEqual((await groupAt(fixture, "h2", group)).versions, { "2.0": 4 });
      },
    },
    {
      name: "redirects across h2 and HTTP/1.1 hops, each hop's connection verified under the pins",
      run: async (fixture) => {
        const group = newGroup();
        const final = `${origin(fixture, "h2")}/hello?group=${group}`;
        const viaHttp1 = `${origin(fixture, "http1Only")}/redirect?group=${group}&to=${encodeURIComponent(final)}`;
        const viaH2Only = `${origin(fixture, "h2Only")}/redirect?group=${group}&status=307&to=${encodeURIComponent(viaHttp1)}`;
        const start = `${origin(fixture, "h2")}/redirect?group=${group}&status=301&to=${encodeURIComponent(viaH2Only)}`;
        const impostor = await countsOf(fixture, "h2Impostor");
        // Both roots trusted: the impostor's chain verifies, and only the pins refuse it.
        const options = { ...pinned(fixture), ca: [fixture.ca.root, fixture.ca.otherRoot] };
        await withFetch(options, async (fetch) => {
          const response = await fetch(start);
          assert.deepEqual([response.status, response.redirected, response.url], [200, true, final]);
          assert.equal(await response.text(), HELLO);
          const toImpostor = `${origin(fixture, "h2Impostor")}/hello?group=${group}`;
          const error = await rejection(
            fetch(`${origin(fixture, "h2")}/redirect?group=${group}&to=${encodeURIComponent(toImpostor)}`),
          );
          assert.equal(error.code, "ERR_PIN_MISMATCH");
        });
        assert.deepEqual((await groupAt(fixture, "h2", group)).versions, { "2.0": 3 });
        assert.deepEqual((await groupAt(fixture, "h2Only", group)).versions, { "2.0": 1 });
        assert.deepEqual((await groupAt(fixture, "http1Only", group)).versions, { "1.1": 1 });
        assert.deepEqual(await countedSince(fixture, "h2Impostor", impostor), {
          h2: 0,
          http1: 0,
          handshakes: 0,
          sessions: 0,
          streams: 0,
        });
      },
    },
    // Request header fields.
    {
      name: "connection-specific header fields are not sent over h2 (RFC 9113 §8.2.2); TE: trailers is",
      run: async (fixture) => {
        const fields: [string, string][] = [
          ["connection", "keep-alive"],
          ["keep-alive", "timeout=5"],
          ["transfer-encoding", "chunked"],
          ["upgrade", "websocket"],
          ["proxy-connection", "keep-alive"],
          ["te", "gzip"],
        ];
        await withFetch(pinned(fixture), async (fetch) => {
          for (const [name, value] of fields) {
            const group = newGroup();
            const outcome = await fetch(`${origin(fixture, "h2")}/echo?group=${group}`, {
              headers: { [name]: value, "x-kept": "yes" },
            }).then(
              async (response) => (await response.json()) as Echo,
              (error: unknown) => error as Error,
            );
            if (outcome instanceof Error) {
              // Refused before sending: the message names the field, and the server saw nothing of it.
              assert.match(outcome.message, new RegExp(name, "i"), `${name}: ${outcome.message}`);
              assert.equal((await fixture.http2Stats("h2")).groups[group], undefined, name);
            } else {
              assert.equal(outcome.headers[name], undefined, `${name} was sent`);
              assert.equal(outcome.headers["x-kept"], "yes");
            }
          }
          const group = newGroup();
          const echo = (await (
            await fetch(`${origin(fixture, "h2")}/echo?group=${group}`, { headers: { te: "trailers" } })
          ).json()) as Echo;
          assert.equal(echo.headers["te"], "trailers");
        });
      },
    },
    {
      name: "pseudo-header fields: :authority is host:port, :path has the query, :scheme https",
      run: async (fixture) => {
        const group = newGroup();
        const path = `/echo?group=${group}&a=1&b=two%20words`;
        await withFetch(pinned(fixture), async (fetch) => {
          const echo = (await (await fetch(`${origin(fixture, "h2")}${path}#fragment`)).json()) as Echo;
          assert.deepEqual(
            [echo.headers[":method"], echo.headers[":scheme"], echo.headers[":authority"], echo.headers[":path"]],
            ["GET", "https", `localhost:${fixture.http2Ports.h2}`, path],
          );
        });
        assert.deepEqual((await groupAt(fixture, "h2", group)).versions, { "2.0": 1 });
      },
    },
    // The runtimes' own servers.
    {
      name: "Deno.serve over h2: GET, a POST echoed, 1 MiB, and 10 concurrent requests on one connection",
      timeout: () => LONG,
      run: async (fixture) => {
        const url = (path: string) => runtimeUrl(fixture, "denoServe", path);
        const group = newGroup();
        await withFetch(pinned(fixture), async (fetch) => {
          await hello(fetch, await url("/hello"));
          const echoed = await fetch(await url("/echo"), { method: "POST", body: "posted to Deno" });
          assert.equal(await echoed.text(), "posted to Deno");
          await readPattern((await fetch(await url(`/pattern/${MiB}`))).body!, MiB);
          // Held until all 10 are in flight: on one connection, only h2 can carry them at once.
          const held = await url(`/held?group=${group}&total=10`);
          await Promise.all(Array.from({ length: 10 }, () => hello(fetch, held)));
        });
        const ports = await fixture.http2RuntimePorts("denoServe", group);
        assert.equal(ports.length, 10);
        assert.equal(new Set(ports).size, 1, `${new Set(ports).size} connections`);
      },
    },
    {
      name: "Bun.serve, which speaks HTTP/1.1 only: requests work, concurrent ones on connections of their own",
      timeout: () => LONG,
      run: async (fixture) => {
        const url = (path: string) => runtimeUrl(fixture, "bunServe", path);
        const group = newGroup();
        await withFetch(pinned(fixture), async (fetch) => {
          await hello(fetch, await url("/hello"));
          const echoed = await fetch(await url("/echo"), { method: "POST", body: "posted to Bun" });
          assert.equal(await echoed.text(), "posted to Bun");
          const held = await url(`/held?group=${group}&total=2`);
          await Promise.all([hello(fetch, held), hello(fetch, held)]);
        });
        const ports = await fixture.http2RuntimePorts("bunServe", group);
        assert.equal(new Set(ports).size, 2, "one connection per request in flight");
      },
    },
  ],
};
