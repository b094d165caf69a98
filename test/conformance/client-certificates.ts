// Client certificates (mutual TLS): each key type and file format presented
// to a server that requires one, in TLS 1.3 and 1.2; what the server's
// refusal becomes; a host whose pins fail never sees the certificate, on the
// wire; one is offered only to the hosts its pattern covers, and identities
// for different hosts never cross, on pooled or resumed connections either;
// and an identity that cannot be used is refused without showing its key.
import { inspect } from "node:util";

import {
  type ClientCertificate as Identity,
  type ConnectTlsOptions as TlsOptions,
  connectTls,
  createPinnedFetch,
  type PinnedFetchOptions as Options,
} from "../../src/index.js";
import type { ClientAuthAnswer } from "../support/servers.js";
import { type Group, assert, eventually, ignoreWarning, rejection, withFetch } from "./harness/check.js";
import {
  CLIENT_KEYS,
  type ClientIdentityFiles,
  type ClientKeyName,
  type Fixture,
  type ServerName,
} from "./harness/description.js";

type KeyForm = "pkcs8" | "pkcs1" | "sec1" | "encryptedPkcs8" | "pfx";

const KEY_LABELS: Record<ClientKeyName, string> = {
  rsa2048: "RSA 2048",
  rsa4096: "RSA 4096",
  p256: "ECDSA P-256",
  p384: "ECDSA P-384",
  ed25519: "Ed25519",
};
const FORM_LABELS: Record<KeyForm, string> = {
  pkcs8: "PEM PKCS#8",
  pkcs1: "PEM PKCS#1",
  sec1: "PEM SEC1",
  encryptedPkcs8: "encrypted PKCS#8 with its passphrase",
  pfx: "PKCS#12 with its passphrase",
};

const base64Bytes = (base64: string) => Uint8Array.from(atob(base64), (character) => character.charCodeAt(0));

/** The identity option for `files` with the key in `form`. */
function identity(files: ClientIdentityFiles, form: KeyForm = "pkcs8"): Identity {
  if (form === "pfx") return { pfx: base64Bytes(files.pfx), passphrase: files.passphrase };
  const key = files.keys[form];
  assert.ok(key, `no ${form} form of this key`);
  return form === "encryptedPkcs8"
    ? { cert: files.cert, key, passphrase: files.passphrase }
    : { cert: files.cert, key };
}

/** The form each key type has besides PKCS#8: PKCS#1 for RSA, SEC1 for EC. */
const LEGACY_FORMS: Record<ClientKeyName, KeyForm[]> = {
  rsa2048: ["pkcs1"],
  rsa4096: ["pkcs1"],
  p256: ["sec1"],
  p384: ["sec1"],
  ed25519: [],
};

/** Trusts the test root and reaches each name of the client-auth servers' certificate at 127.0.0.1. */
function options(fixture: Fixture, clientCertificates?: Record<string, Identity>, extra: Options = {}): Options {
  const hosts = ["client.test", "a.client.test", "b.client.test", "a.b.client.test", "other.test"];
  return {
    ca: fixture.ca.root,
    resolve: Object.fromEntries(hosts.map((host) => [host, "127.0.0.1"])),
    onWarning: ignoreWarning,
    ...(clientCertificates && { clientCertificates }),
    ...extra,
  };
}

const url = (fixture: Fixture, server: ServerName, host: string, query = "") =>
  `https://${host}:${fixture.ports[server]}/${query}`;

/** What the client-auth server answers `host`'s request with. */
async function ask(
  fetch: (url: string) => Promise<Response>,
  fixture: Fixture,
  server: ServerName,
  host: string,
  query = "",
): Promise<ClientAuthAnswer> {
  const response = await fetch(url(fixture, server, host, query));
  assert.equal(response.status, 200);
  return (await response.json()) as ClientAuthAnswer;
}

