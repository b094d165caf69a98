// Malformed options are ERR_CONFIG at once, naming what is wrong, the same way at every entry point: nothing
// misspelt, mistyped or out of range is ignored, since that could leave a pinned host unpinned without a word.
import { connectTls, createPinnedFetch, getPins, type PinnedFetchOptions } from "../../src/index.js";
import { type Group, assert, rejection, thrown } from "./harness/check.js";
import type { Fixture } from "./harness/description.js";

const refuses = (what: string, options: PinnedFetchOptions | ((fixture: Fixture) => PinnedFetchOptions)) => ({
  name: `refuses ${what}`,
  run: (fixture: Fixture) => {
    const error = thrown(() => createPinnedFetch(typeof options === "function" ? options(fixture) : options));
    assert.equal(error.code, "ERR_CONFIG");
  },
});

/** createPinnedFetch refuses `options` with ERR_CONFIG, and its message matches `message`. */
function refusal(options: unknown, message: RegExp): void {
  const error = thrown(() => createPinnedFetch(options as PinnedFetchOptions));
  assert.equal(error.code, "ERR_CONFIG");
  assert.match(error.message, message);
}

/** A runtime other than the one we run in whose APIs are missing here (Node's are in all three). */
const missingRuntime = (fixture: Fixture) => (fixture.runtime === "deno" ? "bun" : "deno");

