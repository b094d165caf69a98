// What decoding a response body can make the client hold: a decompression
// bomb comes in pieces of at most 64 KiB in every coding, with the process's
// memory flat; decoding goes no faster than the reader; and a response may
// stack at most five codings. Run over HTTP/1.1 and over HTTP/2
// (harness/http2.ts): over h2, a reader that stops must stop the stream's
// flow-control window.
import process from "node:process";

import {
  type Group,
  type Scenario,
  assert,
  delay,
  eventually,
  local,
  rejection,
  rejectsWith,
  withFetch,
} from "./harness/check.js";
import { BOMBS, ENCODED_TEXT, HELLO, bombPath } from "../support/content.js";
import type { Fixture } from "./harness/description.js";

/** The most a decoded body may hand on in one chunk. */
const PIECE = 64 * 1024;
/**
 * RSS growth a bomb may cause while it is read, with a wide margin: the
 * decoded chunks are garbage that the collector gets to in its own time
 * (20 to 90 MiB measured), while in Deno the br bomb as one chunk took 1 GiB.
 */
const MEMORY_GROWTH = 384 * 1024 * 1024;
/** Decoded bytes between RSS samples (and every chunk over PIECE is sampled). */
const SAMPLE_EVERY = 4 * 1024 * 1024;
/** Random bytes of the body that a reader stops reading: more than loopback buffers hold. */
const NOISE_BYTES = 64 * 1024 * 1024;

const served = (fixture: Fixture, path: string) => `https://localhost:${fixture.ports.decoding}${path}`;
const encoded = (fixture: Fixture, codings: string) => `https://localhost:${fixture.ports.tls13}/encoded/${codings}`;
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** Reads `response`'s whole body: its length, its largest chunk, and how far the process's RSS grew meanwhile. */
async function measure(response: Response): Promise<{ total: number; largest: number; growth: number }> {
  const reader = response.body!.getReader();
  const start = process.memoryUsage().rss;
  let [total, largest, peak, sampled] = [0, 0, start, 0];
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    total += read.value.length;
    largest = Math.max(largest, read.value.length);
    if (total - sampled >= SAMPLE_EVERY || read.value.length > PIECE) {
      sampled = total;
      peak = Math.max(peak, process.memoryUsage().rss);
    }
  }
  return { total, largest, growth: peak - start };
}

