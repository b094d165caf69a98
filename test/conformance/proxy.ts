// Proxies: an HTTP CONNECT tunnel with TLS and the pins end to end through
// it, the proxy's own failures as ERR_PROXY, and HTTPS_PROXY / NO_PROXY only
// with proxy: "env".
import {
  connectTls,
  createPinnedFetch,
  getPins,
  type PinnedFetchOptions,
  PinnedFetchError,
  type Runtime,
  type Socket,
} from "../../src/index.js";
import { type Group, HELLO, assert, eventually, local, rejection, thrown, withFetch } from "./harness/check.js";
import { type Fixture, PROXY_CREDENTIALS, type ServerName } from "./harness/description.js";

/** The URL of a fixture server as a proxy. */
const via = (fixture: Fixture, server: ServerName = "proxy") => `http://127.0.0.1:${fixture.ports[server]}`;
const hello = (fixture: Fixture) => `https://localhost:${fixture.ports.tls13}/hello`;
const pinned = (fixture: Fixture): PinnedFetchOptions => local(fixture, [fixture.pins.intermediate, fixture.pins.root]);

/** Fetches `/hello` from tls13 through `proxy`, expecting HELLO. */
async function helloThrough(fixture: Fixture, options: PinnedFetchOptions): Promise<void> {
  await withFetch({ ...pinned(fixture), ...options }, async (fetch) => {
    const response = await fetch(hello(fixture));
    assert.equal(response.status, 200);
    assert.equal(await response.text(), HELLO);
  });
}

/** The ERR_PROXY that fetching `/hello` from tls13 through `proxy` fails with. */
async function failureThrough(fixture: Fixture, proxy: string, url = hello(fixture)): Promise<PinnedFetchError> {
  let error: PinnedFetchError | undefined;
  await withFetch({ ...pinned(fixture), proxy, connectTimeout: 5_000 }, async (fetch) => {
    error = await rejection(fetch(url));
  });
  assert.equal(error!.code, "ERR_PROXY", error!.message);
  return error!;
}

const VARIABLES = ["https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY"] as const;
type Variable = (typeof VARIABLES)[number];

/** Runs `use` with exactly `values` of the proxy variables set, and restores them afterwards. */
async function withEnvironment(values: Partial<Record<Variable, string>>, use: () => Promise<void>): Promise<void> {
  const set = (name: Variable, value: string | undefined) => {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  };
  const saved = VARIABLES.map((name) => [name, process.env[name]] as const);
  for (const name of VARIABLES) set(name, values[name]);
  try {
    await use();
  } finally {
    for (const [name, value] of saved) set(name, value);
  }
}

/**
 * The host each URL's connection went to, fetched in turn by one fetch with
 * `options`: an adapter records each connection and fails it, so no network
 * is needed.
 */
async function connectedHosts(options: PinnedFetchOptions, urls: readonly string[]): Promise<string[]> {
  const hosts: string[] = [];
  const runtime: Runtime = {
    name: "recording",
    async connect({ host }) {
      hosts.push(host);
      throw new PinnedFetchError("ERR_CONNECT", `recorded ${host}`);
    },
    unrefTimer: () => {},
  };
  await withFetch({ ...options, runtime }, async (fetch) => {
    for (const url of urls) {
      const error = await rejection(fetch(url));
      assert.match(error.message, /recorded/);
    }
  });
  return hosts;
}

/**
 * An adapter whose every connection is a proxy that answers `answer`, after
 * the request, and then closes; `sent` collects what it was sent.
 */
function scriptedProxy(answer: string, sent: string[] = []): Runtime {
  return {
    name: "scripted proxy",
    async connect() {
      const chunks = [new TextEncoder().encode(answer)];
      const socket: Socket = {
        read: async () => chunks.shift() ?? null,
        write: async (data) => void sent.push(new TextDecoder().decode(data)),
        close: () => chunks.splice(0),
        setKeepsProcessAlive: () => {},
      };
      return socket;
    },
    unrefTimer: () => {},
  };
}

/** The error fetching from a scripted proxy gives, and what the proxy was sent. */
async function scripted(answer: string, url = "https://localhost:8443/", proxy = "http://proxy.test:3128") {
  const sent: string[] = [];
  const fetch = createPinnedFetch({ proxy, runtime: scriptedProxy(answer, sent) });
  try {
    return { error: await rejection(fetch(url)), sent: sent.join("") };
  } finally {
    await fetch.close();
  }
}

