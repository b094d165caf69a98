// Redirects (src/http/redirects.ts): which responses are followed, and how a hop rewrites the request, as the
// fetch standard says.
import { describe, expect, it } from "vitest";

import { PinnedFetchError } from "../../src/errors.js";
import { type Hop, MAX_REDIRECTS, redirectLocation, redirected } from "../../src/http/redirects.js";

const FROM = "https://a.example/from";
const BYTES = new TextEncoder().encode("ping");

function hop(method: string, body: Hop["body"] = null, headers: Record<string, string> = {}): Hop {
  return { method, url: new URL(FROM), host: "a.example", headers: new Headers(headers), body };
}

describe("redirectLocation", () => {
  it.each([
    { status: 301, location: "/to", mode: "follow", expected: "/to" },
    { status: 302, location: "/to", mode: "follow", expected: "/to" },
    { status: 303, location: "/to", mode: "follow", expected: "/to" },
    { status: 307, location: "/to", mode: "follow", expected: "/to" },
    { status: 308, location: "/to", mode: "follow", expected: "/to" },
    { status: 308, location: "/to", mode: "error", expected: "/to" },
    { status: 308, location: "", mode: "follow", expected: "" },
    { status: 308, location: "/to", mode: "manual", expected: null },
    { status: 308, location: null, mode: "follow", expected: null },
    { status: 300, location: "/to", mode: "follow", expected: null },
    { status: 304, location: "/to", mode: "follow", expected: null },
    { status: 305, location: "/to", mode: "follow", expected: null },
    { status: 200, location: "/to", mode: "follow", expected: null },
  ] as const)("$status with Location $location under $mode: $expected", ({ status, location, mode, expected }) => {
    const headers = new Headers(location === null ? {} : { location });
    expect(redirectLocation(status, headers, mode)).toBe(expected);
  });
});

describe("redirected", () => {
  it.each([
    { status: 301, method: "POST", method2: "GET", keepsBody: false },
    { status: 302, method: "POST", method2: "GET", keepsBody: false },
    { status: 303, method: "POST", method2: "GET", keepsBody: false },
    { status: 307, method: "POST", method2: "POST", keepsBody: true },
    { status: 308, method: "POST", method2: "POST", keepsBody: true },
    { status: 301, method: "PUT", method2: "PUT", keepsBody: true },
    { status: 302, method: "PATCH", method2: "PATCH", keepsBody: true },
    { status: 303, method: "PUT", method2: "GET", keepsBody: false },
    { status: 303, method: "DELETE", method2: "GET", keepsBody: false },
    { status: 303, method: "HEAD", method2: "HEAD", keepsBody: true },
    { status: 303, method: "GET", method2: "GET", keepsBody: true },
  ])("$status turns $method into $method2 (body kept: $keepsBody)", ({ status, method, method2, keepsBody }) => {
    const body = method === "GET" || method === "HEAD" ? null : BYTES;
    const described = { "content-type": "text/plain", "content-language": "en", "x-kept": "1" };
    const next = redirected(hop(method, body, described), status, "/to", "follow", 0);
    expect(next.method).toBe(method2);
    expect(next.body).toBe(keepsBody ? body : null);
    expect(next.headers.get("content-type")).toBe(keepsBody ? "text/plain" : null);
    expect(next.headers.get("content-language")).toBe(keepsBody ? "en" : null);
    expect(next.headers.get("x-kept")).toBe("1");
  });

  it.each([
    { location: "/to?q=1", url: "https://a.example/to?q=1", host: "a.example" },
    { location: "to", url: "https://a.example/to", host: "a.example" },
    { location: "https://B.Example:8443/x", url: "https://b.example:8443/x", host: "b.example" },
    { location: "//c.example/y", url: "https://c.example/y", host: "c.example" },
  ])("resolves $location against the URL it came from", ({ location, url, host }) => {
    const next = redirected(hop("GET"), 302, location, "follow", 0);
    expect([next.url.href, next.host]).toEqual([url, host]);
  });

  it.each([
    { location: "/to", crossOrigin: false },
    { location: "https://a.example:443/to", crossOrigin: false },
    { location: "https://b.example/to", crossOrigin: true },
    { location: "https://a.example:8443/to", crossOrigin: true },
    { location: "https://sub.a.example/to", crossOrigin: true },
  ])("drops credentials only on the way to another origin: $location", ({ location, crossOrigin }) => {
    const credentials = { authorization: "Bearer secret", cookie: "a=1", "proxy-authorization": "Basic x" };
    const next = redirected(hop("GET", null, { ...credentials, accept: "text/plain" }), 307, location, "follow", 0);
    for (const [name, value] of Object.entries(credentials)) {
      expect(next.headers.get(name), name).toBe(crossOrigin ? null : value);
    }
    expect(next.headers.get("accept")).toBe("text/plain");
  });

  it("leaves the hop it rewrites as it was", () => {
    const first = hop("POST", BYTES, { "content-type": "text/plain", authorization: "Bearer secret" });
    redirected(first, 303, "https://b.example/", "follow", 0);
    expect([first.method, first.body, first.url.href]).toEqual(["POST", BYTES, FROM]);
    expect([first.headers.get("content-type"), first.headers.get("authorization")]).toEqual([
      "text/plain",
      "Bearer secret",
    ]);
  });

  const stream = () => new ReadableStream<Uint8Array>();
  const refusals: {
    what: string;
    from: Hop;
    status: number;
    mode: RequestRedirect;
    count: number;
    location: string;
    message: RegExp;
  }[] = [
    {
      what: 'redirect: "error"',
      from: hop("GET"),
      status: 302,
      mode: "error",
      count: 0,
      location: "/to",
      message: /redirect: "error"/,
    },
    {
      what: "one redirect more than the limit",
      from: hop("GET"),
      status: 302,
      mode: "follow",
      count: MAX_REDIRECTS,
      location: "/to",
      message: /More than 20 redirects/,
    },
    {
      what: "a streamed body on a 307",
      from: hop("POST", stream()),
      status: 307,
      mode: "follow",
      count: 0,
      location: "/to",
      message: /body is a stream/,
    },
    {
      what: "a streamed body on a 308",
      from: hop("PUT", stream()),
      status: 308,
      mode: "follow",
      count: 0,
      location: "/to",
      message: /body is a stream/,
    },
    {
      what: "a Location that is not HTTPS",
      from: hop("GET"),
      status: 302,
      mode: "follow",
      count: 0,
      location: "http://a.example/",
      message: /is not HTTPS/,
    },
    {
      what: "a Location with credentials",
      from: hop("GET"),
      status: 302,
      mode: "follow",
      count: 0,
      location: "https://user:pass@a.example/",
      message: /includes credentials/,
    },
  ];
  it.each(refusals)("refuses $what with ERR_HTTP", ({ from, status, mode, count, location, message }) => {
    let error: unknown;
    try {
      redirected(from, status, location, mode, count);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(PinnedFetchError);
    expect((error as PinnedFetchError).code).toBe("ERR_HTTP");
    expect((error as PinnedFetchError).message).toMatch(message);
  });

  it.each([
    { what: "the last redirect within the limit", from: hop("GET"), status: 302, count: MAX_REDIRECTS - 1 },
    { what: "a streamed body that a 303 drops", from: hop("POST", new ReadableStream()), status: 303, count: 0 },
  ])("follows $what", ({ from, status, count }) => {
    expect(redirected(from, status, "/to", "follow", count).url.href).toBe("https://a.example/to");
  });
});