/** Reads what is left of `reader`: how many bytes it was. */
async function readRest(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<number> {
  let total = 0;
  for (let read = await reader.read(); !read.done; read = await reader.read()) total += read.value.length;
  return total;
}

function bomb(coding: keyof typeof BOMBS): Scenario {
  return {
    name: `a ${coding} bomb (${mib(BOMBS[coding])} of zeros) comes in pieces of at most 64 KiB, with memory flat`,
    http1Only:
      "a bomb is a few hundred KB on the wire: it tests the decoder, the same above either protocol, and costs " +
      "seconds per runtime",
    run: (fixture) =>
      withFetch(local(fixture), async (fetch) => {
        const started = performance.now();
        const response = await fetch(served(fixture, bombPath(coding)));
        const { total, largest, growth } = await measure(response);
        const seconds = ((performance.now() - started) / 1000).toFixed(1);
        console.log(
          `${response.headers.get("content-length")} bytes of ${coding} to ${mib(total)} in ${fixture.runtime}: ` +
            `largest chunk ${largest} bytes, RSS growth ${mib(growth)}, ${seconds} s`,
        );
        assert.equal(total, BOMBS[coding]);
        assert.ok(largest <= PIECE, `a chunk of ${largest} bytes`);
        assert.ok(growth < MEMORY_GROWTH, `RSS grew by ${mib(growth)} while the bomb was read`);
      }),
    // Waiting for the fixture to make the bomb, then decoding it on a busy machine.
    timeout: () => 60_000,
  };
}

/**
 * A body whose encoding the server cut short, framed as complete (so neither
 * TLS nor HTTP framing can tell): the decoder must. Deno's node:zlib brotli
 * decoder ends quietly at a cut (its web DecompressionStream refuses it, but
 * has no bound on its output), so there the cut body comes through short: a
 * difference of the runtime's, written down in the README.
 */
const cutShort: Scenario = {
  name: "a compressed body that its server cut short is ERR_HTTP, saying why",
  run: (fixture) =>
    withFetch(local(fixture), async (fetch) => {
      const size = 256 * 1024;
      for (const coding of ["gzip", "deflate", "raw-deflate", "br"]) {
        const body = (await fetch(served(fixture, `/cut/random/${size}/${coding}`))).arrayBuffer();
        if (fixture.runtime === "deno" && coding === "br") {
          assert.ok(
            (await body).byteLength < size,
            "Deno's brotli decoder now refuses a cut stream: update the README",
          );
          continue;
        }
        const error = await rejection(body);
        assert.equal(error.code, "ERR_HTTP", coding);
        assert.match(error.message, /unexpected end of file/i, coding);
      }
    }),
};

export const decoding: Group = {
  name: "decoding",
  scenarios: [
    cutShort,
    bomb("gzip"),
    bomb("br"),
    {
      name: "gzip, x-gzip, deflate (zlib and raw), br and a stack of three come in pieces of at most 64 KiB",
      run: (fixture) =>
        withFetch(local(fixture), async (fetch) => {
          const size = 16 * 1024 * 1024;
          for (const codings of ["gzip", "x-gzip", "deflate", "raw-deflate", "br", "br,gzip,raw-deflate"]) {
            const { total, largest } = await measure(await fetch(served(fixture, `/zeros/${size}/${codings}`)));
            assert.equal(total, size, codings);
            assert.ok(largest <= PIECE, `${codings}: a chunk of ${largest} bytes`);
          }
        }),
    },
    {
      name: "decoding waits for the reader: a reader that stops stops the body being read from the network",
      run: (fixture) =>
        withFetch(local(fixture), async (fetch) => {
          const before = (await fixture.stats("decoding")).sentBytes;
          const reader = (await fetch(served(fixture, `/random/${NOISE_BYTES}/gzip`))).body!.getReader();
          const first = (await reader.read()).value!.length;
          // Until the server stops sending: at once, unless the client reads on without its reader.
          let sent = -1;
          for (let polls = 0; polls < 50; polls++) {
            const now = (await fixture.stats("decoding")).sentBytes - before;
            if (now === sent) break;
            sent = now;
            await delay(200);
          }
          console.log(`a stopped reader in ${fixture.runtime}: the server sent ${mib(sent)} of ${mib(NOISE_BYTES)}`);
          assert.ok(
            sent < NOISE_BYTES / 2,
            `the server could send ${mib(sent)} of ${mib(NOISE_BYTES)} while nobody read`,
          );
          assert.equal(first + (await readRest(reader)), NOISE_BYTES);
        }),
    },
    {
      name: "an encoded body keeps the body's own failures: aborting while it is read errors it with the reason",
      run: (fixture) =>
        withFetch(local(fixture), async (fetch) => {
          const controller = new AbortController();
          const response = await fetch(served(fixture, `/random/${NOISE_BYTES}/gzip`), { signal: controller.signal });
          const reader = response.body!.getReader();
          await reader.read();
          const reason = new Error("stop");
          controller.abort(reason);
          // Pieces decoded before the abort may still come, then the reason.
          await rejectsWith(readRest(reader), reason);
        }),
    },
    {
      name: "cancelling an encoded body closes its connection (over h2: resets its stream)",
      run: (fixture) =>
        withFetch(local(fixture), async (fetch) => {
          const before = await fixture.stats("decoding");
          const response = await fetch(served(fixture, `/random/${NOISE_BYTES}/gzip`));
          const reader = response.body!.getReader();
          await reader.read();
          await reader.cancel();
          if (fixture.protocol === "h2") {
            // RST_STREAM for that stream only: the connection stays for the others.
            const after = await eventually(
              () => fixture.stats("decoding"),
              (stats) => stats.resets! > before.resets!,
              "streams reset at the server",
            );
            assert.equal(after.open, 1, "connections open at the server");
            return;
          }
          await eventually(
            () => fixture.stats("decoding"),
            (stats) => stats.open === 0,
            "connections open at the server",
          );
        }),
    },
    {
      name: "a response that cannot be decoded, on a kept-alive connection, is the server's answer: nothing is sent again",
      run: (fixture) =>
        withFetch(local(fixture), async (fetch) => {
          assert.equal(await (await fetch(`https://localhost:${fixture.ports.tls13}/hello`)).text(), HELLO);
          const six = encoded(fixture, "gzip,gzip,gzip,gzip,gzip,gzip");
          for (const init of [{}, { method: "POST", body: "sent once" }]) {
            const before = await fixture.stats("tls13");
            const error = await rejection(fetch(six, init));
            assert.match(error.message, /6 content codings .* at most 5/);
            assert.equal((await fixture.stats("tls13")).requests - before.requests, 1, "requests the server saw");
          }
        }),
    },
    {
      name: "five stacked codings decode; six are ERR_HTTP before any decoding, known or not (as undici)",
      run: (fixture) =>
        withFetch(local(fixture), async (fetch) => {
          assert.equal(await (await fetch(encoded(fixture, "gzip,deflate,br,raw-deflate,gzip"))).text(), ENCODED_TEXT);
          for (const codings of ["gzip,gzip,gzip,gzip,gzip,gzip", "zstd,gzip,gzip,gzip,gzip,gzip"]) {
            const error = await rejection(fetch(encoded(fixture, codings)));
            assert.equal(error.code, "ERR_HTTP");
            assert.match(error.message, /6 content codings .* at most 5/);
          }
          // A redirect that is followed is not decoded, so its codings do not count (as in undici).
          const sixCodings = encodeURIComponent("gzip, gzip, gzip, gzip, gzip, gzip");
          const response = await fetch(
            `https://localhost:${fixture.ports.tls13}/redirect/302?to=/hello&encoding=${sixCodings}`,
          );
          assert.equal(await response.text(), HELLO);
          assert.equal(response.redirected, true);
        }),
    },
  ],
};