function basic(user: string, password: string): string {
  return `Basic ${btoa(String.fromCharCode(...new TextEncoder().encode(`${user}:${password}`)))}`;
}

/** NO_PROXY, a URL, and whether the URL is fetched directly (true) or through the proxy. */
const NO_PROXY_CASES: [string, string, boolean][] = [
  ["", "https://api.example.com/", false],
  ["*", "https://api.example.com/", true],
  ["other.test, *", "https://api.example.com/", true],
  ["example.com", "https://example.com/", true],
  ["example.com", "https://api.example.com/", true],
  ["example.com", "https://a.b.example.com/", true],
  ["example.com", "https://badexample.com/", false],
  ["example.com", "https://example.com.evil.test/", false],
  [".example.com", "https://api.example.com/", true],
  ["*.example.com", "https://api.example.com/", true],
  ["api.example.com", "https://example.com/", false],
  ["EXAMPLE.com", "https://API.example.COM/", true],
  ["example.com:8443", "https://api.example.com:8443/", true],
  ["example.com:8443", "https://api.example.com/", false],
  ["example.com:443", "https://api.example.com/", true],
  ["other.test,example.com", "https://api.example.com/", true],
  ["other.test example.com", "https://api.example.com/", true],
  [" , other.test ,, ", "https://api.example.com/", false],
  ["127.0.0.1", "https://127.0.0.1/", true],
  ["127.0.0.1", "https://127.0.0.2/", false],
  ["0.0.1", "https://127.0.0.1/", false],
  ["::1", "https://[::1]/", true],
  ["[::1]", "https://[::1]/", true],
  ["[::1]:8443", "https://[::1]:8443/", true],
  ["[::1]:8443", "https://[::1]/", false],
  ["10.0.0.0/8", "https://10.1.2.3/", false],
];

