// The permessage-deflate negotiation (src/websocket/extensions.ts): the server answers RFC 7692 §7.1 allows to
// the offer "permessage-deflate; client_max_window_bits", and the reasons for those it forbids.
import { describe, expect, it } from "vitest";

import { acceptedDeflate, DEFLATE_OFFER } from "../../src/websocket/extensions.js";

const DEFAULTS = {
  serverNoContextTakeover: false,
  clientNoContextTakeover: false,
  serverMaxWindowBits: 15,
  clientMaxWindowBits: 15,
};

describe("acceptedDeflate", () => {
  it("offers permessage-deflate as browsers do, letting the server cap the client's window", () => {
    expect(DEFLATE_OFFER).toBe("permessage-deflate; client_max_window_bits");
  });

  it.each([
    { header: null, offered: true },
    { header: null, offered: false },
    { header: "", offered: false },
    { header: " , ", offered: true },
  ])("negotiates nothing from $header when offered is $offered", ({ header, offered }) => {
    expect(acceptedDeflate(header, offered)).toBeNull();
  });

  it.each([
    { header: "permessage-deflate", params: {} },
    { header: "permessage-deflate; server_no_context_takeover", params: { serverNoContextTakeover: true } },
    { header: "permessage-deflate; client_no_context_takeover", params: { clientNoContextTakeover: true } },
    { header: "permessage-deflate; server_max_window_bits=8", params: { serverMaxWindowBits: 8 } },
    { header: "permessage-deflate; client_max_window_bits=10", params: { clientMaxWindowBits: 10 } },
    { header: 'permessage-deflate; client_max_window_bits="9"', params: { clientMaxWindowBits: 9 } },
    { header: 'permessage-deflate; server_max_window_bits="1\\2"', params: { serverMaxWindowBits: 12 } },
    {
      header:
        "permessage-deflate;server_no_context_takeover ; client_no_context_takeover;\tserver_max_window_bits = 15;client_max_window_bits=8",
      params: { serverNoContextTakeover: true, clientNoContextTakeover: true, clientMaxWindowBits: 8 },
    },
    { header: ", permessage-deflate ,", params: {} },
  ])("accepts $header", ({ header, params }) => {
    expect(acceptedDeflate(header, true)).toEqual({ ...DEFAULTS, ...params });
  });

  it.each([
    {
      header: "permessage-deflate",
      offered: false,
      reason: "the server accepted permessage-deflate, which was not offered",
    },
    {
      header: "x-webkit-deflate-frame",
      offered: true,
      reason: 'the server accepted the extension "x-webkit-deflate-frame", which was not offered',
    },
    {
      header: "permessage-deflate, x-custom; a=1",
      offered: true,
      reason: 'the server accepted the extension "x-custom", which was not offered',
    },
    {
      header: "Permessage-Deflate",
      offered: true,
      reason: 'the server accepted the extension "Permessage-Deflate", which was not offered',
    },
    {
      header: "permessage-deflate, permessage-deflate; server_no_context_takeover",
      offered: true,
      reason: "the server accepted permessage-deflate more than once",
    },
    {
      header: "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
      offered: true,
      reason: "permessage-deflate has the parameter server_no_context_takeover more than once",
    },
    {
      header: "permessage-deflate; client_max_window_bits=10; client_max_window_bits=10",
      offered: true,
      reason: "permessage-deflate has the parameter client_max_window_bits more than once",
    },
    {
      header: "permessage-deflate; server_no_context_takeover=1",
      offered: true,
      reason: `permessage-deflate's server_no_context_takeover takes no value, but has "1"`,
    },
    {
      header: "permessage-deflate; client_no_context_takeover=",
      offered: true,
      reason: `permessage-deflate's client_no_context_takeover takes no value, but has ""`,
    },
    {
      header: "permessage-deflate; client_max_window_bits",
      offered: true,
      reason: "permessage-deflate's client_max_window_bits must be a number from 8 to 15, not missing",
    },
    ...["7", "16", "08", "+9", "10.0", "0x0f", "", '"15'].map((value) => ({
      header: `permessage-deflate; server_max_window_bits=${value}`,
      offered: true,
      reason: `permessage-deflate's server_max_window_bits must be a number from 8 to 15, not ${JSON.stringify(value)}`,
    })),
    {
      header: "permessage-deflate; server_max_window_bits=1 5",
      offered: true,
      reason: `permessage-deflate's server_max_window_bits must be a number from 8 to 15, not "1 5"`,
    },
    {
      header: "permessage-deflate; mux",
      offered: true,
      reason: 'permessage-deflate has the unknown parameter "mux"',
    },
    {
      header: "permessage-deflate;",
      offered: true,
      reason: 'permessage-deflate has a malformed parameter: ""',
    },
    {
      header: "permessage-deflate; a b",
      offered: true,
      reason: 'permessage-deflate has a malformed parameter: "a b"',
    },
    {
      header: "permessage deflate",
      offered: true,
      reason: 'Sec-WebSocket-Extensions is malformed: "permessage deflate"',
    },
    {
      header: "; server_no_context_takeover",
      offered: true,
      reason: 'Sec-WebSocket-Extensions is malformed: "; server_no_context_takeover"',
    },
    {
      header: `x-${"a".repeat(100)}`,
      offered: true,
      reason: `the server accepted the extension "x-${"a".repeat(38)}…", which was not offered`,
    },
  ])("refuses $header (offered: $offered)", ({ header, offered, reason }) => {
    expect(() => acceptedDeflate(header, offered)).toThrow(new Error(reason));
  });
});
