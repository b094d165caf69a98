// The families of hostile cases. Each turns a case number into a plan, the
// same in every runtime for the same seed: what the server does, and what
// the client may end with.
import type { PinnedFetchErrorCode, PinnedFetchOptions } from "../../../src/index.js";
import {
  type Ending,
  type HostileDescription,
  type HttpScript,
  HEALTHY_SCRIPT,
  KEEP_ALIVE_RESPONSE,
  RESPONSE_HEAD,
  RESPONSE_PARTS,
  type RecordEdit,
  type ServerPlan,
  type StreamPlan,
  TLS_SERVERS,
} from "../../support/hostile/plan.js";
import { HELLO } from "../harness/check.js";
import { Random, caseRandom, hex, shuffled } from "./random.js";
import { HTTP2_FAMILIES, type Http2Case } from "./http2.js";
import { WEBSOCKET_FAMILIES, type WebSocketCase } from "./websocket.js";

/** A response as it came through: its status and body. */
export interface Answer {
  status: number;
  body: string;
}
/** What the healthy server answers. */
const HEALTHY_ANSWER: Answer = { status: 200, body: HELLO };

/** How a case may end: an error code, the caller's abort, or a response that came through whole. */
export type Expected = PinnedFetchErrorCode | "aborted" | "completed";

/** Defects of src/ that some cases showed, by name (see AWAITING_FIX in hostile.ts). */
export const DEFECTS = [
  "a fast body starves the event loop",
  "a chunked body cut in its trailer section is taken as complete",
  "a message is dropped when a bad frame follows it in one read",
  "the client's GOAWAY and other last frames are lost when its HTTP/2 connection closes",
  "a request its HTTP/2 connection failed unprocessed is not sent again",
] as const;
export type Defect = (typeof DEFECTS)[number];

export interface CasePlan {
  /** In words, for a failure's report. */
  what: string;
  server: ServerPlan;
  /** Milliseconds after the call at which the caller aborts, if it does. */
  abortAfter?: number;
  /** The responses that may come through whole, exactly (a hostility may spare what TLS authenticates); none by default. */
  answers?: readonly Answer[];
  /** The outcomes this case must end with, when narrower than its family's codes. */
  expect?: readonly Expected[];
  /** What the error's message must say, for a case whose one cause the message names. */
  says?: RegExp;
  /** A known defect this case fails by, until it is fixed. */
  defect?: Defect;
  /** A request first whose healthy response leaves the connection open: the case concerns the next one. */
  warmUp?: boolean;
  /** A WebSocket case (see websocket.ts): the client opens a WebSocket instead of fetching. */
  webSocket?: WebSocketCase;
  /** An HTTP/2 case (see http2.ts): what the client must have sent back. */
  http2?: Http2Case;
  /** The request is a POST with a body of so many bytes. */
  body?: number;
}

/** The limits of a family's pinned fetch, in ms; `body` bounds reading a body, through an abort. */
interface Limits {
  connectTimeout: number;
  timeout: number;
  body: number;
}

export interface Family {
  /** Short, for case names (`key:index`). */
  key: string;
  /** The scenario's name. */
  name: string;
  /** Its share of the cases, the fewest it runs, and what a case takes at most on average (for the scenario's time limit). */
  share: number;
  least: number;
  costPerCase: number;
  limits: Limits;
  /** Further options of its pinned fetch. */
  options?: PinnedFetchOptions;
  /** Error codes any of its cases may end with. */
  codes: readonly PinnedFetchErrorCode[];
  /** The defects some of its cases show: a defect's scenario looks for its cases in these families alone. */
  defects?: readonly Defect[];
  /** The plan of each case, from what the fixture recorded. */
  planner(hostile: HostileDescription): (index: number) => CasePlan;
}