export const proxies: Group = {
  name: "proxies",
  scenarios: [
    {
      name: "a pinned request goes through the proxy's CONNECT tunnel, which a second request reuses",
      run: async (fixture) => {
        const before = await fixture.stats("proxy");
        const server = await fixture.stats("tls13");
        await withFetch({ ...pinned(fixture), proxy: via(fixture) }, async (fetch) => {
          for (let request = 0; request < 2; request++) {
            const response = await fetch(hello(fixture));
            assert.equal(response.status, 200);
            assert.equal(await response.text(), HELLO);
          }
        });
        const after = await fixture.stats("proxy");
        assert.equal(after.tunnels! - before.tunnels!, 1);
        assert.equal(after.lastTarget, `localhost:${fixture.ports.tls13}`);
        assert.equal(after.lastAuthorization, null);
        assert.equal((await fixture.stats("tls13")).connections - server.connections, 1);
      },
    },
    {
      name: "getPins and connectTls take the proxy too, with resolve for the proxy's host name",
      run: async (fixture) => {
        const before = await fixture.stats("proxy");
        const options = {
          ca: fixture.ca.root,
          resolve: { "proxy.test": "127.0.0.1" },
          proxy: `http://proxy.test:${fixture.ports.proxy}`,
        };
        const chain = await getPins(`https://localhost:${fixture.ports.tls13}/`, options);
        assert.deepEqual(
          chain.map((certificate) => certificate.pin),
          [fixture.pins.leaf, fixture.pins.intermediate],
        );
        const connection = await connectTls({
          ...options,
          hostname: "localhost",
          port: fixture.ports.tls13,
          pins: [fixture.pins.intermediate],
        });
        await connection.close();
        const after = await fixture.stats("proxy");
        assert.equal(after.tunnels! - before.tunnels!, 2);
        assert.equal(after.lastTarget, `localhost:${fixture.ports.tls13}`);
      },
    },
    {
      name: "resolve maps the proxy's host name, the one connected to",
      run: async (fixture) => {
        const before = await fixture.stats("proxy");
        await helloThrough(fixture, {
          resolve: { "proxy.test": "127.0.0.1" },
          proxy: new URL(`http://proxy.test:${fixture.ports.proxy}`),
        });
        assert.equal((await fixture.stats("proxy")).tunnels! - before.tunnels!, 1);
      },
    },
    {
      name: "writes CONNECT and Host with the URL's host and port, an IPv6 address in brackets",
      run: async () => {
        const head = (target: string) => `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`;
        assert.equal((await scripted("HTTP/1.1 502 Bad Gateway\r\n\r\n")).sent, head("localhost:8443"));
        assert.equal((await scripted("HTTP/1.1 502 Bad Gateway\r\n\r\n", "https://[::1]/")).sent, head("[::1]:443"));
        assert.equal(
          (await scripted("HTTP/1.1 502 Bad Gateway\r\n\r\n", "https://API.Example.com./")).sent,
          head("api.example.com:443"),
        );
      },
    },
    {
      name: "sends the proxy URL's user and password, percent-decoded, as Basic Proxy-Authorization",
      run: async (fixture) => {
        const { user, password } = PROXY_CREDENTIALS;
        const credentials = `${encodeURIComponent(user)}:${encodeURIComponent(password)}`;
        await helloThrough(fixture, { proxy: `http://${credentials}@127.0.0.1:${fixture.ports.authProxy}` });
        assert.equal((await fixture.stats("authProxy")).lastAuthorization, basic(user, password));
        const { sent } = await scripted("HTTP/1.1 502 Bad Gateway\r\n\r\n", undefined, "http://only%20user@proxy.test");
        assert.match(sent, new RegExp(`\r\nProxy-Authorization: ${basic("only user", "")}\r\n`));
      },
    },
    {
      name: "a proxy that asks for credentials is ERR_PROXY, saying to add them or that they were refused",
      run: async (fixture) => {
        const before = await fixture.stats("authProxy");
        const server = await fixture.stats("tls13");
        const missing = await failureThrough(fixture, via(fixture, "authProxy"));
        assert.match(missing.message, /requires authentication \(407 Proxy Authentication Required\).*user:password@/);
        assert.equal(missing.host, "127.0.0.1");
        const wrong = await failureThrough(fixture, `http://pinned%40fetch:wrong@127.0.0.1:${fixture.ports.authProxy}`);
        assert.match(wrong.message, /refused the user and password/);
        assert.equal((await fixture.stats("authProxy")).tunnels, before.tunnels);
        assert.equal((await fixture.stats("tls13")).connections, server.connections);
        // Nothing else uses this proxy meanwhile: all its connections are closed.
        await eventually(
          () => fixture.stats("authProxy"),
          (stats) => stats.open === 0,
          "connections to the proxy left open",
        );
        const negotiate = await scripted(
          "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Negotiate\r\n\r\n",
        );
        assert.equal(negotiate.error.code, "ERR_PROXY");
        assert.match(negotiate.error.message, /requires Negotiate authentication/);
      },
    },
    {
      name: "a proxy that cannot reach the server (502) is ERR_PROXY with its status",
      run: async (fixture) => {
        const error = await failureThrough(fixture, via(fixture, "badGatewayProxy"));
        assert.match(error.message, /127\.0\.0\.1:\d+ could not open a tunnel to localhost:\d+ \(502 Bad Gateway\)/);
      },
    },
    {
      name: "a proxy that refuses the target (403) is ERR_PROXY with its status",
      run: async (fixture) => {
        const error = await failureThrough(fixture, via(fixture), `https://[::1]:${fixture.ports.tls13}/`);
        assert.match(error.message, /refused a tunnel to \[::1\]:\d+ \(403 Forbidden\)/);
        assert.equal((await fixture.stats("proxy")).lastTarget, `[::1]:${fixture.ports.tls13}`);
      },
    },
    {
      name: "an unreachable proxy is ERR_PROXY naming the proxy",
      run: async (fixture) => {
        const refused = await failureThrough(fixture, via(fixture, "refused"));
        assert.match(
          refused.message,
          new RegExp(`proxy 127\\.0\\.0\\.1:${fixture.ports.refused} failed.*refused.*proxy URL`),
        );
        const unresolvable = await failureThrough(fixture, `http://${fixture.unresolvable}:3128`);
        assert.match(unresolvable.message, /could not be resolved/);
      },
    },
    {
      name: "a peer that does not answer CONNECT as an HTTP proxy is ERR_PROXY",
      run: async (fixture) => {
        for (const server of ["garbage", "hangup", "halfClose", "tls13"] as const) {
          await failureThrough(fixture, via(fixture, server));
        }
        const answers = [
          ["SSH-2.0-OpenSSH_9.6\r\n\r\n", /did not answer CONNECT as an HTTP proxy/],
          // Read by the parser of response heads: a status outside 100-599, or a malformed field, is not HTTP.
          ["HTTP/1.1 600 Tunnel Open\r\n\r\n", /not HTTP\/1 \(status line "HTTP\/1\.1 600 Tunnel Open"\)/],
          ["HTTP/1.1 200 OK\r\nnot a field\r\n\r\n", /not HTTP\/1 \(header line "not a field"\)/],
          [`HTTP/1.1 200 OK\r\nx-filler: ${"a".repeat(70_000)}`, /over 64 KiB/],
          ["HTTP/1.1 200 OK\r\n\r\n\x16\x03\x03", /sent 3 bytes of its own before TLS began/],
          ["HTTP/1.1 200 OK\r\n", /closed the connection without answering/],
        ] as const;
        for (const [answer, message] of answers) {
          const { error } = await scripted(answer);
          assert.equal(error.code, "ERR_PROXY", answer.slice(0, 30));
          assert.match(error.message, message);
        }
        // Once the proxy agreed, what follows is TLS's: here, a server that closed.
        assert.equal((await scripted("HTTP/1.0 200 Connection established\r\n\r\n")).error.code, "ERR_TLS");
      },
    },
    {
      name: "a proxy that terminates TLS itself fails the pins (ERR_PIN_MISMATCH), and the server receives nothing",
      run: async (fixture) => {
        const inspecting = { ...local(fixture), proxy: via(fixture, "inspectingProxy") };
        // Unpinned, it passes: its certificate is for localhost and from the trusted CA. Only the pins catch it.
        await withFetch(inspecting, async (fetch) => assert.equal(await (await fetch(hello(fixture))).text(), HELLO));
        const before = await fixture.stats("tls13");
        await withFetch({ ...inspecting, pins: { localhost: [fixture.pins.leaf] } }, async (fetch) => {
          const error = await rejection(fetch(hello(fixture)));
          assert.equal(error.code, "ERR_PIN_MISMATCH");
          assert.equal(error.host, "localhost");
          assert.match(error.message, /went through the proxy 127\.0\.0\.1:\d+: a proxy that inspects TLS/);
        });
        const after = await fixture.stats("tls13");
        assert.equal(after.receivedBytes, before.receivedBytes);
        assert.equal(after.requests, before.requests);
      },
    },
    {
      name: "a proxy URL that is not http:// or is malformed is ERR_CONFIG at createPinnedFetch, without repeating it",
      run: () => {
        const urls = [
          "ftp://127.0.0.1:21",
          "https://user:secret@proxy.test:3128",
          "socks5://proxy.test:1080",
          "proxy.test:3128",
          "http://proxy.test:3128/path",
          "http://user:%zz@proxy.test:3128",
          "",
          "ENV",
        ];
        for (const proxy of urls) {
          const error = thrown(() => createPinnedFetch({ proxy }));
          assert.equal(error.code, "ERR_CONFIG", proxy);
          assert.doesNotMatch(error.message, /secret|%zz/);
        }
        assert.equal(thrown(() => createPinnedFetch({ proxy: 3128 as never })).code, "ERR_CONFIG");
      },
    },
    {
      name: 'proxy: "env" tunnels through HTTPS_PROXY, and goes directly to a host in NO_PROXY',
      run: async (fixture) => {
        const before = await fixture.stats("proxy");
        await withEnvironment({ HTTPS_PROXY: via(fixture) }, () => helloThrough(fixture, { proxy: "env" }));
        const through = await fixture.stats("proxy");
        assert.equal(through.tunnels! - before.tunnels!, 1);
        await withEnvironment({ HTTPS_PROXY: via(fixture), NO_PROXY: "example.com, localhost" }, () =>
          helloThrough(fixture, { proxy: "env" }),
        );
        assert.equal((await fixture.stats("proxy")).tunnels, through.tunnels);
      },
    },
    {
      name: "NO_PROXY matches hosts, domains, ports and IP addresses as curl and undici do",
      run: async () => {
        for (const [noProxy, url, direct] of NO_PROXY_CASES) {
          await withEnvironment({ HTTPS_PROXY: "http://proxy.test:3128", no_proxy: noProxy }, async () => {
            const [host] = await connectedHosts({ proxy: "env" }, [url]);
            assert.equal(
              host === "proxy.test" ? "proxy" : "direct",
              direct ? "direct" : "proxy",
              `NO_PROXY=${JSON.stringify(noProxy)} for ${url}`,
            );
          });
        }
      },
    },
    {
      name: 'proxy: "env" prefers https_proxy to HTTPS_PROXY, takes an empty one as unset, and reads them once',
      run: async () => {
        const urls = ["https://api.example.com/", "https://other.example.com/"];
        const upper = { HTTPS_PROXY: "http://upper.test", NO_PROXY: "api.example.com" };
        await withEnvironment(
          { ...upper, https_proxy: "http://lower.test", no_proxy: "other.example.com" },
          async () => {
            assert.deepEqual(await connectedHosts({ proxy: "env" }, urls), ["lower.test", "other.example.com"]);
          },
        );
        await withEnvironment({ ...upper, https_proxy: "", no_proxy: "" }, async () => {
          assert.deepEqual(await connectedHosts({ proxy: "env" }, urls), ["api.example.com", "upper.test"]);
        });
        await withEnvironment({}, async () => {
          assert.deepEqual(await connectedHosts({ proxy: "env" }, urls), ["api.example.com", "other.example.com"]);
        });
        // The variables are read at the first connection, and that decision holds for the instance.
        const fetch = createPinnedFetch({ proxy: "env", runtime: scriptedProxy("") });
        try {
          await withEnvironment({ HTTPS_PROXY: "http://proxy.test" }, async () => {
            assert.equal((await rejection(fetch("https://api.example.com/"))).code, "ERR_PROXY");
          });
          assert.equal((await rejection(fetch("https://other.example.com/"))).code, "ERR_PROXY");
        } finally {
          await fetch.close();
        }
      },
    },
    {
      name: 'a malformed HTTPS_PROXY is ERR_CONFIG at the first request with proxy: "env"',
      run: async () => {
        await withEnvironment({ HTTPS_PROXY: "socks5://user:secret@proxy.test:1080" }, async () => {
          const fetch = createPinnedFetch({ proxy: "env" });
          try {
            const error = await rejection(fetch("https://localhost:1/"));
            assert.equal(error.code, "ERR_CONFIG");
            assert.match(error.message, /HTTPS_PROXY must be an http:\/\/ URL/);
            assert.doesNotMatch(error.message, /secret/);
          } finally {
            await fetch.close();
          }
        });
      },
    },
    {
      name: "without the proxy option, HTTPS_PROXY and https_proxy are ignored",
      run: async (fixture) => {
        const before = await fixture.stats("proxy");
        await withEnvironment({ HTTPS_PROXY: via(fixture), https_proxy: via(fixture) }, () =>
          helloThrough(fixture, {}),
        );
        assert.equal((await fixture.stats("proxy")).requests, before.requests);
      },
    },
    {
      name: "connectTimeout covers a proxy that never answers CONNECT, and the connection is closed",
      run: async (fixture) => {
        const before = await fixture.stats("silent");
        await withFetch({ ...pinned(fixture), proxy: via(fixture, "silent"), connectTimeout: 300 }, async (fetch) => {
          const error = await rejection(fetch(hello(fixture)));
          assert.equal(error.code, "ERR_TIMEOUT");
          assert.match(error.message, /through the proxy 127\.0\.0\.1:\d+ timed out.*connectTimeout/);
        });
        assert.ok((await fixture.stats("silent")).receivedBytes > before.receivedBytes, "the proxy was sent CONNECT");
        await eventually(
          () => fixture.stats("silent"),
          (stats) => stats.open === before.open,
          "connections left open",
        );
      },
    },
    {
      name: "aborting during CONNECT rejects with the signal's reason, and the connection is closed",
      run: async (fixture) => {
        const before = await fixture.stats("silent");
        await withFetch({ ...pinned(fixture), proxy: via(fixture, "silent") }, async (fetch) => {
          const controller = new AbortController();
          const reason = new Error("stop");
          const outcome = fetch(hello(fixture), { signal: controller.signal }).then(
            () => "it succeeded",
            (error: unknown) => (error === reason ? "the reason" : error),
          );
          await eventually(
            () => fixture.stats("silent"),
            (stats) => stats.receivedBytes > before.receivedBytes,
            "CONNECT sent",
          );
          controller.abort(reason);
          assert.equal(await outcome, "the reason");
        });
        await eventually(
          () => fixture.stats("silent"),
          (stats) => stats.open === before.open,
          "connections left open",
        );
      },
    },
  ],
};
