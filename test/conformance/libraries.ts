// pinned-fetch as the `fetch` of ky, ofetch and axios, the wrappers users
// drop it into: requests, bodies and streams through each library's own API,
// and what a wrong pin, a timeout and an HTTP error look like through each.
// Run over HTTP/1.1 and over HTTP/2 (harness/http2.ts).
import axios, { AxiosError } from "axios";
import ky, { HTTPError, type Progress, TimeoutError } from "ky";
import { FetchError, createFetch, ofetch } from "ofetch";

import { type PinnedFetch, PinnedFetchError, type PinnedFetchOptions } from "../../src/index.js";
import { type Echo, type Group, HELLO, assert, eventually, local, rejection, withFetch } from "./harness/check.js";
import { ENCODED_TEXT } from "../support/content.js";
import type { Fixture, ServerName } from "./harness/description.js";

const origin = (fixture: Fixture, server: ServerName = "tls13") => `https://localhost:${fixture.ports[server]}`;
/** Pins the test intermediate and root: the servers' own chain. */
const pinned = (fixture: Fixture): PinnedFetchOptions => local(fixture, [fixture.pins.intermediate, fixture.pins.root]);
/** Pins the other CA: the servers' chain is trusted, but misses these pins. */
const wrongPins = (fixture: Fixture): PinnedFetchOptions =>
  local(fixture, [fixture.pins.otherIntermediate, fixture.pins.otherRoot]);
/** axios as the README shows it: only the fetch adapter calls env.fetch. */
const pinnedAxios = (fetch: PinnedFetch, baseURL: string) =>
  axios.create({ adapter: "fetch", env: { fetch }, baseURL });
/** Runs `use` with a pinned fetch as globalThis.fetch, as the README shows it, and puts the runtime's back. */
async function withGlobalFetch(options: PinnedFetchOptions, use: () => Promise<void>): Promise<void> {
  const original = globalThis.fetch;
  await withFetch(options, async (fetch) => {
    globalThis.fetch = fetch;
    try {
      await use();
    } finally {
      globalThis.fetch = original;
    }
  });
}
/** A JSON body with a nested value and a character outside ASCII. */
const PAYLOAD = { name: "pinned", items: [1, 2, 3], nested: { ok: true }, text: "grüße" };

/** What `promise` rejects with, whatever it is; fails if it resolves. */
async function failure(promise: Promise<unknown>): Promise<unknown> {
  const outcome = await promise.then(
    () => ({ error: undefined, resolved: true }),
    (error: unknown) => ({ error, resolved: false }),
  );
  assert.equal(outcome.resolved, false, "expected a rejection, but it succeeded");
  return outcome.error;
}