const NETWORK: readonly PinnedFetchErrorCode[] = ["ERR_TLS", "ERR_CONNECT", "ERR_TIMEOUT"];
const CERTIFICATE: readonly PinnedFetchErrorCode[] = ["ERR_CERT_UNTRUSTED", "ERR_CERT_EXPIRED", "ERR_CERT_HOSTNAME"];
/** Cases that fail fast; a stalled one ends at connectTimeout or timeout. */
const FAST: Limits = { connectTimeout: 600, timeout: 1_000, body: 1_000 };
/** How often a fast family's case ends by stalling rather than closing. */
const STALLS = 0.015;

function ending(random: Random): Ending {
  return random.chance(STALLS) ? "stall" : random.pick(["fin", "reset"] as const);
}

/** Bytes a hostile server might put where a record belongs. */
function injected(random: Random): number[] {
  const kind = random.int(0, 5);
  if (kind === 0) {
    const level = random.pick([1, 2, random.int(0, 255)]);
    const description = random.pick([0, 10, 20, 40, 42, 48, 70, 80, 90, 100, 109, 112, 255, random.int(0, 255)]);
    return [0x15, 3, 3, 0, 2, level, description];
  }
  if (kind === 1) return [0x14, 3, 3, 0, 1, 1]; // ChangeCipherSpec
  if (kind === 2) return [random.pick([0x16, 0x17]), 3, 3, 0, 0]; // an empty record
  if (kind === 3) return [...random.bytes(random.int(1, 64))];
  // A record of any type whose declared length may not be what follows.
  const type = random.pick([0x14, 0x15, 0x16, 0x17, 0x18, 0x00, 0xff, random.int(0, 255)]);
  const declared = random.pick([1, 2, 32, 16_384, 16_385, 18_433, 0xffff, random.int(0, 0xffff)]);
  const content = random.bytes(kind === 4 ? Math.min(declared, 256) : random.int(0, 64));
  return [type, 3, 3, declared >> 8, declared & 0xff, ...content];
}

const OPERATIONS = [
  "flip",
  "flip",
  "flip",
  "length",
  "type",
  "version",
  "drop",
  "duplicate",
  "swap",
  "inject",
  "inject",
  "cut",
  "end",
] as const;

/** One random change to record `record`, whose size is `size` (0 for the end of the stream). */
function randomEdit(random: Random, record: number, size: number): RecordEdit {
  const op = random.pick(OPERATIONS);
  switch (op) {
    case "flip":
      return { record, op, bit: random.int(0, Math.max(size, 1) * 8 - 1) };
    case "length": {
      const body = size - 5;
      return {
        record,
        op,
        length: random.pick([0, 1, body - 1, body + 1, 16_640, 18_433, 0xffff, random.int(0, 0xffff)]),
      };
    }
    case "type":
      return { record, op, type: random.pick([0x14, 0x15, 0x16, 0x17, 0x18, 0x00, 0xff, random.int(0, 255)]) };
    case "version":
      return {
        record,
        op,
        version: random.pick([0x0300, 0x0301, 0x0302, 0x0304, 0x0000, 0xffff, random.int(0, 0xffff)]),
      };
    case "inject":
      return { record, op, hex: hex(injected(random)) };
    case "cut":
      return { record, op, offset: random.int(0, Math.max(size - 1, 0)) };
    default:
      return { record, op };
  }
}

function describeEdits(edits: readonly RecordEdit[]): string {
  return edits.map(({ record, op }) => `${op} at record ${record}`).join(", ");
}

const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);

const randomBytes: Family = {
  key: "random",
  name: "a server that answers the ClientHello with random bytes",
  share: 0.09,
  least: 20,
  costPerCase: 300,
  limits: FAST,
  codes: NETWORK,
  planner: (hostile) => (index) => {
    const random = caseRandom(hostile.seed, "random", index);
    const prefixes: (() => number[])[] = [
      () => [],
      () => [0x16, 3, 3, random.int(0, 255), random.int(0, 255)], // a handshake record's header
      () => [0x16, 3, 3, 0, 0x50, 0x02, 0, 0, 0x4c, 3, 3], // a ServerHello's start
      () => [0x15, 3, 3, 0, 2], // an alert's header
      () => [0x80, random.int(0, 255), 0x04], // an SSL 2 record
      () => [...new TextEncoder().encode("HTTP/1.1 400 Bad Request\r\n\r\n")],
    ];
    const bytes = [...random.pick(prefixes)(), ...random.bytes(random.pick([0, 1, 3, 16, 200, random.int(1, 5_000)]))];
    const readHello = !random.chance(0.1);
    const server: ServerPlan = { kind: "bytes", readHello, hex: hex(bytes), ending: ending(random) };
    return {
      what: `${bytes.length} random bytes ${readHello ? "after" : "before"} the ClientHello, then ${server.ending}`,
      server,
    };
  },
};

