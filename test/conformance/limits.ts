// What a server can make the client hold, and what a failed request does
// with its body: the size limits as options, bytes sent on an idle pooled
// connection, and a body stream that a failed request never reads. Run over
// HTTP/1.1 and over HTTP/2 (harness/http2.ts).
import { PinnedFetchError, createPinnedFetch } from "../../src/index.js";
import {
  type Echo,
  type Group,
  type Scenario,
  assert,
  eventually,
  local,
  rejection,
  thrown,
  withFetch,
} from "./harness/check.js";
import type { Fixture } from "./harness/description.js";

const raw = (fixture: Fixture, path: string) => `https://localhost:${fixture.ports.raw}${path}`;

/** A response that passes with the default limits and fails with `option` set below what it needs. */
function limited(
  what: string,
  path: string,
  option: "maxHeaderSize" | "maxChunkLineSize",
  size: number,
  http1Only?: string,
): Scenario {
  return {
    name: `${what}: within the default limit, and ERR_HTTP naming ${option} below it`,
    ...(http1Only && { http1Only }),
    run: async (fixture) => {
      await withFetch(local(fixture), async (fetch) => {
        assert.equal(await (await fetch(raw(fixture, path))).text(), "ok");
      });
      await withFetch({ ...local(fixture), [option]: size }, async (fetch) => {
        const error = await rejection(fetch(raw(fixture, path)).then((response) => response.text()));
        assert.equal(error.code, "ERR_HTTP");
        assert.match(error.message, new RegExp(option));
      });
    },
  };
}

/** A body stream that counts what was read of it and keeps the reason it was cancelled with. */
function watchedBody() {
  const watched = { pulls: 0, cancelled: undefined as unknown };
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        watched.pulls++;
        controller.enqueue(new Uint8Array(1024).fill(0x61));
      },
      cancel(reason) {
        watched.cancelled = reason;
      },
    },
    { highWaterMark: 0 },
  );
  return { watched, stream };
}

export const limits: Group = {
  name: "limits and request safety",
  scenarios: [
    {
      name: "a response head over 64 KiB passes with maxHeaderSize raised to 128 KiB",
      run: (fixture) =>
        withFetch({ ...local(fixture), maxHeaderSize: 128 * 1024 }, async (fetch) => {
          assert.equal(await (await fetch(raw(fixture, "/big-head"))).text(), "ok");
        }),
    },
    limited(
      "a thousand interim 100 Continue heads (25 KB) count towards the head",
      "/interim-flood",
      "maxHeaderSize",
      16 * 1024,
    ),
    limited("10 KB of trailer fields", "/big-trailers", "maxHeaderSize", 4 * 1024),
    limited(
      "a 200-byte chunk-size line (extensions)",
      "/long-chunk-line",
      "maxChunkLineSize",
      100,
      "chunked framing is HTTP/1.1's",
    ),
    {
      name: "maxHeaderSize and maxChunkLineSize must be positive whole numbers (ERR_CONFIG)",
      http1Only: "makes no request",
      run: (fixture) => {
        for (const value of [0, -1, 1.5, Number.NaN, Infinity, "64"]) {
          for (const option of ["maxHeaderSize", "maxChunkLineSize"]) {
            const error = thrown(() => createPinnedFetch({ ...local(fixture), [option]: value }));
            assert.equal(error.code, "ERR_CONFIG");
            assert.match(error.message, new RegExp(option));
          }
        }
      },
    },
    {
      name: "what a server sends on an idle pooled connection is not taken as the next response",
      http1Only: "bytes on an idle HTTP/1.1 connection; over h2 every response is on its own stream",
      run: (fixture) =>
        withFetch(local(fixture), async (fetch) => {
          // The server answers, then sends a 408 on the idle connection 30 ms later.
          assert.equal(await (await fetch(raw(fixture, "/idle-408"))).text(), "first");
          // Once the client has dropped the connection that the 408 came on, nothing of it is left to take.
          await eventually(
            () => fixture.stats("raw"),
            (stats) => stats.open === 0,
            "the raw server's connections",
          );
          const response = await fetch(raw(fixture, "/idle-408"));
          assert.equal(response.status, 200);
          assert.equal(await response.text(), "first");
        }),
    },
    {
      name: "a body stream of a request that fails its pins is cancelled with the error, and none of it is read",
      run: (fixture) =>
        withFetch(local(fixture, [fixture.pins.otherLeaf]), async (fetch) => {
          const { watched, stream } = watchedBody();
          const error = await rejection(
            fetch(`https://localhost:${fixture.ports.tls13}/echo`, {
              method: "POST",
              body: stream,
              duplex: "half",
            } as RequestInit),
          );
          assert.equal(error.code, "ERR_PIN_MISMATCH");
          assert.equal(watched.pulls, 0);
          assert.equal(watched.cancelled, error);
        }),
    },
    {
      name: "a body inside a Request (as ky sends it) is read only once the connection passes its pins",
      run: (fixture) =>
        withFetch(local(fixture, [fixture.pins.otherLeaf]), async (fetch) => {
          const { watched, stream } = watchedBody();
          const request = new Request(`https://localhost:${fixture.ports.tls13}/echo`, {
            method: "POST",
            body: stream,
            duplex: "half",
          } as RequestInit);
          const error = await rejection(fetch(request));
          assert.equal(error.code, "ERR_PIN_MISMATCH");
          assert.equal(watched.pulls, 0);
          assert.ok(watched.cancelled instanceof PinnedFetchError, `cancelled with ${String(watched.cancelled)}`);
        }),
    },
    {
      name: "a Request made with keepalive, or given with init.body null, sends its body as it is (and reads it only after the pins)",
      run: async (fixture) => {
        const url = `https://localhost:${fixture.ports.tls13}/echo`;
        await withFetch(local(fixture, [fixture.pins.intermediate]), async (fetch) => {
          const keepalive = new Request(url, { method: "POST", body: "kept", keepalive: true });
          assert.equal(((await (await fetch(keepalive)).json()) as Echo).body, "kept");
        });
        await withFetch(local(fixture, [fixture.pins.otherLeaf]), async (fetch) => {
          const { watched, stream } = watchedBody();
          const request = new Request(url, { method: "POST", body: stream, duplex: "half" } as RequestInit);
          const error = await rejection(fetch(request, { body: null }));
          assert.equal(error.code, "ERR_PIN_MISMATCH");
          assert.equal(watched.pulls, 0);
        });
      },
    },
    {
      name: "a remembered valid signature does not vouch for the same certificate with its signature altered",
      run: (fixture) =>
        withFetch(local(fixture), async (fetch) => {
          assert.equal((await fetch(`https://localhost:${fixture.ports.tls13}/hello`)).status, 200);
          const error = await rejection(fetch(`https://localhost:${fixture.ports.tampered}/hello`));
          assert.equal(error.code, "ERR_CERT_UNTRUSTED");
          assert.match(error.message, /signature from localhost does not verify/);
        }),
    },
  ],
};
