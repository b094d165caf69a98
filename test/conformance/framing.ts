// Responses that a broken server sends: exact framing or ERR_HTTP, never a
// silently wrong body; early answers; connections that never finish.
import { createPinnedFetch } from "../../src/index.js";
import { type Group, assert, eventually, local, rejection, withFetch } from "./harness/check.js";
import type { Fixture } from "./harness/description.js";

const raw = (fixture: Fixture, path: string) => `https://localhost:${fixture.ports.raw}${path}`;

const malformed = (what: string, path: string) => ({
  name: `${what} is ERR_HTTP`,
  run: (fixture: Fixture) =>
    withFetch(local(fixture), async (fetch) => {
      assert.equal((await rejection(fetch(raw(fixture, path)))).code, "ERR_HTTP");
    }),
});

export const framing: Group = {
  name: "HTTP framing",
  scenarios: [
    {
      name: "reads a chunked body whose CRLF is split across writes",
      run: (fixture) =>
        withFetch(local(fixture), async (fetch) => {
          assert.equal(await (await fetch(raw(fixture, "/split-crlf"))).text(), "hello");
        }),
    },
    malformed("a head over 64 KiB in one write", "/big-head"),
    malformed("a status outside 100-599", "/status-600"),
    malformed("a control character in the reason", "/control-character"),
    malformed("Content-Length and Transfer-Encoding", "/length-and-chunked"),
    malformed("conflicting Content-Lengths", "/conflicting-lengths"),
    malformed("obsolete line folding", "/folded"),
    {
      name: "a body shorter than its Content-Length is ERR_HTTP",
      run: (fixture) =>
        withFetch(local(fixture), async (fetch) => {
          const response = await fetch(raw(fixture, "/short-body"));
          assert.equal((await rejection(response.text())).code, "ERR_HTTP");
        }),
    },
    {
      name: "returns an early answer without waiting for the request body, and cancels it",
      run: (fixture) =>
        withFetch(local(fixture), async (fetch) => {
          let cancelled = false;
          const body = new ReadableStream<Uint8Array>({
            start: (controller) => controller.enqueue(new Uint8Array(10)),
            cancel: () => {
              cancelled = true;
            },
          });
          const init = { method: "POST", body, duplex: "half" } as RequestInit;
          const response = await fetch(raw(fixture, "/early-413"), init);
          assert.equal(response.status, 413);
          assert.equal(cancelled, true);
        }),
    },
    {
      name: "fetch.close() closes the connections of concurrent first requests",
      run: async (fixture) => {
        const open = async () => (await fixture.stats("endless")).open;
        const before = await open();
        const fetch = createPinnedFetch(local(fixture));
        const url = `https://localhost:${fixture.ports.endless}/`;
        const responses = await Promise.all([1, 2, 3].map(() => fetch(url)));
        await eventually(open, (count) => count === before + 3, "open connections");
        await fetch.close();
        await eventually(open, (count) => count === before, "open connections after close()");
        for (const response of responses) await rejection(response.text());
      },
    },
  ],
};