const recordedCut: Family = {
  key: "recorded-cut",
  name: "a recorded handshake (TLS 1.3, with a HelloRetryRequest, and 1.2) cut at every byte offset",
  share: 0.36,
  least: 60,
  costPerCase: 300,
  limits: FAST,
  codes: [...NETWORK, ...CERTIFICATE],
  planner(hostile) {
    // Every offset from 0 to the whole flight, of each server, in a seeded order.
    const cuts = TLS_SERVERS.flatMap((tls) => {
      const { sizes, flight } = hostile.recorded[tls];
      const length = sum(sizes.slice(0, flight));
      return Array.from({ length: length + 1 }, (_, offset) => ({ tls, length, offset }));
    });
    const order = shuffled(cuts.length, new Random(hostile.seed));
    return (index) => {
      const random = caseRandom(hostile.seed, "recorded-cut", index);
      const { tls, length, offset } = cuts[order[index % cuts.length]!]!;
      // Each offset ends the other way on the next round through them all.
      const round = Math.floor(index / cuts.length);
      const end: Ending = random.chance(STALLS) ? "stall" : (["fin", "reset"] as const)[(offset + round) % 2]!;
      return {
        what: `the recorded ${tls} flight cut after ${offset} of its ${length} bytes, then ${end}`,
        server: { kind: "replay", tls, stream: { edits: [], cutAt: offset, ending: end } },
      };
    };
  },
};

const recordedMutation: Family = {
  key: "recorded-edit",
  name: "a recorded handshake with records flipped, resized, retyped, dropped, duplicated, swapped or injected",
  share: 0.1,
  least: 20,
  costPerCase: 300,
  limits: FAST,
  codes: [...NETWORK, ...CERTIFICATE],
  planner: (hostile) => (index) => {
    const random = caseRandom(hostile.seed, "recorded-edit", index);
    const tls = random.pick(TLS_SERVERS);
    const { sizes, flight } = hostile.recorded[tls];
    const edits: RecordEdit[] = random.chance(0.1)
      ? [
          { record: 0, op: "drop" },
          { record: 0, op: "inject", hex: hex(random.bytes(random.int(1, 200))) },
        ] // garbage for a ServerHello
      : Array.from({ length: random.int(1, 3) }, () => {
          const record = random.int(0, flight - 1);
          return randomEdit(random, record, sizes[record]!);
        });
    const stream: StreamPlan = { edits, ending: ending(random) };
    return {
      what: `the recorded ${tls} flight with ${describeEdits(edits)}, then ${stream.ending}`,
      server: { kind: "replay", tls, stream },
    };
  },
};

/** A live connection to a real TLS server, one or two of its records in `records` changed; sometimes the caller aborts. */
function liveEdit(
  key: string,
  name: string,
  share: number,
  codes: readonly PinnedFetchErrorCode[],
  records: (sizes: number[], handshake: number) => [number, number],
): Family {
  return {
    key,
    name,
    share,
    least: 30,
    costPerCase: 300,
    limits: FAST,
    codes,
    planner: (hostile) => (index) => {
      const random = caseRandom(hostile.seed, key, index);
      const tls = random.pick(TLS_SERVERS);
      const { sizes, handshake } = hostile.recorded[tls];
      const [first, last] = records(sizes, handshake);
      const edits = Array.from({ length: random.chance(0.2) ? 2 : 1 }, () => {
        const record = random.int(first, last);
        return randomEdit(random, record, sizes[record] ?? 0);
      });
      const stream: StreamPlan = { edits, ending: ending(random) };
      const abortAfter = random.chance(0.1) ? random.int(0, 15) : undefined;
      return {
        what: `a live ${tls} connection with ${describeEdits(edits)}, then ${stream.ending} if cut${abortAfter === undefined ? "" : `, aborted after ${abortAfter} ms`}`,
        server: { kind: "relay", tls, stream, http: HEALTHY_SCRIPT },
        ...(abortAfter !== undefined && { abortAfter }),
        answers: [HEALTHY_ANSWER],
      };
    },
  };
}

