// Pin policy as users know it: every pin form they hold, OkHttp's host
// patterns, rules that expire, report-only rollouts, pins-only trust, and
// self-signed certificates given as trusted.
import {
  type CertificateInfo,
  createPinnedFetch,
  getPins,
  type PinFailureReport,
  type PinnedFetchOptions,
} from "../../src/index.js";
import { selectRuntime } from "../../src/runtime/index.js";
import { openTls } from "../../src/connect-tls.js";
import { TrustContext } from "../../src/tls/trust.js";
import {
  type Group,
  HELLO,
  assert,
  eventually,
  ignoreWarning,
  loggedErrors,
  rejection,
  thrown,
  withFetch,
} from "./harness/check.js";
import type { CertificateName, Fixture, ServerName } from "./harness/description.js";

const hello = (fixture: Fixture, server: ServerName = "tls13", host = "localhost") =>
  `https://${host}:${fixture.ports[server]}/hello`;

/** Fetches `url` with `options`; the outcome is the body, or the error's code. */
async function outcome(options: PinnedFetchOptions, url: string): Promise<string> {
  let result = "";
  await withFetch(options, async (fetch) => {
    result = await fetch(url).then(
      (response) => response.text(),
      (error: { code?: string }) => error.code ?? String(error),
    );
  });
  return result;
}

const pinned = (fixture: Fixture, pins: string[], extra: PinnedFetchOptions = {}): PinnedFetchOptions => ({
  ca: fixture.ca.root,
  resolve: { localhost: "127.0.0.1" },
  pins: { localhost: pins },
  ...extra,
});

/** Each form of pin, for a certificate of the fixture. */
const FORMS: [string, (fixture: Fixture, name: CertificateName) => string][] = [
  ["sha256/<base64>", (fixture, name) => fixture.pins[name]],
  ["curl's sha256//<base64>", (fixture, name) => fixture.pins[name].replace("sha256/", "sha256//")],
  ["bare base64 (Android, TrustKit)", (fixture, name) => fixture.pins[name].slice("sha256/".length)],
  ["sha1/<base64>", (fixture, name) => fixture.forms[name].spkiSha1],
  ["an openssl SHA-256 fingerprint", (fixture, name) => fixture.forms[name].sha256],
  [
    "an openssl SHA-256 fingerprint with its prefix",
    (fixture, name) => `SHA256 Fingerprint=${fixture.forms[name].sha256}`,
  ],
  ["an openssl SHA-1 fingerprint with its prefix", (fixture, name) => `SHA1 Fingerprint=${fixture.forms[name].sha1}`],
];

