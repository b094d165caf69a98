// Malformed options are ERR_CONFIG at once, naming what is wrong.
import { createPinnedFetch, type PinnedFetchOptions } from "../../src/index.js";
import { type Group, assert, rejection, thrown } from "./check.js";
import type { Fixture } from "./description.js";

const refuses = (what: string, options: PinnedFetchOptions | ((fixture: Fixture) => PinnedFetchOptions)) => ({
  name: `refuses ${what}`,
  run: (fixture: Fixture) => {
    const error = thrown(() => createPinnedFetch(typeof options === "function" ? options(fixture) : options));
    assert.equal(error.code, "ERR_CONFIG");
  },
});

/** A runtime other than the one we run in whose APIs are missing here (Node's are in all three). */
const missingRuntime = (fixture: Fixture) => (fixture.runtime === "deno" ? "bun" : "deno");

export const config: Group = {
  name: "configuration errors",
  scenarios: [
    refuses("a bare base64 pin of a SHA-1's length", { pins: { localhost: ["AAAAAAAAAAAAAAAAAAAAAAAAAAA="] } }),
    refuses("a pin of the wrong length", { pins: { localhost: ["sha256/AAAA"] } }),
    refuses("a pin that is not base64", { pins: { localhost: ["sha256/not base64 at all, not at all, no no!!="] } }),
    refuses("the SHA-256 of empty input", { pins: { localhost: ["sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="] } }),
    refuses("a host with no pins", { pins: { localhost: [] } }),
    refuses("a pinned host that is not a host name", (fixture) => ({ pins: { "https://localhost/": [fixture.pins.root] } })),
    refuses("a ca that is not PEM", { ca: "not a certificate" }),
    refuses("a PEM block that is not a certificate", { ca: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n" }),
    refuses("a negative connectTimeout", { connectTimeout: -1 }),
    refuses("a timeout that is not a number", { timeout: "5s" as never }),
    refuses("a connections limit of 0", { connections: 0 }),
    refuses("a connections limit that is not a whole number", { connections: 1.5 }),
    refuses("an unknown runtime", { runtime: "browser" as "node" }),
    refuses("a runtime object without connect", { runtime: { name: "custom" } as never }),
    {
      name: "refuses a runtime whose APIs are not here",
      run: (fixture) => {
        const error = thrown(() => createPinnedFetch({ runtime: missingRuntime(fixture) }));
        assert.equal(error.code, "ERR_CONFIG");
        assert.match(error.message, new RegExp(`"${missingRuntime(fixture)}".*not available`));
      },
    },
    {
      name: "names the bad pin and the expected form",
      run: () => {
        const error = thrown(() => createPinnedFetch({ pins: { "api.example.com": ["sha1/abc"] } }));
        assert.match(error.message, /api\.example\.com.*"sha1\/abc".*sha256\//);
      },
    },
    {
      name: "refuses plain http URLs",
      run: async () => {
        const fetch = createPinnedFetch();
        assert.equal((await rejection(fetch("http://127.0.0.1:1/"))).code, "ERR_CONFIG");
      },
    },
  ],
};
