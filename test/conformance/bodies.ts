// Bodies both ways as fetch handles them: every request body type with the
// headers derived from it, decoding of content codings, and responses that
// have no body. Run over HTTP/1.1 and over HTTP/2 (harness/http2.ts).
import { type Echo, type Group, HELLO, assert, local, rejection, rejectsWith, withFetch } from "./harness/check.js";
import { ENCODED_TEXT } from "../support/content.js";
import type { Fixture } from "./harness/description.js";

const url = (fixture: Fixture, path: string) => `https://localhost:${fixture.ports.tls13}${path}`;

export const bodies: Group = {
  name: "bodies",
  scenarios: [
    {
      name: "sends every request body type with the headers fetch derives from it",
      run: (fixture) =>
        withFetch(local(fixture), async (fetch) => {
          const form = new FormData();
          form.append("field", "value");
          const cases: [BodyInit, string, RegExp | string][] = [
            ["text", "text", /^text\/plain/],
            [new TextEncoder().encode("bytes"), "bytes", ""],
            [new TextEncoder().encode("buffer").buffer, "buffer", ""],
            [new Blob(["blob"], { type: "application/x-test" }), "blob", "application/x-test"],
            [new URLSearchParams({ a: "1", b: "two" }), "a=1&b=two", /^application\/x-www-form-urlencoded/],
            [form, "", /^multipart\/form-data; boundary=/],
          ];
          for (const [body, text, contentType] of cases) {
            const echo = (await (await fetch(url(fixture, "/echo"), { method: "POST", body })).json()) as Echo;
            if (body instanceof FormData) assert.match(echo.body, /name="field"\r\n\r\nvalue\r\n/);
            else assert.equal(echo.body, text);
            if (contentType === "") assert.equal(echo.headers["content-type"], undefined);
            else
              assert.match(
                echo.headers["content-type"] ?? "",
                contentType instanceof RegExp ? contentType : new RegExp(`^${contentType}$`),
              );
            assert.equal(echo.headers["content-length"], String(new TextEncoder().encode(echo.body).length));
          }
        }),
    },
    {
      name: "a body inside a Request: up to 64 KiB with a Content-Length, longer streamed chunked, abortable while read",
      run: (fixture) =>
        withFetch(local(fixture), async (fetch) => {
          const small = (await (
            await fetch(new Request(url(fixture, "/echo"), { method: "POST", body: "small" }))
          ).json()) as Echo;
          assert.deepEqual(
            [small.body, small.headers["content-length"], small.headers["transfer-encoding"]],
            ["small", "5", undefined],
          );
          const piece = new TextEncoder().encode("a".repeat(16 * 1024));
          let pieces = 0;
          const long = new ReadableStream<Uint8Array>({
            pull: (controller) => (pieces++ < 8 ? controller.enqueue(piece) : controller.close()),
          });
          const init = { method: "PUT", body: long, duplex: "half" } as RequestInit;
          const streamed = (await (await fetch(new Request(url(fixture, "/echo"), init))).json()) as Echo;
          assert.equal(streamed.body.length, 8 * piece.length);
          assert.deepEqual(
            [streamed.headers["content-length"], streamed.headers["transfer-encoding"]],
            [undefined, fixture.protocol === "h2" ? undefined : "chunked"],
          );
          const controller = new AbortController();
          const reason = new Error("stop");
          const endless = new ReadableStream<Uint8Array>({ start: (stream) => stream.enqueue(piece) });
          const waiting = fetch(
            new Request(url(fixture, "/echo"), {
              method: "PUT",
              body: endless,
              duplex: "half",
              signal: controller.signal,
            } as RequestInit),
          );
          controller.abort(reason);
          await rejectsWith(waiting, reason);
        }),
    },
    {
      name: "asks for gzip, deflate and br, unless the request says otherwise",
      run: (fixture) =>
        withFetch(local(fixture), async (fetch) => {
          const plain = (await (await fetch(url(fixture, "/echo"))).json()) as Echo;
          assert.equal(plain.headers["accept-encoding"], "gzip, deflate, br");
          const own = (await (
            await fetch(url(fixture, "/echo"), { headers: { "accept-encoding": "identity" } })
          ).json()) as Echo;
          assert.equal(own.headers["accept-encoding"], "identity");
        }),
    },
    {
      name: "decodes gzip, deflate (zlib and raw), br, and several codings in turn",
      run: (fixture) =>
        withFetch(local(fixture), async (fetch) => {
          for (const codings of ["gzip", "deflate", "raw-deflate", "br", "gzip,br", "br,deflate"]) {
            const response = await fetch(url(fixture, `/encoded/${codings}`));
            assert.equal(await response.text(), ENCODED_TEXT, codings);
          }
        }),
    },
    {
      name: "an empty body is empty whatever its Content-Encoding",
      run: (fixture) =>
        withFetch(local(fixture), async (fetch) => {
          for (const coding of ["gzip", "deflate", "br", "gzip, br"]) {
            const response = await fetch(url(fixture, `/empty/${encodeURIComponent(coding)}`));
            assert.equal(response.headers.get("content-encoding"), coding);
            assert.equal(await response.text(), "", coding);
          }
        }),
    },
    {
      name: "leaves a coding it does not know as it is",
      run: (fixture) =>
        withFetch(local(fixture), async (fetch) => {
          const response = await fetch(url(fixture, "/encoded/zstd"));
          assert.equal(response.headers.get("content-encoding"), "zstd");
          assert.equal(await response.text(), ENCODED_TEXT);
        }),
    },
    {
      name: "a body that does not decode is ERR_HTTP",
      run: (fixture) =>
        withFetch(local(fixture), async (fetch) => {
          const response = await fetch(url(fixture, "/encoded/corrupt"));
          const error = await rejection(response.arrayBuffer());
          assert.equal(error.code, "ERR_HTTP");
          assert.match(error.message, /gzip/);
        }),
    },
    {
      name: "HEAD, 204 and 304 responses have no body; repeated headers are combined, set-cookie kept apart",
      run: (fixture) =>
        withFetch(local(fixture), async (fetch) => {
          const head = await fetch(url(fixture, "/encoded/gzip"), { method: "HEAD" });
          assert.equal(head.status, 200);
          assert.equal(head.body, null);
          const repeated = await fetch(url(fixture, "/headers"));
          assert.equal(repeated.status, 204);
          assert.equal(repeated.body, null);
          assert.equal(repeated.headers.get("x-many"), "a, b");
          assert.deepEqual(repeated.headers.getSetCookie(), ["a=1; Secure", "b=2; HttpOnly"]);
          const notModified = await fetch(url(fixture, "/not-modified"));
          assert.equal(notModified.status, 304);
          assert.equal(notModified.body, null);
          assert.equal(notModified.headers.get("etag"), '"v1"');
        }),
    },
    {
      name: "skips interim responses (100, 103) and returns the final one",
      run: (fixture) =>
        withFetch(local(fixture), async (fetch) => {
          const response = await fetch(url(fixture, "/interim"));
          assert.equal(response.status, 200);
          assert.equal(response.headers.get("link"), null);
          assert.equal(await response.text(), HELLO);
        }),
    },
  ],
};
