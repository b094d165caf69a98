// HTTP over the pinned connection: framing both ways, keep-alive, TLS
// resumption within one instance only, and host names in every spelling.
// Run over HTTP/1.1 and over HTTP/2 (harness/http2.ts).
import { createPinnedFetch } from "../../src/index.js";
import { type Echo, type Group, HELLO, assert, local, rejection, withFetch } from "./harness/check.js";
import type { Fixture } from "./harness/description.js";

const url = (fixture: Fixture, path: string) => `https://localhost:${fixture.ports.tls13}${path}`;
const pinned = (fixture: Fixture) => local(fixture, [fixture.pins.intermediate]);

export const http: Group = {
  name: "HTTP over the pinned connection",
  scenarios: [
    {
      name: "reads a Content-Length body",
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          const response = await fetch(url(fixture, "/hello"));
          assert.equal(response.headers.get("content-length"), "19");
          assert.equal(response.url, url(fixture, "/hello"));
          assert.equal(await response.text(), HELLO);
        }),
    },
    {
      name: "reads a chunked body",
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          const response = await fetch(url(fixture, "/chunked"));
          // Over h2 a body without Content-Length is just DATA frames: Transfer-Encoding is HTTP/1.1's framing.
          assert.equal(response.headers.get("transfer-encoding"), fixture.protocol === "h2" ? null : "chunked");
          assert.equal(await response.text(), "one,two,three");
        }),
    },
    {
      name: "streams a large body",
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          const reader = (await fetch(url(fixture, "/bytes/1000000"))).body!.getReader();
          let total = 0;
          let chunks = 0;
          for (let read = await reader.read(); !read.done; read = await reader.read()) {
            total += read.value.length;
            chunks++;
          }
          assert.equal(total, 1_000_000);
          assert.ok(chunks > 1, "the body arrives in pieces");
        }),
    },
    {
      name: "sends a request body with its headers",
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          const response = await fetch(url(fixture, "/echo"), {
            method: "POST",
            body: "ping",
            headers: { "x-test": "yes" },
          });
          const echo = (await response.json()) as Echo;
          assert.equal(echo.method, "POST");
          assert.equal(echo.body, "ping");
          assert.equal(echo.headers["x-test"], "yes");
          assert.equal(echo.headers["content-length"], "4");
          // HTTP/2 carries the host in :authority (RFC 9113 §8.3.1).
          const authority = fixture.protocol === "h2" ? ":authority" : "host";
          assert.equal(echo.headers[authority], `localhost:${fixture.ports.tls13}`);
          assert.match(echo.headers["user-agent"] ?? "", /^pinned-fetch\//);
        }),
    },
    {
      name: "sends the same request whether fetch makes a Request of its arguments or not",
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          // Options without a body make no Request; `keepalive: false` is one only a Request checks, so it makes one.
          const inits: RequestInit[] = [
            {},
            {
              method: "get",
              headers: { "x-one": " padded ", accept: "text/plain", cookie: "a=1", origin: "https://o.test" },
            },
            {
              method: "delete",
              headers: [
                ["x-two", "a"],
                ["x-two", "b"],
              ],
            },
            { method: "PATCH", headers: new Headers({ "user-agent": "mine" }), redirect: "manual" },
            { method: "Options", redirect: "error", signal: new AbortController().signal },
          ];
          for (const init of inits) {
            const plain = (await (await fetch(url(fixture, "/echo"), init)).json()) as Echo;
            const made = (await (await fetch(url(fixture, "/echo"), { ...init, keepalive: false })).json()) as Echo;
            assert.deepEqual(plain, made, JSON.stringify(init));
          }
          // With a body, a Request is made, but the method sent is the one asked for (Bun's Request makes "Delete" GET).
          for (const method of ["Delete", "options"]) {
            const echo = (await (await fetch(url(fixture, "/echo"), { method, body: "x" })).json()) as Echo;
            assert.deepEqual([echo.method, echo.body], [method.toUpperCase(), "x"]);
          }
          const [manual, followed] = await Promise.all([
            fetch(url(fixture, "/redirect/302"), { redirect: "manual" }),
            fetch(url(fixture, "/redirect/302"), { redirect: "manual", keepalive: false }),
          ]);
          assert.deepEqual([manual.status, followed.status], [302, 302]);
          await Promise.all([manual.body?.cancel(), followed.body?.cancel()]);
          const refused = (init: RequestInit) => rejection(fetch(url(fixture, "/hello"), init));
          for (const init of [
            { method: "get\n" },
            { headers: { "bad name": "x" } },
            { redirect: "bogus" as RequestRedirect },
          ]) {
            assert.equal((await refused(init)).code, "ERR_CONFIG", JSON.stringify(init));
          }
        }),
    },
    {
      name: "sends a streamed request body chunked",
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          const body = new ReadableStream<Uint8Array>({
            start(controller) {
              controller.enqueue(new TextEncoder().encode("str"));
              controller.enqueue(new TextEncoder().encode("eam"));
              controller.close();
            },
          });
          const response = await fetch(url(fixture, "/echo"), { method: "PUT", body, duplex: "half" } as RequestInit);
          const echo = (await response.json()) as Echo;
          assert.equal(echo.body, "stream");
          assert.equal(echo.headers["transfer-encoding"], fixture.protocol === "h2" ? undefined : "chunked");
          assert.equal(echo.headers["content-length"], undefined);
        }),
    },
    {
      name: "reuses one connection for 20 sequential requests",
      run: async (fixture) => {
        const before = await fixture.stats("tls13");
        await withFetch(local(fixture, [fixture.pins.leaf]), async (fetch) => {
          for (let i = 0; i < 20; i++) assert.equal(await (await fetch(url(fixture, "/hello"))).text(), HELLO);
        });
        assert.equal((await fixture.stats("tls13")).connections - before.connections, 1);
      },
    },
    {
      name: "resumes TLS sessions within one instance, never across instances",
      run: async (fixture) => {
        const options = local(fixture, [fixture.pins.leaf]);
        const before = await fixture.stats("tls13");
        const delta = async () => {
          const now = await fixture.stats("tls13");
          return { connections: now.connections - before.connections, resumed: now.resumed - before.resumed };
        };
        const first = createPinnedFetch(options);
        for (let i = 0; i < 2; i++) {
          await (await first(url(fixture, "/hello"))).text();
          await first.close();
        }
        assert.deepEqual(await delta(), { connections: 2, resumed: 1 });
        await withFetch(options, async (second) => {
          await (await second(url(fixture, "/hello"))).text();
        });
        assert.deepEqual(await delta(), { connections: 3, resumed: 1 });
      },
    },
    {
      name: "pins an IP address host",
      run: (fixture) =>
        withFetch({ ca: fixture.ca.root, pins: { "127.0.0.1": [fixture.pins.intermediate] } }, async (fetch) => {
          assert.equal(await (await fetch(`https://127.0.0.1:${fixture.ports.tls13}/hello`)).text(), HELLO);
        }),
    },
    {
      name: "returns status and headers of a 404",
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          const response = await fetch(url(fixture, "/missing"));
          assert.equal(response.status, 404);
          assert.equal(response.ok, false);
          assert.equal(await response.text(), "not found");
        }),
    },
    ...["localhost.", "LOCALHOST", "LocalHost."].map((spelling) => ({
      name: `holds "${spelling}" to the rule for localhost`,
      run: async (fixture: Fixture) => {
        const before = await fixture.stats("tls13");
        await withFetch(local(fixture, [fixture.pins.otherRoot]), async (fetch) => {
          const error = await rejection(fetch(`https://${spelling}:${fixture.ports.tls13}/hello`));
          assert.equal(error.code, "ERR_PIN_MISMATCH");
        });
        assert.equal((await fixture.stats("tls13")).requests, before.requests);
      },
    })),
  ],
};