const liveHandshake = liveEdit(
  "live-handshake",
  "a live handshake with a record flipped, resized, retyped, dropped, duplicated, swapped, injected, cut or ended",
  0.11,
  [...NETWORK, ...CERTIFICATE],
  (_, handshake) => [0, handshake - 1],
);

// Up to one past the last record: what is injected or cut there comes where the stream ends.
const liveData = liveEdit(
  "live-data",
  "the data phase with a record flipped, resized, retyped, dropped, duplicated, swapped, injected, cut or ended",
  0.11,
  [...NETWORK, "ERR_HTTP"],
  (sizes, handshake) => [handshake, sizes.length],
);

/** Responses whose every proper prefix is incomplete. */
const FRAMED_RESPONSES: Record<string, string> = {
  "Content-Length": RESPONSE_PARTS.join(""),
  chunked: `HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\nd\r\nhello, pinned\r\n6;ext=1\r\n world\r\n0\r\nx-trailer: yes\r\n\r\n`,
  "103, then Content-Length": `HTTP/1.1 103 Early Hints\r\nlink: </style.css>; rel=preload\r\n\r\n${RESPONSE_PARTS.join("")}`,
};
const CUT_ENDINGS = ["close_notify", "fin", "reset"] as const;

const responseCut: Family = {
  key: "response-cut",
  name: "a response cut at every byte offset by close_notify, FIN or reset",
  defects: ["a chunked body cut in its trailer section is taken as complete"],
  share: 0.15,
  least: 20,
  costPerCase: 300,
  limits: FAST,
  codes: ["ERR_HTTP", "ERR_TLS", "ERR_CONNECT"],
  planner(hostile) {
    const cuts = Object.entries(FRAMED_RESPONSES).flatMap(([framing, text]) =>
      Array.from({ length: text.length }, (_, offset) =>
        CUT_ENDINGS.map((end) => ({ framing, text, offset, end })),
      ).flat(),
    );
    const order = shuffled(cuts.length, new Random(hostile.seed));
    return (index) => {
      const random = caseRandom(hostile.seed, "response-cut", index);
      const { framing, text, offset, end } = cuts[order[index % cuts.length]!]!;
      const tls = random.pick(TLS_SERVERS);
      // In two records, split anywhere.
      const split = random.int(0, offset);
      const steps = [text.slice(0, split), text.slice(split, offset)].filter(Boolean).map((send) => ({ send }));
      // Cut by close_notify where a trailer field or the trailer section would begin.
      const trailers = text.lastIndexOf("\r\n0\r\n") + 5;
      const inTrailers =
        framing === "chunked" && end === "close_notify" && offset >= trailers && text.slice(0, offset).endsWith("\n");
      return {
        what: `a ${framing} response over ${tls} cut after ${offset} of its ${text.length} bytes by ${end}`,
        server: { kind: "relay", tls, stream: { edits: [], ending: "fin" }, http: { steps, end } },
        ...(inTrailers && { defect: "a chunked body cut in its trailer section is taken as complete" as const }),
      };
    };
  },
};