/** The subject the server authenticated when `identity` was offered to `host`. */
async function subjectSeen(fixture: Fixture, server: ServerName, host: string, given: Identity): Promise<string> {
  let answer: ClientAuthAnswer | undefined;
  await withFetch(options(fixture, { [host]: given }), async (fetch) => {
    answer = await ask(fetch, fixture, server, host);
  });
  return answer!.subject;
}

/**
 * Pieces of a key's encodings (its PEM bodies, PKCS#12 file, its passphrase and a wrong one)
 * that no message, report or printed object may contain: every 24 base64
 * characters of each body, past the 32 that begin every key of a type.
 */
function keyMaterial(files: ClientIdentityFiles): string[] {
  const bodies = [...Object.values(files.keys), files.pfx].map((text) =>
    text.replace(/-----[^-]+-----/g, "").replace(/\s/g, ""),
  );
  return [
    files.passphrase,
    WRONG_PASSPHRASE,
    ...bodies.flatMap((body) =>
      Array.from({ length: Math.floor((body.length - 32) / 24) }, (_, index) =>
        body.slice(32 + index * 24, 56 + index * 24),
      ),
    ),
  ];
}

/** Asserts that none of `shown` (with its line breaks removed) holds a piece of the key. */
function assertNoKeyMaterial(files: ClientIdentityFiles, shown: Record<string, string>): void {
  const pieces = keyMaterial(files);
  for (const [what, text] of Object.entries(shown)) {
    const flat = text.replace(/\s/g, "");
    const found = pieces.find((piece) => flat.includes(piece));
    assert.equal(found, undefined, `${what} shows key material`);
  }
}

/** How an error may be shown: its message, String(), JSON and util.inspect. */
const shownError = (error: Error) => ({
  message: error.message,
  string: String(error),
  json: JSON.stringify(error),
  inspect: inspect(error, { depth: Infinity, showHidden: true }),
});

/** Each new connection's observation on `server` after the first `before`, once all are decided. */
async function observedSince(fixture: Fixture, server: ServerName, before: number, count: number) {
  const stats = await eventually(
    () => fixture.stats(server),
    (stats) =>
      stats.clientCertificates?.length === before + count &&
      stats.clientCertificates.slice(before).every((observation) => observation.verdict !== "pending"),
    `${server}'s observed client certificates`,
  );
  return stats.clientCertificates!.slice(before);
}

const observedCount = async (fixture: Fixture, server: ServerName) =>
  (await fixture.stats(server)).clientCertificates?.length ?? 0;

const overVersion = (version: "1.3" | "1.2") => ({
  required: (version === "1.3" ? "clientAuth13" : "clientAuth12") as ServerName,
  asking: (version === "1.3" ? "clientAuthAsk13" : "clientAuthAsk12") as ServerName,
  // What OpenSSL's server sends when no certificate comes: TLS 1.3 has an alert for it.
  missingAlert: version === "1.3" ? /certificate_required/ : /handshake_failure/,
});

const keyScenarios = CLIENT_KEYS.flatMap((name) =>
  [
    ...(["pkcs8", ...LEGACY_FORMS[name], "encryptedPkcs8", "pfx"] as const).map((form) => ({
      form,
      version: "1.3" as const,
    })),
    { form: "pkcs8" as const, version: "1.2" as const },
  ].map(({ form, version }) => ({
    name: `${KEY_LABELS[name]}, the key as ${FORM_LABELS[form]}, over TLS ${version}: the server authenticates it`,
    run: async (fixture: Fixture) => {
      const files = await fixture.clientIdentity(name);
      let answer: ClientAuthAnswer | undefined;
      await withFetch(options(fixture, { "a.client.test": identity(files, form) }), async (fetch) => {
        answer = await ask(fetch, fixture, overVersion(version).required, "a.client.test");
      });
      assert.deepEqual(answer, { subject: files.subject, certificates: 1, resumed: false });
    },
  })),
);

