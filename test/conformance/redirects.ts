// Redirects as the fetch standard follows them, with every hop pinned by
// its own host's rule and never leaving HTTPS. Run over HTTP/1.1 and over
// HTTP/2 (harness/http2.ts).
import { type PinnedFetchOptions } from "../../src/index.js";
import { type Echo, type Group, HELLO, assert, local, rejection, withFetch } from "./harness/check.js";
import type { Fixture, ServerName } from "./harness/description.js";

const origin = (fixture: Fixture, server: ServerName = "tls13") => `https://localhost:${fixture.ports[server]}`;
/** A URL on `from` that redirects with `status` to `to`. */
const redirect = (fixture: Fixture, status: number, to: string, from: ServerName = "tls13") =>
  `${origin(fixture, from)}/redirect/${status}?to=${encodeURIComponent(to)}`;
const pinned = (fixture: Fixture): PinnedFetchOptions => local(fixture, [fixture.pins.intermediate, fixture.pins.root]);

export const redirects: Group = {
  name: "redirects",
  scenarios: [
    {
      name: "follows 301, 302, 303, 307 and 308, reporting the final URL",
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          for (const status of [301, 302, 303, 307, 308]) {
            const response = await fetch(redirect(fixture, status, "/hello"));
            assert.equal(response.status, 200, String(status));
            assert.equal(await response.text(), HELLO);
            assert.equal(response.redirected, true);
            assert.equal(response.url, `${origin(fixture)}/hello`);
          }
        }),
    },
    {
      name: "turns a POST into a GET without its body on 301, 302 and 303, and keeps it on 307 and 308",
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          for (const [status, method, body] of [
            [301, "GET", ""],
            [302, "GET", ""],
            [303, "GET", ""],
            [307, "POST", "ping"],
            [308, "POST", "ping"],
          ] as const) {
            const init = { method: "POST", body: "ping", headers: { "content-type": "text/plain" } };
            const echo = (await (await fetch(redirect(fixture, status, "/echo"), init)).json()) as Echo;
            assert.deepEqual([echo.method, echo.body], [method, body], String(status));
            assert.equal(echo.headers["content-type"], method === "GET" ? undefined : "text/plain");
          }
        }),
    },
    {
      name: "drops Authorization and Cookie on a redirect to another origin, and keeps them on the same origin",
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          const headers = { authorization: "Bearer secret", cookie: "session=1", "x-kept": "yes" };
          const sameOrigin = (await (await fetch(redirect(fixture, 302, "/echo"), { headers })).json()) as Echo;
          assert.equal(sameOrigin.headers["authorization"], "Bearer secret");
          assert.equal(sameOrigin.headers["cookie"], "session=1");
          const otherOrigin = (await (
            await fetch(redirect(fixture, 302, `${origin(fixture, "tls12")}/echo`), { headers })
          ).json()) as Echo;
          assert.equal(otherOrigin.headers["authorization"], undefined);
          assert.equal(otherOrigin.headers["cookie"], undefined);
          assert.equal(otherOrigin.headers["x-kept"], "yes");
        }),
    },
    {
      name: "pins every hop by its own host's rule",
      run: async (fixture) => {
        const before = await fixture.stats("names");
        const options = {
          ...pinned(fixture),
          resolve: { localhost: "127.0.0.1", "a.example.com": "127.0.0.1" },
          pins: {
            localhost: [fixture.pins.intermediate, fixture.pins.root],
            "a.example.com": [fixture.pins.otherRoot, fixture.pins.otherLeaf],
          },
        };
        await withFetch(options, async (fetch) => {
          const error = await rejection(
            fetch(redirect(fixture, 302, `https://a.example.com:${fixture.ports.names}/hello`)),
          );
          assert.equal(error.code, "ERR_PIN_MISMATCH");
          assert.equal(error.host, "a.example.com");
        });
        assert.equal((await fixture.stats("names")).requests, before.requests);
      },
    },
    {
      name: 'returns the redirect itself with redirect: "manual"',
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          const response = await fetch(redirect(fixture, 302, "/hello"), { redirect: "manual" });
          assert.equal(response.status, 302);
          assert.equal(response.headers.get("location"), "/hello");
          assert.equal(response.redirected, false);
        }),
    },
    {
      name: 'refuses a redirect with redirect: "error", one to plain HTTP, and a 21st redirect',
      run: async (fixture) => {
        const before = await fixture.stats("tls13");
        await withFetch(pinned(fixture), async (fetch) => {
          const errorMode = await rejection(fetch(redirect(fixture, 302, "/hello"), { redirect: "error" }));
          assert.equal(errorMode.code, "ERR_HTTP");
          const plain = await rejection(fetch(redirect(fixture, 302, `http://127.0.0.1:${fixture.ports.tls13}/hello`)));
          assert.equal(plain.code, "ERR_HTTP");
          assert.match(plain.message, /HTTPS/);
          const loop = await rejection(fetch(`${origin(fixture)}/loop`));
          assert.equal(loop.code, "ERR_HTTP");
          assert.match(loop.message, /redirects/);
        });
        // One each for "error" and plain HTTP, and the first request plus 20 redirects for the loop.
        assert.equal((await fixture.stats("tls13")).requests - before.requests, 1 + 1 + 21);
      },
    },
    {
      name: "no message shows a URL's credentials, query or fragment: timeouts, redirect errors, loops",
      run: (fixture) =>
        withFetch({ ...pinned(fixture), timeout: 300 }, async (fetch) => {
          const secret = "?api_key=SECRET#frag";
          const shown = async (input: string, init: RequestInit, code: string, path: string) => {
            const error = await rejection(fetch(input, init));
            assert.equal(error.code, code, error.message);
            assert.ok(error.message.includes(`https://localhost:${fixture.ports.tls13}${path}`), error.message);
            assert.doesNotMatch(error.message, /SECRET|api_key|frag|user/);
          };
          await shown(`${origin(fixture)}/stall${secret}`, {}, "ERR_TIMEOUT", "/stall ");
          await shown(
            `${redirect(fixture, 302, "/hello")}&api_key=SECRET#frag`,
            { redirect: "error" },
            "ERR_HTTP",
            "/redirect/302 ",
          );
          await shown(`${origin(fixture)}/loop${secret}`, {}, "ERR_HTTP", "/loop:");
          const withCredentials = `https://user:SECRET@localhost:${fixture.ports.tls13}/hello${secret}`;
          await shown(`${redirect(fixture, 302, withCredentials)}&api_key=SECRET`, {}, "ERR_HTTP", "/hello)");
          const body = new ReadableStream({ start: (controller) => controller.close() });
          const streamed = { method: "PUT", body, duplex: "half" } as RequestInit;
          await shown(`${redirect(fixture, 307, "/echo")}&api_key=SECRET#frag`, streamed, "ERR_HTTP", "/redirect/307 ");
        }),
    },
    {
      name: "refuses to repeat a streamed body for a 307",
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          const body = new ReadableStream<Uint8Array>({
            start(controller) {
              controller.enqueue(new TextEncoder().encode("once"));
              controller.close();
            },
          });
          const init = { method: "PUT", body, duplex: "half" } as RequestInit;
          assert.equal((await rejection(fetch(redirect(fixture, 307, "/echo"), init))).code, "ERR_HTTP");
        }),
    },
  ],
};