/** What a server may do on a kept-alive connection, once idle or at the next request. */
const AFTERWARDS: ((random: Random) => {
  what: string;
  script: HttpScript;
  answers?: Answer[];
  expect?: Expected[];
})[] = [
  // Nothing of an answer came: the GET is sent again on a new connection, if it was sent at all.
  () => ({ what: "closes it with close_notify", script: { steps: [], end: "close_notify" }, expect: ["completed"] }),
  () => ({ what: "closes it without close_notify", script: { steps: [], end: "fin" }, expect: ["completed"] }),
  () => ({ what: "resets it", script: { steps: [], end: "reset" }, expect: ["completed"] }),
  (random) => ({
    what: "sends a 408 and closes it",
    script: {
      steps: [{ send: "HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n" }],
      end: random.pick(CUT_ENDINGS),
    },
    // The answer to the next request, if that was sent before the 408 came.
    answers: [{ status: 408, body: "" }],
  }),
  (random) => ({
    what: "sends bytes that are not HTTP",
    script: {
      steps: [{ send: String.fromCharCode(...random.bytes(random.int(1, 64))) }],
      end: random.pick(CUT_ENDINGS),
    },
  }),
  (random) => ({
    what: "sends bytes that are not TLS",
    script: { steps: [{ raw: hex(injected(random)) }], end: random.pick(CUT_ENDINGS) },
  }),
  (random) => {
    const offset = random.int(0, KEEP_ALIVE_RESPONSE.length - 1);
    return {
      what: `answers with ${offset} bytes of a response`,
      script: { steps: [{ send: KEEP_ALIVE_RESPONSE.slice(0, offset) }], end: random.pick(CUT_ENDINGS) },
    };
  },
  () => ({
    what: "answers properly",
    script: { steps: [{ send: KEEP_ALIVE_RESPONSE }], end: "close_notify" },
    expect: ["completed"],
  }),
  // A request that timed out is not sent again.
  () => ({ what: "stalls", script: { steps: [], end: "stall" }, expect: ["ERR_TIMEOUT"] }),
];

const keptAlive: Family = {
  key: "kept-alive",
  name: "a kept-alive connection that its server closes, resets, fills or cuts while idle or at the next request",
  share: 0.06,
  least: 20,
  costPerCase: 300,
  limits: FAST,
  codes: [...NETWORK, "ERR_HTTP"],
  planner: (hostile) => (index) => {
    const random = caseRandom(hostile.seed, "kept-alive", index);
    const tls = random.pick(TLS_SERVERS);
    const { what, script, answers = [], expect } = random.pick(AFTERWARDS)(random);
    const after = random.chance(0.5) ? "request" : random.int(0, 20);
    return {
      what: `after a kept-alive ${tls} response, the server ${what} ${after === "request" ? "at the next request" : `${after} ms later`}`,
      server: {
        kind: "relay",
        tls,
        stream: { edits: [], ending: "fin" },
        http: { steps: [{ send: KEEP_ALIVE_RESPONSE }], end: "stall", next: { after, script } },
      },
      warmUp: true,
      // A request sent again on a new connection gets the healthy answer.
      answers: [HEALTHY_ANSWER, ...answers],
      ...(expect && { expect }),
    };
  },
};

const CHUNKED_HEAD = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n";
const http = (steps: HttpScript["steps"]): ServerPlan => ({
  kind: "relay",
  tls: "TLSv1.3",
  stream: { edits: [], ending: "fin" },
  http: { steps, end: "stall" },
});