/** A pinned host whose pins fail never sees the certificate: the same identity is sent when they pass. */
const pinsFirst = (version: "1.3" | "1.2") => ({
  name: `a pinned host that fails its pins over TLS ${version}: ERR_PIN_MISMATCH, and the server saw no client certificate`,
  run: async (fixture: Fixture) => {
    const { required } = overVersion(version);
    const files = await fixture.clientIdentity("p256");
    const given = { "a.client.test": identity(files) };
    const reports: unknown[] = [];
    const before = await observedCount(fixture, required);
    await withFetch(
      options(fixture, given, { pins: { "a.client.test": [fixture.pins.intermediate] } }),
      async (fetch) => {
        assert.equal((await ask(fetch, fixture, required, "a.client.test")).subject, files.subject);
      },
    );
    const pins = { "a.client.test": [fixture.pins.otherRoot] };
    await withFetch(
      options(fixture, given, { pins, onPinFailure: (report) => reports.push(report) }),
      async (fetch) => {
        const error = await rejection(fetch(url(fixture, required, "a.client.test")));
        assert.equal(error.code, "ERR_PIN_MISMATCH");
        assertNoKeyMaterial(files, shownError(error));
      },
    );
    assert.deepEqual(await observedSince(fixture, required, before, 2), [
      { verdict: "sent", certificates: 1 },
      { verdict: "none", certificates: 0 },
    ]);
    assert.equal(reports.length, 1);
    assertNoKeyMaterial(files, { "the report's JSON": JSON.stringify(reports[0]), "the report": inspect(reports[0]) });
  },
});

const refusals = (version: "1.3" | "1.2") => {
  const { required, missingAlert } = overVersion(version);
  return [
    {
      name: `over TLS ${version}, a certificate under an intermediate: the intermediate is sent with it`,
      run: async (fixture: Fixture) => {
        const files = await fixture.clientIdentity("chained");
        await withFetch(options(fixture, { "a.client.test": identity(files) }), async (fetch) => {
          assert.deepEqual(await ask(fetch, fixture, required, "a.client.test"), {
            subject: files.subject,
            certificates: 2,
            resumed: false,
          });
        });
      },
    },
    {
      name: `over TLS ${version}, a server that requires a certificate none is configured for: ERR_CLIENT_CERT`,
      run: async (fixture: Fixture) => {
        // An identity for another host only; in TLS 1.3 the server's alert comes after the request is sent.
        const given = { "b.client.test": identity(await fixture.clientIdentity("p256")) };
        for (const configured of [undefined, given]) {
          await withFetch(options(fixture, configured), async (fetch) => {
            const error = await rejection(fetch(url(fixture, required, "a.client.test")));
            assert.equal(error.code, "ERR_CLIENT_CERT");
            assert.match(error.message, missingAlert);
            assert.match(error.message, /a\.client\.test/);
          });
        }
      },
    },
    {
      // A Node server checks the certificate after the handshake and closes without an alert when it refuses it.
      name: `over TLS ${version}, a certificate the server's CA did not issue: ERR_CLIENT_CERT, refused without an alert`,
      run: async (fixture: Fixture) => {
        const files = await fixture.clientIdentity("other");
        await withFetch(options(fixture, { "a.client.test": identity(files) }), async (fetch) => {
          const error = await rejection(fetch(url(fixture, required, "a.client.test")));
          assert.equal(error.code, "ERR_CLIENT_CERT");
          assert.match(error.message, /refused the client certificate CN=pinned-fetch client of another CA/);
          assert.match(error.message, /without a TLS alert/);
          assertNoKeyMaterial(files, shownError(error));
        });
      },
    },
    pinsFirst(version),
    {
      name: `over TLS ${version}, a host outside the pattern that asks for a certificate gets none`,
      run: async (fixture: Fixture) => {
        const { asking } = overVersion(version);
        const files = await fixture.clientIdentity("p256");
        await withFetch(options(fixture, { "a.client.test": identity(files) }), async (fetch) => {
          assert.deepEqual(await ask(fetch, fixture, asking, "other.test"), {
            subject: "none",
            certificates: 0,
            resumed: false,
          });
          assert.equal((await ask(fetch, fixture, asking, "a.client.test")).subject, files.subject);
        });
      },
    },
    {
      name: `over TLS ${version}, identities for two hosts on one instance never cross, pooled or resumed`,
      run: async (fixture: Fixture) => {
        const { asking } = overVersion(version);
        const p256 = await fixture.clientIdentity("p256");
        const rsa2048 = await fixture.clientIdentity("rsa2048");
        const expected: Record<string, string> = {
          "a.client.test": p256.subject,
          "b.client.test": rsa2048.subject,
          "other.test": "none",
        };
        const given = { "a.client.test": identity(p256), "b.client.test": identity(rsa2048, "pfx") };
        await withFetch(options(fixture, given), async (fetch) => {
          const hosts = Object.keys(expected);
          // In turn, every other request closing its connection so that the next one resumes; then all at once.
          for (let round = 0; round < 4; round++) {
            for (const host of hosts) {
              const answer = await ask(fetch, fixture, asking, host, round % 2 === 1 ? "?close" : "");
              assert.equal(answer.subject, expected[host], `round ${round}, ${host}`);
            }
          }
          const together = hosts.flatMap((host) => [host, host, host]);
          const answers = await Promise.all(together.map((host) => ask(fetch, fixture, asking, host, "?close")));
          assert.deepEqual(
            answers.map((answer) => answer.subject),
            together.map((host) => expected[host]),
          );
        });
      },
    },
  ];
};

