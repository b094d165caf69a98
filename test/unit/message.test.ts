// parseHead and the framing rules of http/message.ts, table by table: the heads a server (or a proxy answering
// CONNECT) sends, and the bodies they announce. No sockets, no TLS.
import { describe, expect, it } from "vitest";

import { PinnedFetchError } from "../../src/errors.js";
import {
  type Framing,
  type ResponseHead,
  encodeLatin1,
  framing,
  parseChunkSize,
  parseHead,
} from "../../src/http/message.js";

const head = (text: string) => parseHead(encodeLatin1(text));

/** The error `run` throws: a PinnedFetchError of `code`. */
function refusal(run: () => unknown, code = "ERR_HTTP"): PinnedFetchError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(PinnedFetchError);
    expect((error as PinnedFetchError).code).toBe(code);
    return error as PinnedFetchError;
  }
  throw new Error("it did not throw");
}

describe("parseHead", () => {
  const parsed: [string, string, Partial<ResponseHead>][] = [
    ["a status line alone", "HTTP/1.1 200 OK", { status: 200, statusText: "OK", fields: [], closes: false }],
    [
      "fields, names in lower case, values trimmed of spaces and tabs",
      "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nX-Spaced: \t a  b \t",
      {
        status: 404,
        fields: [
          ["content-type", "text/plain"],
          ["x-spaced", "a  b"],
        ],
      },
    ],
    [
      "repeated fields, in order",
      "HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nset-cookie: b=2",
      {
        fields: [
          ["set-cookie", "a=1"],
          ["set-cookie", "b=2"],
        ],
      },
    ],
    ["an empty field value", "HTTP/1.1 200 OK\r\nX-Empty:", { fields: [["x-empty", ""]] }],
    ["HTTP/1.0 closes", "HTTP/1.0 200 OK", { closes: true }],
    ["Connection: close closes", "HTTP/1.1 200 OK\r\nConnection: close", { closes: true }],
    ["close among other options, in any case", "HTTP/1.1 200 OK\r\nconnection: keep-alive , Close", { closes: true }],
    ["Connection: keep-alive does not close", "HTTP/1.1 200 OK\r\nConnection: keep-alive", { closes: false }],
    [
      "a word that only contains close does not close",
      "HTTP/1.1 200 OK\r\nConnection: closed, unclose, x close",
      { closes: false },
    ],
    ["close first in a list closes", "HTTP/1.1 200 OK\r\nConnection: close,upgrade", { closes: true }],
    ["no reason and no space before it", "HTTP/1.1 204", { status: 204, statusText: "" }],
    ["an empty reason after its space", "HTTP/1.1 200 ", { status: 200, statusText: "" }],
    ["a reason with a tab and obs-text (as latin1)", "HTTP/1.1 200 \tCaf\xe9", { statusText: "\tCaf\xe9" }],
    ["the lowest status", "HTTP/1.1 100 Continue", { status: 100 }],
    ["the highest status", "HTTP/1.1 599 Custom", { status: 599 }],
  ];
  it.each(parsed)("reads %s", (_, text, expected) => {
    expect(head(text)).toMatchObject(expected);
  });

  const refused: [string, string, RegExp][] = [
    ["a status over 599", "HTTP/1.1 600 Tunnel Open", /status line "HTTP\/1\.1 600 Tunnel Open"/],
    ["a status under 100", "HTTP/1.1 099 Early", /status line/],
    ["a two-digit status", "HTTP/1.1 20 OK", /status line/],
    ["a four-digit status", "HTTP/1.1 2000 OK", /status line/],
    ["no space between status and reason", "HTTP/1.1 200OK", /status line/],
    ["HTTP/2", "HTTP/2 200", /status line/],
    ["HTTP/1.2", "HTTP/1.2 200 OK", /status line/],
    ["a lower-case version", "http/1.1 200 OK", /status line/],
    ["two spaces before the status", "HTTP/1.1  200 OK", /status line/],
    ["a control character in the reason", "HTTP/1.1 200 O\x01K", /status line/],
    ["DEL in the reason", "HTTP/1.1 200 O\x7fK", /status line/],
    ["not HTTP at all", "SSH-2.0-OpenSSH_9.6", /status line "SSH-2\.0-OpenSSH_9\.6"/],
    ["obsolete line folding", "HTTP/1.1 200 OK\r\nX-A: 1\r\n folded", /obsolete line folding/],
    ["a line without a colon", "HTTP/1.1 200 OK\r\nnot a field", /header line "not a field"/],
    ["an empty name", "HTTP/1.1 200 OK\r\n: value", /header line/],
    ["a space in the name", "HTTP/1.1 200 OK\r\nX A: 1", /header line/],
    ["a space before the colon", "HTTP/1.1 200 OK\r\nX-A : 1", /header line/],
    ["an empty line inside the head", "HTTP/1.1 200 OK\r\n\r\nX-A: 1", /header line ""/],
    ["NUL in a value", "HTTP/1.1 200 OK\r\nX-A: a\0b", /control character in header X-A/],
    ["a bare CR in a value", "HTTP/1.1 200 OK\r\nX-A: a\rb", /control character/],
    ["a bare LF in a value", "HTTP/1.1 200 OK\r\nX-A: a\nb", /control character/],
  ];
  it.each(refused)("refuses %s with ERR_HTTP", (_, text, message) => {
    const error = refusal(() => head(text));
    expect(error.message).toMatch(/^The server sent a malformed HTTP response: /);
    expect(error.message).toMatch(message);
  });

  it("quotes at most 80 characters of a bad line", () => {
    const error = refusal(() => head(`HTTP/1.1 200 OK\r\n${"x".repeat(1000)}`));
    expect(error.message).toContain(`"${"x".repeat(80)}"`);
    expect(error.message).not.toContain("x".repeat(81));
  });

  it("words a malformed head as its caller says (the CONNECT tunnel's ERR_PROXY)", () => {
    const proxyError = (detail: string) => new PinnedFetchError("ERR_PROXY", `The proxy's answer: ${detail}.`);
    const error = refusal(() => parseHead(encodeLatin1("HTTP/1.1 999 Nope"), proxyError), "ERR_PROXY");
    expect(error.message).toBe(`The proxy's answer: status line "HTTP/1.1 999 Nope".`);
  });
});