/** Servers that take their time or never finish, and the outcome each must end with. */
const SLOW: { what: string; server: ServerPlan; expect: readonly Expected[]; defect?: Defect }[] = [
  {
    what: "stalls after the connect, before reading the ClientHello",
    server: { kind: "bytes", readHello: false, hex: "", ending: "stall" },
    expect: ["ERR_TIMEOUT"],
  },
  {
    what: "stalls after the ClientHello",
    server: { kind: "bytes", readHello: true, hex: "", ending: "stall" },
    expect: ["ERR_TIMEOUT"],
  },
  {
    what: "drips its handshake, a byte a second",
    server: { kind: "relay", tls: "TLSv1.3", stream: { edits: [], drip: 1_000, ending: "fin" }, http: HEALTHY_SCRIPT },
    expect: ["ERR_TIMEOUT"],
  },
  { what: "stalls after the handshake", server: http([]), expect: ["ERR_TIMEOUT"] },
  { what: "stalls after the response head", server: http([{ send: RESPONSE_HEAD }]), expect: ["aborted"] },
  {
    what: "stalls in the middle of the body",
    server: http([{ send: RESPONSE_HEAD }, { send: "hello" }]),
    expect: ["aborted"],
  },
  {
    what: "drips its response head, a byte a second",
    server: http([{ drip: RESPONSE_PARTS.join(""), every: 1_000 }]),
    expect: ["ERR_TIMEOUT"],
  },
  {
    what: "drips the body, a byte a second",
    server: http([{ send: RESPONSE_HEAD }, { drip: HELLO, every: 1_000 }]),
    expect: ["aborted"],
  },
  {
    what: "sends header fields without end",
    server: http([{ send: "HTTP/1.1 200 OK\r\n" }, { repeat: "x-endless: 0123456789abcdef\r\n" }]),
    expect: ["ERR_HTTP"],
  },
  {
    what: "sends a header line without end",
    server: http([{ send: "HTTP/1.1 200 OK\r\nx-endless: " }, { repeat: "a" }]),
    expect: ["ERR_HTTP"],
  },
  {
    what: "sends a status line without end",
    server: http([{ send: "HTTP/1.1 200 " }, { repeat: "O" }]),
    expect: ["ERR_HTTP"],
  },
  // Interim heads count towards maxHeaderSize, as trailer fields do.
  {
    what: "sends interim responses without end",
    server: http([{ repeat: "HTTP/1.1 100 Continue\r\n\r\n" }]),
    expect: ["ERR_HTTP"],
  },
  // Small chunks cost more to parse than to send: the client falls behind, and its timers with it.
  {
    what: "sends a chunked body without end",
    server: http([{ send: CHUNKED_HEAD }, { repeat: "10\r\n0123456789abcdef\r\n" }]),
    expect: ["aborted"],
    defect: "a fast body starves the event loop",
  },
  {
    what: "sends one-byte chunks without end",
    server: http([{ send: CHUNKED_HEAD }, { repeat: "1\r\na\r\n" }]),
    expect: ["aborted"],
    defect: "a fast body starves the event loop",
  },
  {
    what: "sends a chunk-size line without end",
    server: http([{ send: `${CHUNKED_HEAD}1` }, { repeat: ";x=y" }]),
    expect: ["ERR_HTTP"],
  },
  {
    what: "sends a chunk that never ends",
    server: http([{ send: `${CHUNKED_HEAD}ffffffffff\r\n` }, { repeat: "y" }]),
    expect: ["aborted"],
  },
  {
    what: "sends trailer fields without end",
    server: http([{ send: `${CHUNKED_HEAD}0\r\n` }, { repeat: "x-trailer: 0123456789\r\n" }]),
    expect: ["ERR_HTTP"],
  },
  {
    what: "sends a body without framing and without end",
    server: http([{ send: "HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n" }, { repeat: "z" }]),
    expect: ["aborted"],
  },
];

const slow: Family = {
  key: "slow",
  name: "a server that stalls at each stage, drips a byte a second, or never ends",
  share: 0.02,
  least: SLOW.length,
  costPerCase: 4_000,
  limits: { connectTimeout: 500, timeout: 1_500, body: 800 },
  codes: ["ERR_TIMEOUT", "ERR_HTTP"],
  defects: ["a fast body starves the event loop"],
  planner: (hostile) => (index) => {
    const random = caseRandom(hostile.seed, "slow", index);
    const { what, server, expect, defect } = SLOW[index % SLOW.length]!;
    const plan = { server, ...(defect && { defect }) };
    // Once each has run as it is, every other one is aborted at a random moment.
    const abortAfter = index >= SLOW.length && index % 2 === 1 ? random.int(0, 1_000) : undefined;
    if (abortAfter === undefined) return { ...plan, what, expect };
    return { ...plan, what: `${what}, aborted after ${abortAfter} ms`, abortAfter, expect: [...expect, "aborted"] };
  },
};