export const formats: Group = {
  name: "pin formats",
  scenarios: [
    ...FORMS.flatMap(([form, pinOf]) => [
      {
        name: `accepts ${form} of the intermediate, the leaf and the root`,
        run: async (fixture: Fixture) => {
          for (const name of ["intermediate", "leaf", "root"] as const) {
            assert.equal(await outcome(pinned(fixture, [pinOf(fixture, name)]), hello(fixture)), HELLO, name);
          }
        },
      },
      {
        name: `rejects ${form} of another CA's certificate`,
        run: async (fixture: Fixture) => {
          assert.equal(
            await outcome(pinned(fixture, [pinOf(fixture, "otherIntermediate")]), hello(fixture)),
            "ERR_PIN_MISMATCH",
          );
        },
      },
    ]),
    {
      name: "names what a malformed pin probably meant",
      run: (fixture) => {
        const base64 = fixture.pins.intermediate.slice("sha256/".length);
        const hex = fixture.forms.leaf.sha256.replaceAll(":", "");
        const cases: [string, RegExp][] = [
          [`sha256:${base64}`, new RegExp(`Did you mean sha256/${base64.replace(/[+/]/g, "\\$&")}`)],
          [`pin-sha256="${base64}"`, /Did you mean sha256\//],
          [base64.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""), /Did you mean sha256\//],
          [hex, new RegExp(`Did you mean ${fixture.forms.leaf.sha256}`)],
          ["md5/AAAAAAAAAAAAAAAAAAAAAA==", /Expected "sha256\/<base64>"/],
          ["AB:CD:EF", /fingerprint/],
          [`SHA1 Fingerprint=${fixture.forms.leaf.sha256}`, /Malformed pin/],
        ];
        for (const [pin, message] of cases) {
          const error = thrown(() => createPinnedFetch({ pins: { "api.example.com": [pin] } }));
          assert.equal(error.code, "ERR_CONFIG");
          assert.match(error.message, /api\.example\.com/);
          assert.match(error.message, message, pin);
        }
      },
    },
    {
      name: "reads a digest that begins with a slash in every form",
      run: () => {
        const digest = `/${"A".repeat(42)}=`;
        for (const pin of [`sha256/${digest}`, `sha256//${digest}`, digest]) {
          createPinnedFetch({ pins: { localhost: [pin, `sha1/${"B".repeat(27)}=`] } });
        }
      },
    },
    {
      name: "refuses the SHA-256 of empty input in every form",
      run: () => {
        const empty = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
        const fingerprint =
          "E3:B0:C4:42:98:FC:1C:14:9A:FB:F4:C8:99:6F:B9:24:27:AE:41:E4:64:9B:93:4C:A4:95:99:1B:78:52:B8:55";
        for (const pin of [`sha256/${empty}`, `sha256//${empty}`, empty, fingerprint]) {
          const error = thrown(() => createPinnedFetch({ pins: { localhost: [pin] } }));
          assert.match(error.message, /empty input/, pin);
        }
      },
    },
  ],
};

/** Whether the rules `pins` hold `host` (served by the `names` server) to their pins. */
async function held(fixture: Fixture, pins: PinnedFetchOptions["pins"], host: string): Promise<boolean> {
  const options = { ca: fixture.ca.root, resolve: { [host]: "127.0.0.1" }, pins };
  const result = await outcome(options, hello(fixture, "names", host));
  assert.ok(result === HELLO || result === "ERR_PIN_MISMATCH", result);
  return result === "ERR_PIN_MISMATCH";
}

export const patterns: Group = {
  name: "host patterns",
  scenarios: [
    ...(
      [
        [
          "*.example.com",
          { "a.example.com": true, "a.b.example.com": false, "example.com": false, "badexample.com": false },
        ],
        [
          "**.example.com",
          { "a.example.com": true, "a.b.example.com": true, "example.com": true, "badexample.com": false },
        ],
        ["a.example.com", { "a.example.com": true, "a.b.example.com": false, "example.com": false }],
        ["*.EXAMPLE.com.", { "a.example.com": true, "a.b.example.com": false, "example.com": false }],
      ] as const
    ).map(([pattern, expected]) => ({
      name: `"${pattern}" covers ${Object.entries(expected)
        .filter(([, covered]) => covered)
        .map(([host]) => host)
        .join(", ")}`,
      run: async (fixture: Fixture) => {
        for (const [host, covered] of Object.entries(expected)) {
          assert.equal(await held(fixture, { [pattern]: [fixture.pins.otherRoot] }, host), covered, host);
        }
      },
    })),
    {
      name: "includeSubdomains covers the host and every name below it",
      run: async (fixture) => {
        const pins = { "example.com": { pins: [fixture.pins.otherRoot], includeSubdomains: true } };
        for (const host of ["example.com", "a.example.com", "a.b.example.com"])
          assert.equal(await held(fixture, pins, host), true, host);
      },
    },
    {
      name: "when several rules cover a host, any of their pins will do",
      run: async (fixture) => {
        const pins = { "**.example.com": [fixture.pins.otherRoot], "a.example.com": [fixture.pins.intermediate] };
        assert.equal(await held(fixture, pins, "a.example.com"), false);
        assert.equal(await held(fixture, pins, "a.b.example.com"), true);
      },
    },
    {
      name: "an IPv6 rule holds every spelling of the address",
      run: async (fixture) => {
        const options = {
          ca: fixture.ca.root,
          resolve: { "::1": "127.0.0.1" },
          pins: { "0:0:0:0:0:0:0:1": [fixture.pins.otherRoot] },
        };
        assert.equal(await outcome(options, `https://[::1]:${fixture.ports.tls13}/hello`), "ERR_PIN_MISMATCH");
      },
    },
    {
      name: "refuses patterns and rule options that would pin nothing",
      run: (fixture) => {
        const pins = [fixture.pins.root, fixture.pins.leaf];
        const wrong: PinnedFetchOptions["pins"][] = [
          { "*.127.0.0.1": pins },
          { "*.example.com": { pins, includeSubdomains: true } },
          ...["*.*.example.com", "a.*.example.com", "*example.com", "***.example.com", "example.com.."].map(
            (pattern) => ({ [pattern]: pins }),
          ),
          { "example.com": { pins, includeSubDomains: true } as never },
          { "example.com": { pins, includeSubdomains: "true" } as never },
        ];
        for (const pins of wrong) {
          assert.equal(thrown(() => createPinnedFetch({ pins })).code, "ERR_CONFIG");
        }
      },
    },
  ],
};

const DAY = 24 * 3_600_000;

export const rules: Group = {
  name: "rules: expiry and backup pins",
  scenarios: [
    {
      name: "a rule is not enforced after it expires, and is before",
      run: async (fixture) => {
        const rule = (expires: Date | string) =>
          pinned(fixture, [], { pins: { localhost: { pins: [fixture.pins.otherRoot], expires } } });
        assert.equal(await outcome(rule(new Date(Date.now() - DAY)), hello(fixture)), HELLO);
        assert.equal(await outcome(rule("2000-01-01"), hello(fixture)), HELLO);
        assert.equal(await outcome(rule(new Date(Date.now() + DAY)), hello(fixture)), "ERR_PIN_MISMATCH");
        assert.equal(await outcome(rule("2999-12-31T00:00:00Z"), hello(fixture)), "ERR_PIN_MISMATCH");
      },
    },
    {
      name: "refuses an expiry that is not a date",
      run: (fixture) => {
        const error = thrown(() =>
          createPinnedFetch({ pins: { localhost: { pins: [fixture.pins.root], expires: "next year" } } }),
        );
        assert.match(error.message, /expires/);
      },
    },
    {
      name: "warns once about a rule without a backup pin, and not about one with two",
      run: (fixture) => {
        const warnings: string[] = [];
        const onWarning = (message: string) => warnings.push(message);
        createPinnedFetch({ pins: { localhost: [fixture.pins.leaf, fixture.pins.intermediate] }, onWarning });
        assert.deepEqual(warnings, []);
        createPinnedFetch({
          pins: { localhost: [fixture.pins.leaf], "*.example.com": [fixture.pins.root, fixture.pins.leaf] },
          onWarning,
        });
        assert.equal(warnings.length, 1);
        assert.match(warnings[0]!, /localhost.*single pin.*backup/);
        createPinnedFetch({
          pins: { localhost: [fixture.forms.leaf.spkiSha1, fixture.forms.intermediate.sha1] },
          onWarning,
        });
        assert.match(warnings[1]!, /only SHA-1 pins/);
      },
    },
    {
      name: "warns of a rule that has expired already, which is not enforced",
      run: async (fixture) => {
        const warnings: string[] = [];
        const rule = { pins: [fixture.pins.otherRoot, fixture.pins.otherLeaf], expires: "2020-01-01" };
        const options = pinned(fixture, [], {
          pins: { localhost: rule },
          onWarning: (message) => warnings.push(message),
        });
        assert.equal(await outcome(options, hello(fixture)), HELLO);
        assert.deepEqual(warnings, [
          'pins["localhost"] expired on 2020-01-01T00:00:00.000Z (its expires), so it is not enforced: localhost is verified ' +
            "but not pinned. Give it a later expires, or remove the rule.",
        ]);
      },
    },
  ],
};

export const reportOnly: Group = {
  name: "report-only",
  scenarios: [
    {
      name: "lets a mismatching request through and reports it once",
      run: async (fixture) => {
        const reports: PinFailureReport[] = [];
        const before = await fixture.stats("tls13");
        const options = pinned(fixture, [fixture.pins.otherRoot], {
          reportOnly: true,
          onPinFailure: (report) => reports.push(report),
        });
        assert.equal(await outcome(options, hello(fixture)), HELLO);
        assert.equal((await fixture.stats("tls13")).requests, before.requests + 1);
        // Told after the handshake, in its own time: describing the chain may load the X.509 parser first.
        await eventually(
          async () => reports.length,
          (count) => count > 0,
          "reports",
        );
        assert.equal(reports.length, 1);
        const [report] = reports;
        assert.equal(report!.host, "localhost");
        assert.equal(report!.port, fixture.ports.tls13);
        assert.equal(report!.enforced, false);
        assert.deepEqual(report!.expected, [fixture.pins.otherRoot]);
        assert.deepEqual(
          report!.chain.map((certificate) => certificate.pin),
          [fixture.pins.leaf, fixture.pins.intermediate, fixture.pins.root],
        );
        assert.ok(report!.time instanceof Date);
      },
    },
    {
      name: "reports nothing when the pins match, and still refuses a bad certificate",
      run: async (fixture) => {
        const reports: PinFailureReport[] = [];
        const options = (pins: string[]) =>
          pinned(fixture, pins, { reportOnly: true, onPinFailure: (report) => reports.push(report) });
        assert.equal(await outcome(options([fixture.pins.intermediate]), hello(fixture)), HELLO);
        assert.equal(await outcome(options([fixture.pins.otherRoot]), hello(fixture, "expired")), "ERR_CERT_EXPIRED");
        assert.equal(
          await outcome(options([fixture.pins.otherRoot]), hello(fixture, "wrongName")),
          "ERR_CERT_HOSTNAME",
        );
        assert.equal(
          await outcome(options([fixture.pins.otherRoot]), hello(fixture, "impostor13")),
          "ERR_CERT_UNTRUSTED",
        );
        assert.equal(reports.length, 0);
      },
    },
    {
      name: "a certificate given in ca that misses the pins is reported only if it passes its name",
      run: async (fixture) => {
        const reports: PinFailureReport[] = [];
        const options: PinnedFetchOptions = {
          ca: fixture.selfSigned.pem,
          resolve: { localhost: "127.0.0.1", "wrong.example": "127.0.0.1" },
          pins: { localhost: [fixture.pins.otherRoot], "wrong.example": [fixture.pins.otherRoot] },
          reportOnly: true,
          onPinFailure: (report) => reports.push(report),
          onWarning: ignoreWarning,
        };
        assert.equal(await outcome(options, hello(fixture, "selfSignedCa", "wrong.example")), "ERR_CERT_HOSTNAME");
        assert.equal(await outcome(options, hello(fixture, "selfSignedCa")), HELLO);
        await eventually(
          async () => reports.length,
          (count) => count > 0,
          "reports",
        );
        assert.deepEqual(
          reports.map((report) => report.host),
          ["localhost"],
        );
      },
    },
    {
      name: "a reporter that throws or rejects does not stop the request or the process",
      run: async (fixture) => {
        const broke = new Error("reporter broke");
        for (const onPinFailure of [
          () => {
            throw broke;
          },
          () => Promise.reject(broke),
        ]) {
          const options = pinned(fixture, [fixture.pins.otherRoot], { reportOnly: true, onPinFailure });
          await loggedErrors(async (logged) => {
            assert.equal(await outcome(options, hello(fixture)), HELLO);
            assert.equal(await outcome(options, hello(fixture)), HELLO);
            // Each handshake's report fails, and each failure is logged with the reporter's error.
            await eventually(
              async () => logged.length,
              (count) => count >= 2,
              "errors logged",
            );
            const failure = ["pinned-fetch: onPinFailure failed:", broke];
            assert.deepEqual(logged, [failure, failure]);
          });
        }
      },
    },
    {
      name: "an enforced mismatch is reported too",
      run: async (fixture) => {
        const reports: PinFailureReport[] = [];
        const options = pinned(fixture, [fixture.pins.otherRoot], { onPinFailure: (report) => reports.push(report) });
        assert.equal(await outcome(options, hello(fixture)), "ERR_PIN_MISMATCH");
        assert.deepEqual(
          reports.map((report) => report.enforced),
          [true],
        );
      },
    },
    {
      name: "refuses reportOnly without onPinFailure, and with pins-only trust",
      run: (fixture) => {
        const pins = { localhost: [fixture.pins.leaf] };
        assert.match(thrown(() => createPinnedFetch({ pins, reportOnly: true })).message, /onPinFailure/);
        const both = { pins, reportOnly: true, onPinFailure: () => {}, trust: "pins-only" as const };
        assert.match(thrown(() => createPinnedFetch(both)).message, /pins-only/);
      },
    },
  ],
};

/** Pins-only trust, with Mozilla's roots (which do not include the test CA). */
const pinsOnly = (pins: string[], host = "localhost"): PinnedFetchOptions => ({
  trust: "pins-only",
  resolve: { [host]: "127.0.0.1" },
  pins: { [host]: pins },
  onWarning: ignoreWarning,
});

export const trust: Group = {
  name: "pins-only trust and certificates given as trusted",
  scenarios: [
    {
      name: "pins-only: the leaf's pin alone establishes trust",
      run: async (fixture) => {
        assert.equal(await outcome(pinsOnly([fixture.pins.leaf]), hello(fixture)), HELLO);
        assert.equal(await outcome(pinsOnly([fixture.forms.leaf.sha256]), hello(fixture)), HELLO);
      },
    },
    {
      name: "pins-only: only the leaf counts",
      run: async (fixture) => {
        assert.equal(
          await outcome(pinsOnly([fixture.pins.intermediate, fixture.pins.root]), hello(fixture)),
          "ERR_PIN_MISMATCH",
        );
      },
    },
    {
      name: "pins-only: the leaf's name and validity are still checked",
      run: async (fixture) => {
        assert.equal(
          await outcome(pinsOnly([fixture.pins.expiredLeaf]), hello(fixture, "expired")),
          "ERR_CERT_EXPIRED",
        );
        assert.equal(
          await outcome(pinsOnly([fixture.pins.wrongNameLeaf]), hello(fixture, "wrongName")),
          "ERR_CERT_HOSTNAME",
        );
      },
    },
    {
      name: "pins-only: a host without a rule is verified as usual",
      run: async (fixture) => {
        const options = { ...pinsOnly([fixture.pins.leaf], "elsewhere.example"), resolve: { localhost: "127.0.0.1" } };
        assert.equal(await outcome(options, hello(fixture)), "ERR_CERT_UNTRUSTED");
      },
    },
    {
      name: "a self-signed certificate with CA:TRUE given in ca is trusted, and pinned",
      run: async (fixture) => {
        const url = hello(fixture, "selfSignedCa");
        const options = (extra: PinnedFetchOptions) => ({
          ca: fixture.selfSigned.pem,
          resolve: { localhost: "127.0.0.1" },
          ...extra,
        });
        assert.equal(await outcome(options({}), url), HELLO);
        assert.equal(await outcome(options({ pins: { localhost: [fixture.selfSigned.pin] } }), url), HELLO);
        assert.equal(await outcome(options({ pins: { localhost: [fixture.pins.root] } }), url), "ERR_PIN_MISMATCH");
        assert.equal(
          await outcome({ ca: fixture.ca.root, resolve: { localhost: "127.0.0.1" } }, url),
          "ERR_CERT_UNTRUSTED",
        );
      },
    },
    {
      name: "a certificate given in ca is still checked for validity",
      run: async (fixture) => {
        const options = { ca: fixture.expiredSelfSigned.pem, resolve: { localhost: "127.0.0.1" } };
        assert.equal(await outcome(options, hello(fixture, "expiredSelfSignedCa")), "ERR_CERT_EXPIRED");
      },
    },
    {
      name: "an exception in the pin verifier refuses the connection",
      run: async (fixture) => {
        const opening = openTls(await selectRuntime(undefined), new TrustContext(fixture.ca.root), {
          hostname: "localhost",
          address: "127.0.0.1",
          port: fixture.ports.tls13,
          onPresented: () => {
            throw new Error("verifier broke");
          },
        });
        assert.equal((await rejection(opening)).code, "ERR_PIN_MISMATCH");
      },
    },
  ],
};

/** A certificate as getPins describes it, against what openssl (node:crypto) computes for the fixture's. */
function assertDescribes(
  fixture: Fixture,
  info: CertificateInfo | undefined,
  name: CertificateName,
  onVerifiedPath: boolean,
) {
  const forms = fixture.forms[name];
  assert.ok(info, `no certificate where ${name} should be`);
  assert.deepEqual(
    {
      pin: info.pin,
      sha256: info.sha256,
      sha1: info.sha1,
      der: btoa(String.fromCharCode(...info.der)),
      notBefore: info.notBefore?.toISOString(),
      notAfter: info.notAfter?.toISOString(),
      onVerifiedPath: info.onVerifiedPath,
    },
    {
      pin: fixture.pins[name],
      sha256: forms.sha256,
      sha1: forms.sha1,
      der: forms.der,
      notBefore: forms.notBefore,
      notAfter: forms.notAfter,
      onVerifiedPath,
    },
    name,
  );
}

export const tooling: Group = {
  name: "getPins",
  scenarios: [
    {
      name: "describes each certificate the server presents as openssl does",
      run: async (fixture) => {
        const chain = await getPins(`https://localhost:${fixture.ports.tls13}/`, {
          ca: fixture.ca.root,
          resolve: { localhost: "127.0.0.1" },
        });
        assert.equal(chain.length, 2);
        assertDescribes(fixture, chain[0], "leaf", true);
        assertDescribes(fixture, chain[1], "intermediate", true);
        assert.match(chain[0]!.subject, /CN=localhost/);
      },
    },
    {
      name: "marks a certificate the server merely sent as off the verified path",
      run: async (fixture) => {
        const options = { ca: [fixture.ca.root, fixture.ca.otherRoot], resolve: { localhost: "127.0.0.1" } };
        const chain = await getPins(`https://localhost:${fixture.ports.appended13}/`, options);
        assertDescribes(fixture, chain[0], "otherLeaf", true);
        assertDescribes(fixture, chain[1], "otherIntermediate", true);
        assertDescribes(fixture, chain[2], "intermediate", false);
      },
    },
    {
      name: "a server with another name's certificate fails, with what it presented",
      run: async (fixture) => {
        const error = await rejection(
          getPins(hello(fixture, "wrongName"), { ca: fixture.ca.root, resolve: { localhost: "127.0.0.1" } }),
        );
        assert.equal(error.code, "ERR_CERT_HOSTNAME");
        assertDescribes(fixture, (error.chain as CertificateInfo[])[0], "wrongNameLeaf", false);
      },
    },
    {
      name: "an untrusted server fails, with what it presented",
      run: async (fixture) => {
        const error = await rejection(
          getPins(`https://localhost:${fixture.ports.tls13}/`, { resolve: { localhost: "127.0.0.1" } }),
        );
        assert.equal(error.code, "ERR_CERT_UNTRUSTED");
        const chain = error.chain as CertificateInfo[];
        assertDescribes(fixture, chain[0], "leaf", false);
        assertDescribes(fixture, chain[1], "intermediate", false);
      },
    },
  ],
};