/** Reads a byte stream to its end. */
async function readAll(stream: ReadableStream<Uint8Array>): Promise<{ bytes: Uint8Array; chunks: number }> {
  const parts: Uint8Array[] = [];
  const reader = stream.getReader();
  for (let result = await reader.read(); !result.done; result = await reader.read()) parts.push(result.value);
  const bytes = new Uint8Array(parts.reduce((size, part) => size + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  return { bytes, chunks: parts.length };
}

/** Waits until the server has seen `handshakes` more aborted handshakes than `before`, and asserts it saw no request. */
async function handshakesRefused(
  fixture: Fixture,
  server: ServerName,
  before: { handshakeFailures: number; requests: number; receivedBytes: number },
  handshakes: number,
) {
  const after = await eventually(
    () => fixture.stats(server),
    (stats) => stats.handshakeFailures >= before.handshakeFailures + handshakes,
    "the server's handshake failures",
  );
  assert.equal(after.handshakeFailures, before.handshakeFailures + handshakes, "handshakes refused");
  assert.equal(after.requests, before.requests, "no request reached the server");
  assert.equal(after.receivedBytes, before.receivedBytes, "no byte reached the server");
}

/**
 * Asserts that the request to `raw`'s /no-answer that a library aborted was sent on one connection, which the abort
 * closed (over h2, where other streams may share it: the abort reset the request's stream).
 */
async function abortedAtServer(fixture: Fixture, before: Awaited<ReturnType<Fixture["stats"]>>) {
  const h2 = fixture.protocol === "h2";
  const after = await eventually(
    () => fixture.stats("raw"),
    (stats) => (h2 ? stats.resets! > before.resets! : stats.open <= before.open),
    h2 ? "streams reset" : "connections left open",
  );
  assert.equal(after.connections, before.connections + 1);
  assert.ok(after.receivedBytes > before.receivedBytes, "the request was sent");
}

export const libraries: Group = {
  name: "ky, ofetch and axios",
  scenarios: [
    {
      name: "ky: text(), json() and a gzip body, through the pinned fetch",
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          assert.equal(await ky.get(`${origin(fixture)}/hello`, { fetch }).text(), HELLO);
          assert.equal(await ky.get(`${origin(fixture)}/encoded/gzip`, { fetch }).text(), ENCODED_TEXT);
          const echo = await ky.get(`${origin(fixture)}/echo`, { fetch, headers: { "x-from": "ky" } }).json<Echo>();
          assert.equal(echo.method, "GET");
          assert.equal(echo.headers["accept"], "application/json");
          assert.equal(echo.headers["x-from"], "ky");
          assert.match(echo.headers["user-agent"] ?? "", /^pinned-fetch\//);
          assert.equal(echo.body, "");
        }),
    },
    {
      name: "ky: post with json is seen by /echo with its method, content type and body",
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          const echo = await ky.post(`${origin(fixture)}/echo`, { json: PAYLOAD, fetch }).json<Echo>();
          assert.equal(echo.method, "POST");
          assert.equal(echo.headers["content-type"], "application/json");
          assert.equal(
            echo.headers["content-length"],
            String(new TextEncoder().encode(JSON.stringify(PAYLOAD)).length),
          );
          assert.deepEqual(JSON.parse(echo.body), PAYLOAD);
          const put = await ky
            .put(`${origin(fixture)}/echo`, { body: "plain", headers: { "content-type": "text/plain" }, fetch })
            .json<Echo>();
          assert.deepEqual([put.method, put.headers["content-type"], put.body], ["PUT", "text/plain", "plain"]);
        }),
    },
    {
      name: "ky: baseUrl, prefix and searchParams reach the server",
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          const api = ky.create({ baseUrl: `${origin(fixture)}/`, fetch });
          // /redirect/302 leads to its `to` parameter, so only a query that arrived gets the echo.
          const response = await api.get("redirect/302", { searchParams: { to: "/echo", other: "x" } });
          assert.equal(response.url, `${origin(fixture)}/echo`);
          assert.equal(response.redirected, true);
          assert.equal(((await response.json()) as Echo).method, "GET");
          assert.equal(await api.get("redirect/307", { searchParams: "to=/hello" }).text(), HELLO);
          // `prefix` joins strings, so an input with a leading slash still goes under it.
          const prefixed = ky.create({ prefix: `${origin(fixture)}/redirect`, fetch });
          assert.equal(await prefixed.get("/302", { searchParams: { to: "/hello" } }).text(), HELLO);
        }),
    },
    {
      name: "ky: download progress over the pinned response stream",
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          const size = 256 * 1024;
          const downloads: Progress[] = [];
          const bytes = new Uint8Array(
            await ky
              .get(`${origin(fixture)}/bytes/${size}`, {
                fetch,
                onDownloadProgress: (progress) => void downloads.push(progress),
              })
              .arrayBuffer(),
          );
          assert.equal(bytes.length, size);
          assert.ok(bytes.every((byte) => byte === 0x61));
          // How many chunks the body comes in is the network's doing (Bun can read it all at once): progress only grows.
          assert.ok(downloads.length >= 2, "progress is told at the start and as chunks arrive");
          assert.ok(
            downloads.every(
              (progress, index) => index === 0 || progress.transferredBytes >= downloads[index - 1]!.transferredBytes,
            ),
          );
          assert.deepEqual(downloads.at(-1), { percent: 1, totalBytes: size, transferredBytes: size });
          // (Not onUploadProgress: ky refuses it in Deno and Bun, whose Request never reads `duplex`, before calling fetch.)
        }),
    },
    {
      name: "ky: a timeout rejects with ky's TimeoutError, and its abort closes the connection",
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          const before = await fixture.stats("raw");
          const url = `https://localhost:${fixture.ports.raw}/no-answer`;
          const error = await failure(ky.get(url, { fetch, timeout: 300, retry: 0 }).text());
          assert.ok(error instanceof TimeoutError, `expected ky's TimeoutError, got ${String(error)}`);
          assert.equal(error.request.url, url);
          // ky only aborts its signal; the connection closes if the pinned fetch honours it (before close() below).
          await abortedAtServer(fixture, before);
        }),
    },
    {
      name: "ky: a wrong pin rejects with the PinnedFetchError itself, at once: ky retries no error of pinned-fetch",
      run: async (fixture) => {
        const before = await fixture.stats("tls13");
        await withFetch(wrongPins(fixture), async (fetch) => {
          const error = await rejection(ky.get(`${origin(fixture)}/hello`, { fetch }).text());
          assert.equal(error.code, "ERR_PIN_MISMATCH");
          assert.equal(error.host, "localhost");
          assert.equal(
            (await rejection(ky.post(`${origin(fixture)}/echo`, { fetch, json: PAYLOAD }).text())).code,
            "ERR_PIN_MISMATCH",
          );
        });
        await handshakesRefused(fixture, "tls13", before, 2);
      },
    },
    {
      name: "ky: a shouldRetry that opts connection failures in retries a GET, but not a wrong pin",
      run: async (fixture) => {
        // As the README gives it.
        const shouldRetry = ({ error }: { error: Error }) =>
          (error instanceof PinnedFetchError && ["ERR_CONNECT", "ERR_TIMEOUT"].includes(error.code)) || undefined;
        const retry = { limit: 2, delay: () => 0, shouldRetry };
        const before = await fixture.stats("reset");
        await withFetch(pinned(fixture), async (fetch) => {
          const error = await rejection(ky.get(`https://localhost:${fixture.ports.reset}/`, { fetch, retry }).text());
          assert.equal(error.code, "ERR_CONNECT");
        });
        const after = await eventually(
          () => fixture.stats("reset"),
          (stats) => stats.connections >= before.connections + 3,
          "connections to the reset server",
        );
        assert.equal(after.connections, before.connections + 3, "the first attempt and two retries");
        const beforePin = await fixture.stats("tls13");
        await withFetch(wrongPins(fixture), async (fetch) => {
          assert.equal(
            (await rejection(ky.get(`${origin(fixture)}/hello`, { fetch, retry }).text())).code,
            "ERR_PIN_MISMATCH",
          );
        });
        await handshakesRefused(fixture, "tls13", beforePin, 1);
      },
    },
    {
      name: "ofetch: createFetch({ fetch }) parses JSON from /echo and text from /hello",
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          const $fetch = createFetch({ fetch });
          const echo = await $fetch<Echo>(`${origin(fixture)}/echo`, { headers: { "x-from": "ofetch" } });
          assert.equal(echo.method, "GET");
          assert.equal(echo.headers["x-from"], "ofetch");
          assert.match(echo.headers["user-agent"] ?? "", /^pinned-fetch\//);
          assert.equal(await $fetch<string>(`${origin(fixture)}/hello`), HELLO);
          assert.equal(await $fetch(`${origin(fixture)}/encoded/br`, { responseType: "text" }), ENCODED_TEXT);
          const raw = await $fetch.raw<Echo>(`${origin(fixture)}/echo`);
          assert.equal(raw.status, 200);
          assert.equal(raw._data?.method, "GET");
        }),
    },
    {
      name: "ofetch: a POST with an object body is sent as JSON",
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          const $fetch = createFetch({ fetch });
          const echo = await $fetch<Echo>(`${origin(fixture)}/echo`, { method: "POST", body: PAYLOAD });
          assert.equal(echo.method, "POST");
          assert.equal(echo.headers["content-type"], "application/json");
          assert.equal(echo.headers["accept"], "application/json");
          assert.equal(
            echo.headers["content-length"],
            String(new TextEncoder().encode(JSON.stringify(PAYLOAD)).length),
          );
          assert.deepEqual(JSON.parse(echo.body), PAYLOAD);
        }),
    },
    {
      name: "ofetch: ofetch.create with baseURL and query reaches the server",
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          const api = ofetch.create({ baseURL: origin(fixture) }, { fetch });
          // /redirect/STATUS leads to its `to` parameter; a 307 keeps the POST and its body.
          const echo = await api<Echo>("/redirect/307", {
            method: "POST",
            body: PAYLOAD,
            query: { to: "/echo", other: "x" },
          });
          assert.equal(echo.method, "POST");
          assert.deepEqual(JSON.parse(echo.body), PAYLOAD);
          assert.equal(await api<string>("/redirect/302", { query: { to: "/hello" } }), HELLO);
        }),
    },
    {
      name: 'ofetch: responseType "stream" gives the response body, read to its end',
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          const $fetch = createFetch({ fetch });
          const size = 1024 * 1024;
          const { bytes, chunks } = await readAll(
            await $fetch(`${origin(fixture)}/bytes/${size}`, { responseType: "stream" }),
          );
          assert.equal(bytes.length, size);
          assert.ok(bytes.every((byte) => byte === 0x61));
          assert.ok(chunks > 1, "a 1 MiB body comes in several chunks");
          const chunked = await readAll(await $fetch(`${origin(fixture)}/chunked`, { responseType: "stream" }));
          assert.equal(new TextDecoder().decode(chunked.bytes), "one,two,three");
        }),
    },
    {
      name: "ofetch: a wrong pin is a FetchError whose cause is the PinnedFetchError, after ofetch's one retry of a GET",
      run: async (fixture) => {
        const before = await fixture.stats("tls13");
        await withFetch(wrongPins(fixture), async (fetch) => {
          const $fetch = createFetch({ fetch });
          const error = await failure($fetch(`${origin(fixture)}/hello`));
          assert.ok(error instanceof FetchError, `expected ofetch's FetchError, got ${String(error)}`);
          assert.equal(error.status, undefined);
          assert.match(error.message, /<no response> Certificate pin mismatch for localhost/);
          const cause = await rejection(Promise.reject(error.cause));
          assert.equal(cause.code, "ERR_PIN_MISMATCH");
          assert.equal(cause.host, "localhost");
        });
        await handshakesRefused(fixture, "tls13", before, 2);
        // retry: false, and a POST (which ofetch does not retry), stop after the first handshake.
        const middle = await fixture.stats("tls13");
        await withFetch(wrongPins(fixture), async (fetch) => {
          const $fetch = createFetch({ fetch });
          for (const pending of [
            $fetch(`${origin(fixture)}/hello`, { retry: false }),
            $fetch(`${origin(fixture)}/echo`, { method: "POST", body: PAYLOAD }),
          ]) {
            const error = await failure(pending);
            assert.ok(error instanceof FetchError);
            assert.equal((await rejection(Promise.reject(error.cause))).code, "ERR_PIN_MISMATCH");
          }
        });
        await handshakesRefused(fixture, "tls13", middle, 2);
      },
    },
    {
      name: "ofetch: a timeout is a FetchError whose cause is ofetch's own reason, and its abort closes the connection",
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          const before = await fixture.stats("raw");
          const error = await failure(
            createFetch({ fetch })(`https://localhost:${fixture.ports.raw}/no-answer`, { timeout: 300, retry: false }),
          );
          assert.ok(error instanceof FetchError, `expected ofetch's FetchError, got ${String(error)}`);
          assert.ok(error.cause instanceof Error);
          assert.equal(error.cause.name, "TimeoutError");
          assert.ok(
            !(error.cause instanceof PinnedFetchError),
            "the signal's reason itself, not an error of pinned-fetch",
          );
          await abortedAtServer(fixture, before);
        }),
    },
    {
      name: "a 404 is ky's HTTPError and ofetch's FetchError, each with the response and its body",
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          const kyError = await failure(ky.get(`${origin(fixture)}/nowhere`, { fetch }).text());
          assert.ok(kyError instanceof HTTPError, `expected ky's HTTPError, got ${String(kyError)}`);
          assert.equal(kyError.response.status, 404);
          assert.equal(kyError.data, "not found", "ky 2 reads the body into data");
          const ofetchError = await failure(createFetch({ fetch })(`${origin(fixture)}/nowhere`, { retry: false }));
          assert.ok(ofetchError instanceof FetchError, `expected ofetch's FetchError, got ${String(ofetchError)}`);
          assert.equal(ofetchError.status, 404);
          assert.equal(ofetchError.data, "not found");
        }),
    },
    {
      name: 'axios: with adapter "fetch" and env.fetch, JSON in and out goes through the pinned fetch',
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          const api = pinnedAxios(fetch, origin(fixture));
          const { data: echo, status } = await api.get<Echo>("/echo", { headers: { "x-from": "axios" } });
          assert.equal(status, 200);
          assert.equal(echo.method, "GET");
          assert.equal(echo.headers["x-from"], "axios");
          assert.match(echo.headers["user-agent"] ?? "", /^axios\//);
          const { data: posted } = await api.post<Echo>("/echo", PAYLOAD);
          assert.equal(posted.method, "POST");
          assert.equal(posted.headers["content-type"], "application/json");
          assert.deepEqual(JSON.parse(posted.body), PAYLOAD);
          assert.equal((await api.get<string>("/encoded/gzip", { responseType: "text" })).data, ENCODED_TEXT);
          const notFound = await failure(api.get("/nowhere"));
          assert.ok(notFound instanceof AxiosError, `expected an AxiosError, got ${String(notFound)}`);
          assert.equal(notFound.response?.status, 404);
          assert.equal(notFound.response?.data, "not found");
        }),
    },
    {
      name: "axios: a wrong pin is an AxiosError whose cause is the PinnedFetchError, and no request reaches the server",
      run: async (fixture) => {
        const before = await fixture.stats("tls13");
        await withFetch(wrongPins(fixture), async (fetch) => {
          const api = pinnedAxios(fetch, origin(fixture));
          for (const pending of [api.get("/hello"), api.post("/echo", PAYLOAD)]) {
            const error = await failure(pending);
            assert.ok(error instanceof AxiosError, `expected an AxiosError, got ${String(error)}`);
            assert.equal(error.code, "ERR_PIN_MISMATCH");
            assert.equal(error.response, undefined);
            const cause = await rejection(Promise.reject(error.cause));
            assert.equal(cause.code, "ERR_PIN_MISMATCH");
            assert.equal(cause.host, "localhost");
          }
        });
        await handshakesRefused(fixture, "tls13", before, 2);
      },
    },
    {
      name: 'axios: env.fetch without adapter "fetch" is never called: axios uses its own http adapter',
      http1Only: "pinned-fetch is not used",
      run: (fixture) =>
        withFetch(wrongPins(fixture), async (fetch) => {
          let calls = 0;
          const counted = ((...args: Parameters<PinnedFetch>) => (calls++, fetch(...args))) as typeof globalThis.fetch;
          // The test CA is not one the runtime trusts, so the unpinned request fails too; only how tells the two apart.
          const error = await failure(axios.get(`${origin(fixture)}/hello`, { env: { fetch: counted } }));
          assert.equal(calls, 0, "the pinned fetch was not used");
          assert.ok(
            !(error instanceof AxiosError && error.cause instanceof PinnedFetchError),
            `not an error of pinned-fetch: ${String(error)}`,
          );
        }),
    },
    {
      name: "as globalThis.fetch, it pins ky, ofetch and axios given no fetch, and refuses every URL that is not https:",
      run: async (fixture) => {
        const before = await fixture.stats("tls13");
        // The fixture's counters are read with the runtime's fetch, so the global is put back before they are.
        await withGlobalFetch(pinned(fixture), async () => {
          assert.equal(await ky.get(`${origin(fixture)}/hello`).text(), HELLO);
          assert.equal(await ofetch<string>(`${origin(fixture)}/hello`), HELLO);
          assert.equal((await axios.get<string>(`${origin(fixture)}/hello`, { adapter: "fetch" })).data, HELLO);
          const plain = await failure(ky.get(`${fixture.control}/stats/tls13`, { retry: 0 }).text());
          assert.ok(
            plain instanceof PinnedFetchError && plain.code === "ERR_CONFIG",
            `expected ERR_CONFIG, got ${String(plain)}`,
          );
          assert.match(plain.message, /not HTTPS/);
        });
        const middle = await fixture.stats("tls13");
        assert.equal(middle.requests, before.requests + 3);
        await withGlobalFetch(wrongPins(fixture), async () => {
          assert.equal((await rejection(ky.get(`${origin(fixture)}/hello`).text())).code, "ERR_PIN_MISMATCH");
          const error = await failure(ofetch(`${origin(fixture)}/hello`, { retry: false }));
          assert.ok(error instanceof FetchError);
          assert.equal((await rejection(Promise.reject(error.cause))).code, "ERR_PIN_MISMATCH");
          assert.equal(
            ((await failure(axios.get(`${origin(fixture)}/hello`, { adapter: "fetch" }))) as AxiosError).code,
            "ERR_PIN_MISMATCH",
          );
        });
        await handshakesRefused(fixture, "tls13", middle, 3);
      },
    },
  ],
};