/** Host patterns as `pins` takes them: which of the names asked for the certificate get it. */
const PATTERNS: [string, Record<string, boolean>][] = [
  ["a.client.test", { "a.client.test": true, "client.test": false, "a.b.client.test": false }],
  ["*.client.test", { "a.client.test": true, "b.client.test": true, "client.test": false, "a.b.client.test": false }],
  ["**.client.test", { "client.test": true, "a.client.test": true, "a.b.client.test": true, "other.test": false }],
  ["*.CLIENT.Test.", { "a.client.test": true, "client.test": false, "a.b.client.test": false }],
];

const patterns = PATTERNS.map(([pattern, covered]) => ({
  name: `"${pattern}" offers the certificate to ${Object.keys(covered)
    .filter((host) => covered[host])
    .join(", ")} only`,
  run: async (fixture: Fixture) => {
    const files = await fixture.clientIdentity("p384");
    await withFetch(options(fixture, { [pattern]: identity(files) }), async (fetch) => {
      for (const [host, offered] of Object.entries(covered)) {
        const answer = await ask(fetch, fixture, "clientAuthAsk13", host);
        assert.equal(answer.subject, offered ? files.subject : "none", host);
      }
    });
  },
}));

/** Given instead of the right one: a message must not show it either. */
const WRONG_PASSPHRASE = "wrong-passphrase-5d2b";

/** A wrong passphrase or a key of another certificate. */
const UNUSABLE: [string, (fixture: Fixture) => Promise<{ given: Identity; files: ClientIdentityFiles }>][] = [
  [
    "an encrypted PKCS#8 key with a wrong passphrase",
    async (fixture) => {
      const files = await fixture.clientIdentity("rsa2048");
      return { files, given: { cert: files.cert, key: files.keys.encryptedPkcs8, passphrase: WRONG_PASSPHRASE } };
    },
  ],
  [
    "a PKCS#12 file with a wrong passphrase",
    async (fixture) => {
      const files = await fixture.clientIdentity("p256");
      return { files, given: { pfx: base64Bytes(files.pfx), passphrase: WRONG_PASSPHRASE } };
    },
  ],
  [
    "a key that is not the certificate's",
    async (fixture) => {
      const files = await fixture.clientIdentity("chained");
      return { files, given: { cert: (await fixture.clientIdentity("p256")).cert, key: files.keys.pkcs8 } };
    },
  ],
];