/**
 * Key shares a ServerHello may carry instead of X25519MLKEM768's (the ML-KEM-768 ciphertext, 1,088 bytes, and the
 * X25519 key, 32) or X25519's (32 bytes): sizes that are not those, X25519 points of low order, whose secret is all
 * zeros (RFC 7748 §6.1: refused, as the runtime's X25519 must refuse it where it computes it), and the right size of
 * random bytes, then a record that looks encrypted. ML-KEM's implicit rejection turns a random ciphertext into a
 * wrong secret, not an error: that record cannot be decrypted under the keys derived from it.
 */
const X25519MLKEM768 = 0x11ec;
const X25519 = 0x001d;
/** Points of order 1 and 8 (u = 0, u = 1, and one whose top bit is set, which X25519 ignores). */
const LOW_ORDER = [
  "00".repeat(32),
  "01" + "00".repeat(31),
  "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
  "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b880",
];
const KEY_SHARES: { group: number; bytes: number; x25519?: string; record: boolean; says: RegExp }[] = [
  { group: X25519MLKEM768, bytes: 1_119, record: false, says: /InvalidKeyShare/ },
  { group: X25519MLKEM768, bytes: 1_121, record: false, says: /InvalidKeyShare/ },
  { group: X25519MLKEM768, bytes: 1_088, record: false, says: /InvalidKeyShare/ },
  { group: X25519MLKEM768, bytes: 32, record: false, says: /InvalidKeyShare/ },
  { group: X25519MLKEM768, bytes: 1_120, record: true, says: /decrypt/ },
  ...LOW_ORDER.map((x25519) => ({
    group: X25519MLKEM768,
    bytes: 1_120,
    x25519,
    record: false,
    says: /InvalidKeyShare/,
  })),
  { group: X25519, bytes: 31, record: false, says: /InvalidKeyShare/ },
  { group: X25519, bytes: 33, record: false, says: /InvalidKeyShare/ },
  { group: X25519, bytes: 32, record: true, says: /decrypt/ },
  ...LOW_ORDER.map((x25519) => ({ group: X25519, bytes: 32, x25519, record: false, says: /InvalidKeyShare/ })),
];

const keyShare: Family = {
  key: "key-share",
  name: "a ServerHello that chooses X25519MLKEM768 or X25519 with a key share of a wrong size, a low-order X25519 point, or random bytes",
  share: 0,
  least: KEY_SHARES.length,
  costPerCase: 300,
  limits: FAST,
  codes: ["ERR_TLS"],
  planner: (hostile) => (index) => {
    const random = caseRandom(hostile.seed, "key-share", index);
    const { group, bytes, x25519, record, says } = KEY_SHARES[index % KEY_SHARES.length]!;
    // The server then waits: the client must refuse what it got, not wait for more.
    const after = record ? hex([0x17, 3, 3, 0, 100, ...random.bytes(100)]) : "";
    // A low-order point replaces the share's X25519 key, its last 32 bytes.
    const share = hex(random.bytes(bytes - (x25519 ? 32 : 0))) + (x25519 ?? "");
    const name = group === X25519 ? "X25519" : "X25519MLKEM768";
    const what = x25519
      ? `a key share whose X25519 key is the low-order point ${x25519}`
      : `a key share of ${bytes} random bytes${record ? ", then a record of random bytes" : ""}`;
    return {
      what: `a ServerHello choosing ${name} with ${what}, then a stall`,
      server: { kind: "serverHello", group, share, after, ending: "stall" },
      expect: ["ERR_TLS"],
      says,
    };
  },
};

export const FAMILIES: readonly Family[] = [
  randomBytes,
  recordedCut,
  recordedMutation,
  liveHandshake,
  liveData,
  responseCut,
  keptAlive,
  slow,
  keyShare,
  ...WEBSOCKET_FAMILIES,
  ...HTTP2_FAMILIES,
];