export const config: Group = {
  name: "configuration errors",
  scenarios: [
    refuses("a bare base64 pin of a SHA-1's length", { pins: { localhost: ["AAAAAAAAAAAAAAAAAAAAAAAAAAA="] } }),
    refuses("a pin of the wrong length", { pins: { localhost: ["sha256/AAAA"] } }),
    refuses("a pin that is not base64", { pins: { localhost: ["sha256/not base64 at all, not at all, no no!!="] } }),
    refuses("the SHA-256 of empty input", {
      pins: { localhost: ["sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="] },
    }),
    refuses("a host with no pins", { pins: { localhost: [] } }),
    refuses("a pinned host that is not a host name", (fixture) => ({
      pins: { "https://localhost/": [fixture.pins.root] },
    })),
    refuses("a ca that is not PEM", { ca: "not a certificate" }),
    refuses("a PEM block that is not a certificate", {
      ca: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    }),
    refuses("a negative connectTimeout", { connectTimeout: -1 }),
    refuses("a timeout that is not a number", { timeout: "5s" as never }),
    refuses("a connections limit of 0", { connections: 0 }),
    refuses("a connections limit that is not a whole number", { connections: 1.5 }),
    refuses("an unknown runtime", { runtime: "browser" as "node" }),
    refuses("a runtime object without connect", { runtime: { name: "custom" } as never }),
    {
      name: "refuses a client certificate of the wrong shape at once, however its certificate and key would read",
      run: () => {
        const cases: [unknown, RegExp][] = [
          [{ cert: "x", key: "y", pasphrase: "z" }, /unknown field "pasphrase"/],
          [{ cert: "x" }, /both cert and key are needed/],
          [{ pfx: "text" }, /pfx must be the PKCS#12 file's bytes/],
          [{ pfx: new Uint8Array(4), cert: "x" }, /give either pfx or cert and key/],
          [{ cert: "x", key: "y", passphrase: 1 }, /passphrase must be a string/],
        ];
        for (const [given, message] of cases) {
          refusal({ clientCertificates: { localhost: given } }, message);
          assert.match(
            thrown(() => createPinnedFetch({ clientCertificates: { localhost: given } } as never)).message,
            /clientCertificates\["localhost"\]/,
          );
        }
      },
    },
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
      name: "refuses unknown options, naming the one meant",
      run: (fixture) => {
        const pins = { localhost: [fixture.pins.intermediate, fixture.pins.root] };
        refusal({ pin: pins }, /createPinnedFetch has no option "pin"; did you mean pins\?/);
        refusal({ Pins: pins }, /no option "Pins"; did you mean pins\?/);
        refusal(
          { pins, reportonly: true, onPinFailure: () => {} },
          /no option "reportonly"; did you mean reportOnly\?/,
        );
        refusal({ conectTimeout: 1_000 }, /did you mean connectTimeout\?/);
        refusal({ includeSubdomains: true }, /includeSubdomains is an option of a rule, inside pins/);
        refusal(
          { colour: "blue" },
          /no option "colour"\. createPinnedFetch's options are pins, clientCertificates, ca, .*onWarning\./,
        );
      },
    },
    {
      name: "refuses pins that are not a plain object, and options that are not one",
      run: (fixture) => {
        const rule = [fixture.pins.intermediate, fixture.pins.root];
        refusal(
          { pins: new Map([["localhost", rule]]) },
          /pins must be an object of host or pattern to rule.*not a Map/,
        );
        refusal({ pins: [rule] }, /pins must be .*not an array/);
        refusal({ pins: null }, /pins must be .*not null/);
        refusal(
          { pins: { localhost: new Map([["pins", rule]]) } },
          /pins\["localhost"\] must be a list of pins or \{ pins/,
        );
        refusal(null, /options of createPinnedFetch must be a plain object, not null/);
        refusal(new Map(), /must be a plain object, not a Map/);
      },
    },
    {
      name: "refuses an expires that is not an ISO 8601 date or timestamp",
      run: (fixture) => {
        const rule = (expires: unknown) => ({
          pins: { localhost: { pins: [fixture.pins.intermediate, fixture.pins.root], expires } },
        });
        for (const expires of [
          "1",
          "0",
          "June 30",
          "2027-6-30",
          "2027-02-30",
          "2027-06-30T12:00",
          "2027-06-30T25:00Z",
          "20270630",
          new Date(NaN),
          1_900_000_000_000,
        ]) {
          refusal(rule(expires), /pins\["localhost"\]\.expires must be a Date, an ISO 8601 date such as "2027-06-30"/);
        }
        for (const expires of [
          "2999-06-30",
          "2999-06-30T12:00Z",
          "2999-06-30T12:00:00.5+02:00",
          new Date(Date.UTC(2999, 5, 30)),
        ]) {
          createPinnedFetch(rule(expires) as PinnedFetchOptions);
        }
      },
    },
    {
      name: "refuses a timeout outside 1 ms to 2^31-1 ms, which a timer would fire at once",
      run: () => {
        for (const connectTimeout of [3e9, 2 ** 31, 0, 0.5, NaN, Infinity]) {
          refusal({ connectTimeout }, /connectTimeout must be a number of milliseconds from 1 to 2,147,483,647/);
        }
        refusal(
          { timeout: 3e9 },
          /timeout must be a number of milliseconds from 1 to 2,147,483,647 .*not 3000000000\./,
        );
        createPinnedFetch({ connectTimeout: 2 ** 31 - 1, timeout: 1 });
      },
    },
    {
      name: "refuses options of the wrong type, saying what each takes",
      run: () => {
        refusal({ onWarning: "console" }, /onWarning must be a function, not "console"/);
        refusal({ onPinFailure: true }, /onPinFailure must be a function/);
        refusal({ reportOnly: "false" }, /reportOnly must be true or false, not "false"/);
        refusal({ postQuantum: "off" }, /postQuantum must be true or false, not "off"/);
        refusal({ trust: "WEBPKI" }, /trust must be "webpki" or "pins-only"/);
        refusal({ ca: 5 }, /ca must be PEM certificates/);
        refusal(
          { ca: [] },
          /ca must be PEM certificates: a string, or a non-empty array of strings, not an empty array/,
        );
        refusal({ connections: "2" }, /connections must be a whole number from 1/);
        refusal({ maxHeaderSize: 1.5 }, /maxHeaderSize must be a whole number of bytes/);
        refusal({ maxChunkLineSize: -1 }, /maxChunkLineSize must be a whole number of bytes/);
        refusal({ resolve: { localhost: 127 } }, /resolve must be an object of host name to address/);
        refusal(
          { resolve: { localhost: "127.0.0.1:8443" } },
          /resolve\["localhost"\] is "127\.0\.0\.1:8443", which is not an address/,
        );
        refusal({ proxy: 3128 }, /proxy must be "http:\/\/host:port"/);
        refusal({ runtime: "Node" }, /runtime must be "node", "deno", "bun", or an adapter/);
      },
    },
    {
      name: "connectTls and getPins check their options the same way, and reject with them",
      run: async (fixture) => {
        const target = { hostname: "localhost", port: fixture.ports.echo, ca: fixture.ca.root };
        const refused = async (promise: Promise<unknown>, message: RegExp) => {
          const error = await rejection(promise);
          assert.equal(error.code, "ERR_CONFIG");
          assert.match(error.message, message);
        };
        await refused(
          connectTls({ ...target, address: "127.0.0.1" } as never),
          /connectTls has no option "address"; did you mean resolve\?/,
        );
        await refused(
          connectTls({ ...target, connectTimeout: 3e9 }),
          /connectTimeout must be a number of milliseconds/,
        );
        await refused(connectTls({ ...target, port: 0 }), /port must be a whole number from 1 to 65535/);
        await refused(
          connectTls({ ...target, pins: fixture.pins.leaf } as never),
          /pins must be a non-empty array of pins/,
        );
        await refused(connectTls({ ...target, alpn: "h2" } as never), /alpn must be an array of protocol names/);
        await refused(connectTls({ ...target, postQuantum: 0 } as never), /postQuantum must be true or false, not 0/);
        await refused(connectTls({ hostname: "localhost" } as never), /connectTls needs the option port/);
        const url = `https://localhost:${fixture.ports.tls13}/`;
        await refused(getPins(url, { connectTimeout: 3e9 }), /connectTimeout must be a number of milliseconds/);
        await refused(
          getPins(url, { timeout: 1_000 } as never),
          /getPins has no option "timeout"; did you mean connectTimeout\?/,
        );
        await refused(getPins(url, { signal: "stop" } as never), /signal must be an AbortSignal/);
        await refused(getPins(url, { postQuantum: null } as never), /postQuantum must be true or false, not null/);
        await refused(
          getPins(`https://user:secret@localhost:${fixture.ports.tls13}/`),
          /includes credentials \(https:\/\/localhost:\d+\/\)/,
        );
        // The same option, under its one name everywhere.
        const connection = await connectTls({ ...target, resolve: { localhost: "127.0.0.1" } });
        await connection.close();
      },
    },
    {
      name: "fetch's arguments that make no request reject with ERR_CONFIG, in the fetch standard's terms",
      run: async (fixture) => {
        const before = await fixture.stats("tls13");
        const fetch = createPinnedFetch({ ca: fixture.ca.root, resolve: { localhost: "127.0.0.1" } });
        const url = `https://localhost:${fixture.ports.tls13}/echo`;
        const refused = async (input: unknown, init: unknown, message: RegExp) => {
          let promise: Promise<unknown> | undefined;
          assert.doesNotThrow(
            () => (promise = fetch(input as string, init as RequestInit)),
            "fetch never throws synchronously",
          );
          const error = await rejection(promise!);
          assert.equal(error.code, "ERR_CONFIG");
          assert.match(error.message, message);
          assert.doesNotMatch(error.message, /SECRET/);
          return error;
        };
        try {
          await refused("https://exa mple.com/", undefined, /The URL given to fetch cannot be parsed as a URL/);
          await refused(`https://user:SECRET@localhost:${fixture.ports.tls13}/`, undefined, /includes credentials/);
          const injected = { authorization: "Bearer SECRET\r\nx-injected: 1" };
          await refused(
            url,
            { headers: injected },
            /The value of the header authorization is not a header value: it holds a NUL, CR or LF/,
          );
          await refused(
            url,
            { headers: [["x-token", "SECRET\nx-injected: 1"]] },
            /header x-token is not a header value/,
          );
          await refused(
            new Request(url),
            { headers: { "x-token": "SECRET\u0000" } },
            /header x-token is not a header value/,
          );
          await refused(url, { headers: { "x token": "1" } }, /"x token" is not a header name/);
          await refused(url, { method: "GE T" }, /"GE T" is not a method/);
          await refused(url, { method: "CONNECT" }, /CONNECT is a forbidden method/);
          await refused(url, { method: "trace" }, /trace is a forbidden method/);
          await refused(url, { body: "ping" }, /Request with GET\/HEAD method cannot have body/);
          await refused(url, { method: "HEAD", body: "ping" }, /Request with GET\/HEAD method cannot have body/);
          await refused(url, { method: "POST", body: new ReadableStream() }, /needs duplex: "half"/);
          await refused(url, { signal: "stop" }, /The signal of a request must be an AbortSignal/);
          await refused(url, "POST", /fetch's second argument must be an object of request options/);
          const other = await refused(url, { redirect: "nowhere" }, /fetch cannot make a request of its arguments: /);
          assert.ok(other.cause instanceof TypeError, "the runtime's own error is the cause");
        } finally {
          await fetch.close();
        }
        assert.equal((await fixture.stats("tls13")).connections, before.connections, "nothing was sent");
      },
    },
    {
      name: "fetch reads headers given as an iterable once, and takes an init member that is undefined as absent",
      run: async (fixture) => {
        const fetch = createPinnedFetch({ ca: fixture.ca.root, resolve: { localhost: "127.0.0.1" } });
        const url = `https://localhost:${fixture.ports.tls13}/echo`;
        try {
          function* fields(): Generator<[string, string]> {
            yield ["x-from", "generator"];
          }
          const echo = (await (await fetch(url, { headers: fields() as unknown as HeadersInit })).json()) as {
            headers: Record<string, string>;
          };
          assert.equal(echo.headers["x-from"], "generator");
          const reason = new Error("the Request's own signal");
          const request = new Request(url, { signal: AbortSignal.abort(reason) });
          const outcome = await fetch(request, { signal: undefined }).then(
            () => "resolved",
            (error: unknown) => error,
          );
          assert.equal(outcome, reason);
        } finally {
          await fetch.close();
        }
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