// The identity reader loads on first use, so createPinnedFetch cannot read an identity synchronously: every request
// rejects instead, before it connects (the port here has no listener: a dial would be ERR_CONNECT), to any host.
const config = UNUSABLE.map(([what, make]) => ({
  name: `${what}: ERR_CONFIG from every request before it connects, naming the pattern, with no key material shown`,
  run: async (fixture: Fixture) => {
    const { files, given } = await make(fixture);
    const fetch = createPinnedFetch(options(fixture, { "a.client.test": given }));
    try {
      for (const host of ["a.client.test", "other.test"]) {
        const error = await rejection(fetch(`https://${host}:${fixture.ports.refused}/`));
        assert.equal(error.code, "ERR_CONFIG", host);
        assert.match(error.message, /a\.client\.test/);
        assertNoKeyMaterial(files, shownError(error));
      }
      const tlsError = await rejection(
        connectTls({
          hostname: "a.client.test",
          port: fixture.ports.refused,
          pins: [fixture.pins.intermediate],
          clientCertificate: given,
        }),
      );
      assert.equal(tlsError.code, "ERR_CONFIG");
      assertNoKeyMaterial(files, shownError(tlsError));
    } finally {
      await fetch.close();
    }
  },
}));

export const clientCertificates: Group = {
  name: "client certificates",
  scenarios: [
    ...keyScenarios,
    {
      name: "a certificate and key given as PEM bytes",
      run: async (fixture) => {
        const files = await fixture.clientIdentity("p256");
        const bytes = (text: string) => new TextEncoder().encode(text);
        const given = { cert: bytes(files.cert), key: bytes(files.keys.pkcs8) };
        assert.equal(await subjectSeen(fixture, "clientAuth13", "a.client.test", given), files.subject);
      },
    },
    ...refusals("1.3"),
    ...refusals("1.2"),
    ...patterns,
    {
      name: "connectTls presents its clientCertificate",
      run: async (fixture) => {
        const files = await fixture.clientIdentity("ed25519");
        const tlsOptions: TlsOptions = {
          hostname: "a.client.test",
          port: fixture.ports.clientAuth13,
          resolve: { "a.client.test": "127.0.0.1" },
          ca: fixture.ca.root,
          pins: [fixture.pins.intermediate],
          clientCertificate: identity(files, "encryptedPkcs8"),
        };
        const connection = await connectTls(tlsOptions);
        try {
          const writer = connection.writable.getWriter();
          await writer.write(
            new TextEncoder().encode("GET / HTTP/1.1\r\nhost: a.client.test\r\nconnection: close\r\n\r\n"),
          );
          let response = "";
          const decoder = new TextDecoder();
          const reader = connection.readable.getReader();
          for (let read = await reader.read(); !read.done; read = await reader.read()) {
            response += decoder.decode(read.value, { stream: true });
          }
          const answer = JSON.parse(response.slice(response.indexOf("\r\n\r\n") + 4)) as ClientAuthAnswer;
          assert.equal(answer.subject, files.subject);
        } finally {
          await connection.close();
        }
      },
    },
    {
      name: "an instance made with a key shows none of it when printed",
      run: async (fixture) => {
        const files = await fixture.clientIdentity("rsa4096");
        const given = { "a.client.test": identity(files, "encryptedPkcs8"), "b.client.test": identity(files, "pfx") };
        await withFetch(options(fixture, given), async (fetch) => {
          assert.equal((await ask(fetch, fixture, "clientAuth13", "a.client.test")).subject, files.subject);
          assertNoKeyMaterial(files, { "the instance": inspect(fetch, { depth: Infinity, showHidden: true }) });
        });
      },
    },
    ...config,
  ],
};