describe("framing", () => {
  const response = (status: number, ...fields: [string, string][]): ResponseHead => ({
    status,
    statusText: "",
    fields,
    closes: false,
  });
  const framed: [string, string, ResponseHead, Framing][] = [
    ["a HEAD response, whatever it announces", "HEAD", response(200, ["content-length", "10"]), { kind: "none" }],
    ["an interim response", "GET", response(103), { kind: "none" }],
    ["204 No Content", "GET", response(204, ["content-length", "10"]), { kind: "none" }],
    ["205 Reset Content", "GET", response(205), { kind: "none" }],
    ["304 Not Modified", "GET", response(304, ["transfer-encoding", "chunked"]), { kind: "none" }],
    ["a response without framing, which the close ends", "GET", response(200), { kind: "close" }],
    ["Content-Length", "GET", response(200, ["content-length", "5"]), { kind: "length", length: 5 }],
    ["Content-Length: 0", "POST", response(201, ["content-length", "0"]), { kind: "length", length: 0 }],
    [
      "the same Content-Length in a list",
      "GET",
      response(200, ["content-length", "5 , 5"]),
      { kind: "length", length: 5 },
    ],
    [
      "the same Content-Length twice",
      "GET",
      response(200, ["content-length", "5"], ["content-length", "5"]),
      { kind: "length", length: 5 },
    ],
    [
      "15 digits of Content-Length",
      "GET",
      response(200, ["content-length", "999999999999999"]),
      { kind: "length", length: 999999999999999 },
    ],
    ["chunked", "GET", response(200, ["transfer-encoding", "chunked"]), { kind: "chunked" }],
    ["Chunked, in any case", "GET", response(200, ["transfer-encoding", "Chunked"]), { kind: "chunked" }],
    ["a 404 with a body", "GET", response(404, ["content-length", "9"]), { kind: "length", length: 9 }],
  ];
  it.each(framed)("delimits %s", (_, method, head, expected) => {
    expect(framing(method, head)).toEqual(expected);
  });

  const refused: [string, ResponseHead, RegExp][] = [
    [
      "both Transfer-Encoding and Content-Length",
      response(200, ["transfer-encoding", "chunked"], ["content-length", "5"]),
      /both Transfer-Encoding and Content-Length/,
    ],
    [
      "a coding other than chunked",
      response(200, ["transfer-encoding", "gzip"]),
      /unsupported Transfer-Encoding "gzip"/,
    ],
    ["a coding before chunked", response(200, ["transfer-encoding", "gzip, chunked"]), /unsupported Transfer-Encoding/],
    ["chunked twice", response(200, ["transfer-encoding", "chunked"], ["transfer-encoding", "chunked"]), /unsupported/],
    ["lengths that differ", response(200, ["content-length", "5, 6"]), /Content-Length "5, 6"/],
    [
      "lengths that differ across fields",
      response(200, ["content-length", "5"], ["content-length", "6"]),
      /Content-Length "5, 6"/,
    ],
    ["a negative length", response(200, ["content-length", "-1"]), /Content-Length "-1"/],
    ["a signed length", response(200, ["content-length", "+5"]), /Content-Length/],
    ["a length in exponent form", response(200, ["content-length", "1e3"]), /Content-Length/],
    ["an empty length", response(200, ["content-length", ""]), /Content-Length/],
    ["16 digits of length", response(200, ["content-length", "1000000000000000"]), /Content-Length/],
  ];
  it.each(refused)("refuses %s with ERR_HTTP", (_, head, message) => {
    expect(refusal(() => framing("GET", head)).message).toMatch(message);
  });
});

describe("parseChunkSize", () => {
  const sizes: [string, number][] = [
    ["0", 0],
    ["1a", 26],
    ["FF", 255],
    ["a;name=value", 10],
    ["10 \t;ext", 16],
    ["ffffffffffff", 0xffffffffffff],
  ];
  it.each(sizes)("reads %j as %d", (line, size) => {
    expect(parseChunkSize(encodeLatin1(line))).toBe(size);
  });

  const refused = ["", "g", "-1", " 1", "0x10", "1 2", "1000000000000"];
  it.each(refused)("refuses %j with ERR_HTTP", (line) => {
    expect(refusal(() => parseChunkSize(encodeLatin1(line))).message).toMatch(/chunk size/);
  });
});
