// The HTTP/2 families of hostile cases: the server chooses ALPN h2 (the pins
// pass) and then breaks RFC 9113 or RFC 7541 as the case says, or floods the
// client with what it must answer. The request must end as the case allows,
// and where the server still reads, what the client sent back is checked:
// its GOAWAY after a connection error, its RST_STREAM after a stream error,
// its acknowledgements of SETTINGS and PINGs.
import type { PinnedFetch } from "../../../src/index.js";
import {
  ACK,
  END_HEADERS,
  END_STREAM,
  ERROR,
  H2,
  HEALTHY_FIELDS,
  PADDED,
  PRIORITY_FLAG,
  SETTING,
  data,
  frame,
  goaway,
  headerBlock,
  headers,
  healthyAnswer,
  hpackInteger,
  hpackString,
  indexedField,
  indexedLiteralField,
  literalField,
  ping,
  rstStream,
  settings,
  sizeUpdate,
  windowUpdate,
} from "../../support/hostile/h2-wire.js";
import { type H2Edit, type H2Frame, type Http2Script, TLS_SERVERS } from "../../support/hostile/plan.js";
import { HELLO, assert, eventually } from "../harness/check.js";
import type { Fixture } from "../harness/description.js";
import { type Outcome, runCase } from "./drive.js";
import type { Answer, CasePlan, Defect, Expected, Family } from "./families.js";
import { type Random, caseRandom, hex } from "./random.js";

/** What the healthy server answers, over either protocol. */
const HEALTHY_ANSWER: Answer = { status: 200, body: HELLO };

/** What a case checks of what the client sent, once the server has seen it. */
export interface Http2Case {
  /** After a connection error: the client's GOAWAY carries one of these codes. */
  goaway?: readonly number[];
  /** After a stream error: the client's RST_STREAM (or, if it made it a connection error, its GOAWAY) carries one of these. */
  reset?: readonly number[];
  /** The client acknowledged the server's SETTINGS frames, or PINGs, and acknowledged no PING the server did not send. */
  settingsAcks?: true;
  pingAcks?: true;
  /** The process's RSS may grow by at most this many bytes while the case runs. */
  memory?: number;
}

/** The families' maxHeaderSize: a bomb's work is measured against it. */
const MAX_HEADER_SIZE = 16_384;
const KIB = 1_024;
/** How far RSS may grow while a flood runs for a second. */
const FLOOD_GROWTH = 128 * 2 ** 20;
/** A request body bigger than the connection's first window (65,535 bytes), so that it must wait for WINDOW_UPDATE. */
const BIG_BODY = 100_000;

const ANY_ERROR = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
const { PROTOCOL_ERROR, FLOW_CONTROL_ERROR, FRAME_SIZE_ERROR, COMPRESSION_ERROR } = ERROR;

/** Defects of the client that some cases show (see DEFECTS in families.ts). */
const GOAWAY_LOST: Defect = "the client's GOAWAY and other last frames are lost when its HTTP/2 connection closes";
const NOT_SENT_AGAIN: Defect = "a request its HTTP/2 connection failed unprocessed is not sent again";

/** The server's usual preface: its SETTINGS. */
const PREFACE = settings([[SETTING.MAX_CONCURRENT_STREAMS, 100]]);
/** The healthy answer on stream 1 without its GOAWAY, and its parts. */
const RESPONSE = healthyAnswer(1).slice(0, 3);
const HEAD = RESPONSE[0]!;
const BODY = RESPONSE.slice(1);
const GOAWAY_1 = goaway(1, ERROR.NO_ERROR);
/** The whole answer: the response, then GOAWAY so that the connection takes no other request. */
const ANSWER = [...RESPONSE, GOAWAY_1];
/** The response's header block with other fields. */
const headWith = (fields: [string, string][], status: number | string = 200, flags = END_HEADERS) =>
  headers(1, headerBlock(status, fields), flags);

/** How a hostility may end. */
type Ends = "completed" | "error" | "either" | "timeout" | "any";

/** What one hostility makes. */
interface Hostility {
  what: string;
  preface?: H2Frame[];
  answer: H2Frame[];
  edits?: H2Edit[];
  flood?: Http2Script["flood"];
  unread?: true;
  /** How the server ends: `serve` unless given; `any` picks one at random. */
  ending?: Http2Script["ending"] | "any";
  /**
   * `completed`: the healthy answer must come through; `error`: ERR_HTTP (`says` what); `either`: one or the other;
   * `timeout`: ERR_TIMEOUT (the caller's abort for a body); `any`: what the family allows.
   */
  ends: Ends;
  says?: RegExp;
  /** A connection error (the client's GOAWAY must say one of these), or a stream error (its RST_STREAM). */
  goaway?: readonly number[];
  reset?: readonly number[];
  settingsAcks?: true;
  pingAcks?: true;
  memory?: number;
  body?: number;
  /** What may come through whole instead of the healthy answer. */
  answers?: Answer[];
  /** The error comes before the client has sent its request, which it may then send again on a new connection. */
  retried?: true;
  defect?: Defect;
}

const connectionError = (
  what: string,
  answer: H2Frame[],
  codes: readonly number[],
  more: Partial<Hostility> = {},
): Hostility => ({
  what,
  answer,
  ends: "error",
  goaway: codes,
  says: new RegExp(codes.map((code) => NAMES[code]).join("|")),
  ending: "any",
  ...more,
});
/** A malformed response, or a frame that breaks its stream: while the stream is open, the client resets it. */
const streamError = (what: string, answer: H2Frame[], codes: readonly number[] = [PROTOCOL_ERROR]): Hostility => ({
  what,
  answer,
  ends: "error",
  reset: codes,
  says: new RegExp(codes.map((code) => NAMES[code]).join("|")),
  ending: "any",
});
const legal = (what: string, answer: H2Frame[], more: Partial<Hostility> = {}): Hostility => ({
  what,
  answer,
  ends: "completed",
  ending: "any",
  ...more,
});

const NAMES: Record<number, string> = Object.fromEntries(Object.entries(ERROR).map(([name, code]) => [code, name]));

const latin1 = (text: string) => Array.from(text, (character) => character.charCodeAt(0) & 0xff);

/** The response with its body in one DATA frame of these flags and bytes. */
const withBody = (payload: number[], flags = END_STREAM) => [HEAD, frame(H2.DATA, flags, 1, payload), GOAWAY_1];

/** Big frames, made once: a plan must be cheap to make (a defect's scenario makes thousands to find its cases). */
const BIG_HEADERS = headers(1, headerBlock(200, [["x-big", "b".repeat(19_980)]]));
const FULL_CONTINUATION = frame(H2.CONTINUATION, 0, 1, literalField("x-flood", "f".repeat(16_000)).slice(0, 16_000));

/** Each hostility of the frames family, with its weight. */
const FRAME_HOSTILITIES: [number, (random: Random) => Hostility][] = [
  // Something else where the server's preface belongs.
  [
    1,
    (random) => {
      // The first frame's header declares no more than follows, so that the client has a whole frame to refuse.
      const declared = random.int(0, 64);
      const bytes = [0, 0, declared, random.pick([0, 1, 6, 7, 0xff]), ...random.bytes(declared + random.int(5, 200))];
      return {
        what: `${bytes.length} random bytes instead of the server's preface`,
        preface: [],
        answer: [],
        edits: [{ frame: 0, op: "inject", hex: hex(bytes) }],
        ends: "error",
        goaway: ANY_ERROR,
        retried: true,
        ending: random.pick(["serve", "close_notify"] as const),
      };
    },
  ],
  [
    1,
    () => ({
      what: "an HTTP/1.1 response instead of the server's preface",
      preface: [],
      answer: [],
      edits: [{ frame: 0, op: "inject", hex: hex(latin1(`HTTP/1.1 200 OK\r\ncontent-length: 19\r\n\r\n${HELLO}`)) }],
      ends: "error",
      goaway: ANY_ERROR,
      retried: true,
    }),
  ],
  [
    1,
    (random) => {
      const first = random.pick([
        { what: "a PING", frame: ping() },
        { what: "the response's HEADERS", frame: HEAD },
        { what: "a WINDOW_UPDATE", frame: windowUpdate(0, 1_000) },
      ]);
      return connectionError(`${first.what} instead of SETTINGS as the server's preface`, ANSWER, [PROTOCOL_ERROR], {
        preface: [first.frame],
        retried: true,
      });
    },
  ],
  // SETTINGS whose values RFC 9113 §6.5.2 forbids.
  [
    3,
    (random) => {
      const bad = random.pick([
        { id: SETTING.ENABLE_PUSH, value: 1, code: PROTOCOL_ERROR, name: "ENABLE_PUSH" },
        { id: SETTING.ENABLE_PUSH, value: random.pick([2, 0xffff_ffff]), code: PROTOCOL_ERROR, name: "ENABLE_PUSH" },
        {
          id: SETTING.INITIAL_WINDOW_SIZE,
          value: random.pick([2 ** 31, 0xffff_ffff]),
          code: FLOW_CONTROL_ERROR,
          name: "INITIAL_WINDOW_SIZE",
        },
        {
          id: SETTING.MAX_FRAME_SIZE,
          value: random.pick([0, 16_383, 2 ** 24, 0xffff_ffff]),
          code: PROTOCOL_ERROR,
          name: "MAX_FRAME_SIZE",
        },
      ]);
      return connectionError(`SETTINGS with ${bad.name} = ${bad.value}`, ANSWER, [bad.code], {
        preface: [settings([[bad.id, bad.value]])],
        retried: true,
      });
    },
  ],
  [
    2,
    (random) => {
      const bad = random.pick([
        { what: "SETTINGS of 5 bytes", frame: frame(H2.SETTINGS, 0, 0, [0, 3, 0, 0, 1]), code: FRAME_SIZE_ERROR },
        {
          what: "SETTINGS of 13 bytes",
          frame: {
            ...settings([
              [3, 100],
              [4, 65_535],
            ]),
            payload: `${
              settings([
                [3, 100],
                [4, 65_535],
              ]).payload
            }00`,
          },
          code: FRAME_SIZE_ERROR,
        },
        {
          what: "a SETTINGS acknowledgement with a payload",
          frame: frame(H2.SETTINGS, ACK, 0, [0, 3, 0, 0, 0, 1]),
          code: FRAME_SIZE_ERROR,
        },
        { what: "SETTINGS on stream 1", frame: { ...settings([[3, 100]]), stream: 1 }, code: PROTOCOL_ERROR },
      ]);
      return connectionError(bad.what, [bad.frame, ...ANSWER], [bad.code]);
    },
  ],
  // SETTINGS that are odd but allowed: the request goes through.
  [
    2,
    (random) => {
      const odd = random.pick([
        { what: "an unknown setting", values: [[0x99, random.next()]] as [number, number][] },
        { what: "HEADER_TABLE_SIZE = 0", values: [[SETTING.HEADER_TABLE_SIZE, 0]] as [number, number][] },
        { what: "MAX_FRAME_SIZE = 2^24 - 1", values: [[SETTING.MAX_FRAME_SIZE, 2 ** 24 - 1]] as [number, number][] },
        {
          what: "INITIAL_WINDOW_SIZE = 2^31 - 1",
          values: [[SETTING.INITIAL_WINDOW_SIZE, 2 ** 31 - 1]] as [number, number][],
        },
        { what: "ENABLE_PUSH = 0", values: [[SETTING.ENABLE_PUSH, 0]] as [number, number][] },
        { what: "MAX_HEADER_LIST_SIZE = 1", values: [[SETTING.MAX_HEADER_LIST_SIZE, 1]] as [number, number][] },
        { what: "an empty SETTINGS", values: [] as [number, number][] },
      ]);
      return legal(`SETTINGS with ${odd.what}`, ANSWER, { preface: [settings(odd.values)], settingsAcks: true });
    },
  ],
  // Frames on stream 0 that belong to a stream, and frames on a stream that belong to the connection.
  [
    3,
    (random) => {
      const bad = random.pick([
        { what: "DATA on stream 0", frame: data(0, "x") },
        { what: "HEADERS on stream 0", frame: headers(0, headerBlock(200)) },
        { what: "RST_STREAM on stream 0", frame: rstStream(0, ERROR.CANCEL) },
        { what: "PRIORITY on stream 0", frame: frame(H2.PRIORITY, 0, 0, [0, 0, 0, 0, 16]) },
        { what: "CONTINUATION on stream 0", frame: frame(H2.CONTINUATION, END_HEADERS, 0, headerBlock(200)) },
        {
          what: "PUSH_PROMISE on stream 0",
          frame: frame(H2.PUSH_PROMISE, END_HEADERS, 0, [0, 0, 0, 2, ...headerBlock(200)]),
        },
        { what: "PING on stream 1", frame: { ...ping(), stream: 1 } },
        { what: "GOAWAY on stream 1", frame: { ...goaway(1, 0), stream: 1 } },
      ]);
      return connectionError(bad.what, [bad.frame, ...ANSWER], [PROTOCOL_ERROR]);
    },
  ],
  // Streams in a state that does not take the frame.
  [
    3,
    (random) => {
      const bad = random.pick([
        { what: "DATA on stream 3, which is idle", frame: data(3, "x") },
        { what: "HEADERS on stream 2, which a server may not open", frame: headers(2, headerBlock(200)) },
        { what: "HEADERS on stream 3, which is idle", frame: headers(3, headerBlock(200)) },
        { what: "RST_STREAM on stream 3, which is idle", frame: rstStream(3, ERROR.CANCEL) },
        { what: "WINDOW_UPDATE on stream 3, which is idle", frame: windowUpdate(3, 100) },
        {
          what: "PUSH_PROMISE, push being disabled",
          frame: frame(H2.PUSH_PROMISE, END_HEADERS, 1, [
            0,
            0,
            0,
            2,
            ...literalField(2, "GET"),
            ...literalField(4, "/pushed"),
          ]),
        },
      ]);
      return connectionError(bad.what, [bad.frame, ...ANSWER], [PROTOCOL_ERROR]);
    },
  ],
  [
    2,
    (random) => {
      const late = random.pick([
        { what: "DATA", frame: data(1, "late") },
        { what: "HEADERS", frame: headWith([]) },
      ]);
      // RFC 9113 §5.1: a connection error of type STREAM_CLOSED, after the response came through whole.
      return {
        what: `${late.what} on stream 1 after its END_STREAM`,
        answer: [...RESPONSE, late.frame, GOAWAY_1],
        ends: "either",
        ending: "serve",
      };
    },
  ],
  [1, () => streamError("DATA on stream 1 before its HEADERS", [data(1, HELLO), HEAD, ...BODY, GOAWAY_1])],
  // A stream the server resets, before or after its response.
  [
    2,
    (random) => {
      const code = random.pick([ERROR.INTERNAL_ERROR, ERROR.REFUSED_STREAM, ERROR.CANCEL, 0xdead]);
      const name = NAMES[code] ?? "";
      return {
        what: `RST_STREAM on stream 1 with code ${code}`,
        answer: random.chance(0.5) ? [rstStream(1, code), GOAWAY_1] : [HEAD, BODY[0]!, rstStream(1, code), GOAWAY_1],
        // REFUSED_STREAM: the server did not process it, so the client may send it again.
        ends: code === ERROR.REFUSED_STREAM ? "either" : "error",
        ...(name && code !== ERROR.REFUSED_STREAM && { says: new RegExp(name) }),
        ending: "any",
      };
    },
  ],
  [1, () => legal("RST_STREAM(NO_ERROR) on stream 1 after its END_STREAM", [...RESPONSE, rstStream(1, 0), GOAWAY_1])],
  // WINDOW_UPDATE of 0, of the wrong size, or overflowing a window.
  [
    3,
    (random) => {
      const kind = random.int(0, 4);
      if (kind === 0)
        return connectionError("WINDOW_UPDATE of 0 on stream 0", [windowUpdate(0, 0), ...ANSWER], [PROTOCOL_ERROR]);
      if (kind === 1) return streamError("WINDOW_UPDATE of 0 on stream 1", [windowUpdate(1, 0), ...ANSWER]);
      if (kind === 2) {
        return connectionError(
          "WINDOW_UPDATE that takes the connection's window past 2^31 - 1",
          [windowUpdate(0, 2 ** 31 - 1), ...ANSWER],
          [FLOW_CONTROL_ERROR],
        );
      }
      if (kind === 3) {
        return streamError(
          "WINDOW_UPDATE that takes stream 1's window past 2^31 - 1",
          [windowUpdate(1, 2 ** 31 - 1), ...ANSWER],
          [FLOW_CONTROL_ERROR],
        );
      }
      return connectionError(
        "WINDOW_UPDATE of 3 bytes",
        [frame(H2.WINDOW_UPDATE, 0, 0, [0, 0, 1]), ...ANSWER],
        [FRAME_SIZE_ERROR],
      );
    },
  ],
  [
    1,
    () => legal("WINDOW_UPDATE on stream 0 and stream 1", [windowUpdate(0, 1_000), windowUpdate(1, 1_000), ...ANSWER]),
  ],
  // Frames of the wrong size, or over the client's SETTINGS_MAX_FRAME_SIZE.
  [
    3,
    (random) => {
      const bad = random.pick([
        { what: "a PING of 7 bytes", frame: frame(H2.PING, 0, 0, [1, 2, 3, 4, 5, 6, 7]), code: FRAME_SIZE_ERROR },
        { what: "an RST_STREAM of 3 bytes", frame: frame(H2.RST_STREAM, 0, 1, [0, 0, 8]), code: FRAME_SIZE_ERROR },
        { what: "a GOAWAY of 7 bytes", frame: frame(H2.GOAWAY, 0, 0, [0, 0, 0, 1, 0, 0, 0]), code: FRAME_SIZE_ERROR },
        {
          what: "HEADERS of 20,000 bytes",
          frame: BIG_HEADERS,
          code: FRAME_SIZE_ERROR,
        },
      ]);
      return connectionError(bad.what, [bad.frame, ...ANSWER], [bad.code]);
    },
  ],
  [
    2,
    (random) => {
      // A header declaring more than the client takes: refused at the header, not waited for.
      const declared = random.pick([16_385, 2 ** 20, 2 ** 24 - 1]);
      const type = random.pick([H2.DATA, H2.HEADERS, 0x42]);
      return {
        what: `a frame (type ${type}) declaring ${declared} bytes, then a stall`,
        answer: [HEAD, { ...frame(type, 0, 1, [1, 2, 3]), declared }],
        ends: "error",
        // For DATA, RFC 9113 §4.2 allows a stream error too, which would wait for bytes that never come.
        goaway: [FRAME_SIZE_ERROR],
        says: /FRAME_SIZE_ERROR/,
      };
    },
  ],
  [
    1,
    () =>
      legal(
        "DATA of exactly 16,384 bytes",
        [headWith([["content-length", "16384"]]), { ...data(1, "z", END_STREAM), repeat: 16_384 }, GOAWAY_1],
        { answers: [{ status: 200, body: "z".repeat(16_384) }] },
      ),
  ],
  // Padding and priority: wrong, or right.
  [
    2,
    (random) => {
      const where = random.pick(["DATA", "HEADERS"]);
      const length = random.int(0, 3);
      // The pad length counts the padding alone: equal to the rest of the payload, it leaves no data, which is allowed.
      const pad = [length + random.int(1, 3), ...Array<number>(length).fill(0)];
      const bad =
        where === "DATA"
          ? frame(H2.DATA, PADDED | END_STREAM, 1, pad)
          : frame(H2.HEADERS, PADDED | END_HEADERS, 1, pad);
      return connectionError(
        `${where} whose pad length is not less than its payload`,
        where === "DATA" ? [HEAD, bad, GOAWAY_1] : [bad, ...BODY, GOAWAY_1],
        [PROTOCOL_ERROR],
      );
    },
  ],
  [
    2,
    (random) => {
      const pad = random.int(0, 200);
      const padded = (payload: number[]) => [pad, ...payload, ...Array<number>(pad).fill(0)];
      return legal(`padding of ${pad} bytes on HEADERS and DATA, and a PRIORITY flag and frame`, [
        frame(H2.HEADERS, PADDED | PRIORITY_FLAG | END_HEADERS, 1, padded([0, 0, 0, 0, 16, ...headerBlock(200)])),
        frame(H2.PRIORITY, 0, 1, [0, 0, 0, 0, 200]),
        frame(H2.DATA, PADDED, 1, padded(latin1(HELLO.slice(0, 5)))),
        frame(H2.DATA, PADDED | END_STREAM, 1, padded(latin1(HELLO.slice(5)))),
        GOAWAY_1,
      ]);
    },
  ],
  // Content-Length against the DATA.
  [
    2,
    (random) => {
      // Beyond it, the stream is still open; short of it, END_STREAM has closed it, so no RST_STREAM is due.
      if (random.chance(0.5)) {
        return streamError("DATA beyond content-length", [
          HEAD,
          data(1, `${HELLO}, and more`),
          data(1, "", END_STREAM),
          GOAWAY_1,
        ]);
      }
      return {
        what: "DATA short of content-length",
        answer: withBody(latin1(HELLO.slice(0, 10))),
        ends: "error",
        ending: "any",
      };
    },
  ],
  // Header blocks that CONTINUATION must end, and does not.
  [
    2,
    (random) => {
      const bad = random.pick([
        { what: "HEADERS without END_HEADERS, then DATA", frames: [headers(1, headerBlock(200), 0), ...BODY] },
        {
          what: "CONTINUATION without HEADERS before it",
          frames: [frame(H2.CONTINUATION, END_HEADERS, 1, headerBlock(200)), ...BODY],
        },
        {
          what: "HEADERS without END_HEADERS, then CONTINUATION on stream 3",
          frames: [headers(1, headerBlock(200), 0), frame(H2.CONTINUATION, END_HEADERS, 3, []), ...BODY],
        },
        {
          what: "HEADERS without END_HEADERS, then a PING",
          frames: [headers(1, headerBlock(200), 0), ping(), frame(H2.CONTINUATION, END_HEADERS, 1, []), ...BODY],
        },
      ]);
      return connectionError(bad.what, [...bad.frames, GOAWAY_1], [PROTOCOL_ERROR]);
    },
  ],
  [
    3,
    (random) => {
      const empty = random.chance(0.5);
      return {
        what: `HEADERS without END_HEADERS, then ${empty ? "empty " : ""}CONTINUATION frames without end`,
        answer: [headers(1, headerBlock(200), 0)],
        flood: { frames: [empty ? frame(H2.CONTINUATION, 0, 1) : FULL_CONTINUATION], ms: 3_000, then: [] },
        // Empty frames do not grow the block: a client may count them, or let its timeout end them. No GOAWAY is
        // checked: a client that closes with the flood unread sends a TCP reset, which may discard it on the way.
        ends: empty ? "any" : "error",
        memory: FLOOD_GROWTH,
      };
    },
  ],
  // Floods of what the client must answer.
  [
    2,
    (random) => {
      const what = random.pick(["SETTINGS", "PING"] as const);
      const flooded = what === "SETTINGS" ? settings([[SETTING.MAX_CONCURRENT_STREAMS, 100]]) : ping();
      const ms = random.pick([100, 300, 600]);
      return {
        what: `${what} frames as fast as the client reads for ${ms} ms, then the response`,
        answer: [],
        flood: { frames: [flooded], ms, then: ANSWER },
        ends: "either",
        ...(what === "PING" ? { pingAcks: true } : { settingsAcks: true }),
        memory: FLOOD_GROWTH,
      };
    },
  ],
  [
    1,
    (random) => {
      const what = random.pick(["SETTINGS", "PING"] as const);
      const flooded = what === "SETTINGS" ? settings([[SETTING.MAX_CONCURRENT_STREAMS, 100]]) : ping();
      return {
        what: `${what} frames without end, and no response`,
        answer: [HEAD],
        flood: { frames: [flooded], ms: 3_000, then: [] },
        ends: "any",
        ...(what === "PING" ? { pingAcks: true } : { settingsAcks: true }),
        memory: FLOOD_GROWTH,
      };
    },
  ],
  [
    1,
    () => ({
      what: "PINGs as fast as the client reads for 600 ms, nothing it sends read, then the response",
      answer: [],
      flood: { frames: [ping()], ms: 600, then: ANSWER },
      unread: true,
      ending: "close_notify",
      ends: "any",
      memory: FLOOD_GROWTH,
    }),
  ],
  // A window that never opens for the request's body.
  [
    1,
    (random) => {
      const zero = random.chance(0.5);
      return {
        what: `${zero ? "INITIAL_WINDOW_SIZE = 0 and " : ""}no WINDOW_UPDATE for a body of ${BIG_BODY} bytes`,
        preface: [zero ? settings([[SETTING.INITIAL_WINDOW_SIZE, 0]]) : PREFACE],
        answer: [],
        ends: "timeout",
        body: BIG_BODY,
      };
    },
  ],
  // GOAWAY: last stream ids that are odd or wrong, and codes.
  [
    3,
    (random) => {
      const kind = random.int(0, 4);
      if (kind === 0) {
        // Stream 1 was not processed: a GET goes again on a new connection.
        return legal("GOAWAY(last 0) before the response", [goaway(0, 0), ...RESPONSE], { defect: NOT_SENT_AGAIN });
      }
      if (kind === 1) {
        return {
          what: "GOAWAY(last 1), then GOAWAY(last 3)",
          answer: [GOAWAY_1, goaway(3, 0), ...RESPONSE],
          ends: "either",
          ending: "any",
        };
      }
      if (kind === 2) {
        const last = random.pick([2, 2 ** 31 - 1, 0xffff_ffff]);
        return {
          what: `GOAWAY(last ${last}) before the response`,
          answer: [goaway(last, 0), ...RESPONSE],
          ends: "either",
          ending: "any",
        };
      }
      if (kind === 3) {
        return {
          what: "GOAWAY(INTERNAL_ERROR, last 1) without a response, then the end",
          answer: [goaway(1, ERROR.INTERNAL_ERROR)],
          ends: "error",
          ending: random.pick(["close_notify", "fin"] as const),
        };
      }
      return legal("GOAWAY(NO_ERROR, last 1) before the response", [GOAWAY_1, ...RESPONSE]);
    },
  ],
  // What a server may send: it must go through.
  [
    3,
    (random) => {
      const kind = random.int(0, 6);
      if (kind === 0)
        return legal("a 103 before the response", [headWith([["link", "</a.css>; rel=preload"]], 103), ...ANSWER]);
      if (kind === 1)
        return legal("trailers", [
          HEAD,
          BODY[0]!,
          data(1, HELLO.slice(13)),
          headers(1, literalField("x-trailer", "yes"), END_HEADERS | END_STREAM),
          GOAWAY_1,
        ]);
      if (kind === 2) {
        const block = headerBlock(200);
        const cuts = [random.int(1, block.length - 2), block.length - 1].sort((a, b) => a - b);
        return legal("the response's header block in HEADERS and two CONTINUATION frames", [
          headers(1, block.slice(0, cuts[0]), 0),
          frame(H2.CONTINUATION, 0, 1, block.slice(cuts[0], cuts[1])),
          frame(H2.CONTINUATION, END_HEADERS, 1, block.slice(cuts[1])),
          ...BODY,
          GOAWAY_1,
        ]);
      }
      if (kind === 3)
        return legal("frames of unknown types between the response's", [
          frame(0x42, 0xff, 0, [1, 2]),
          HEAD,
          frame(0xfa, 0, 1, []),
          ...BODY,
          GOAWAY_1,
        ]);
      if (kind === 4)
        return legal("empty DATA frames", [HEAD, data(1, ""), data(1, ""), BODY[0]!, data(1, ""), BODY[1]!, GOAWAY_1]);
      if (kind === 5)
        return legal(
          "a PING in the middle of the response",
          [HEAD, BODY[0]!, ping([9, 9, 9, 9, 9, 9, 9, 9]), BODY[1]!, GOAWAY_1],
          { pingAcks: true, ending: "serve" },
        );
      return legal("the reserved bit set in the stream identifiers", [
        { ...HEAD, stream: 2 ** 31 + 1 },
        ...BODY.map((body) => ({ ...body, stream: 2 ** 31 + 1 })),
        GOAWAY_1,
      ]);
    },
  ],
  // A healthy exchange cut short, or edited.
  [
    4,
    (random) => {
      const frames = [PREFACE, ...ANSWER];
      const at = random.int(0, frames.length - 1);
      return {
        what: `the healthy exchange cut in frame ${at}`,
        answer: ANSWER,
        edits: [{ frame: at, op: "cut", offset: random.next() }],
        ends: at === frames.length - 1 ? "either" : "any",
        ending: random.pick(["close_notify", "fin", "reset"] as const),
        // The response came whole, the connection not yet seen closed: the next request may go on it, and fail there.
        ...(at === frames.length - 1 && { defect: NOT_SENT_AGAIN }),
      };
    },
  ],
  [
    8,
    (random) => {
      const count = 1 + ANSWER.length;
      const edits = Array.from({ length: random.int(1, 2) }, () => frameEdit(random, random.int(0, count)));
      return {
        what: `the healthy exchange with ${edits.map(({ frame: at, op }) => `${op} at frame ${at}`).join(", ")}`,
        answer: ANSWER,
        edits,
        ends: "any",
        ending: "any",
      };
    },
  ],
  [1, () => legal("the healthy exchange", ANSWER, { settingsAcks: true })],
];

const EDITS = [
  "flip",
  "flip",
  "flip",
  "type",
  "flags",
  "stream",
  "length",
  "drop",
  "duplicate",
  "swap",
  "inject",
] as const;

/** One random change to frame `at`; flips stay in the frame's header, where a payload's flip could change the body unseen. */
function frameEdit(random: Random, at: number): H2Edit {
  const op = random.pick(EDITS);
  switch (op) {
    case "flip":
      return { frame: at, op, bit: random.int(0, 71) };
    case "type":
      return { frame: at, op, type: random.pick([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, random.int(0, 255)]) };
    case "flags":
      return { frame: at, op, flags: random.int(0, 255) };
    case "stream":
      return { frame: at, op, stream: random.pick([0, 1, 2, 3, 2 ** 31 - 1, random.next()]) };
    case "length":
      return {
        frame: at,
        op,
        length: random.pick([0, 1, 7, 8, 9, 16_384, 16_385, 2 ** 24 - 1, random.int(0, 2 ** 24 - 1)]),
      };
    case "inject":
      return { frame: at, op, hex: hex(random.bytes(random.int(1, 32))) };
    default:
      return { frame: at, op };
  }
}

const STATUS_200 = literalField(8, "200");
const BOMB_VALUE = "a".repeat(4_000);
/** Indexed references to the dynamic table's newest entry (index 62), `count` of them. */
const references = (count: number) => Array<number>(count).fill(0xbe);
/** A 4,000-byte entry in the dynamic table, after :status 200. */
const BOMB_ENTRY = [...STATUS_200, ...indexedLiteralField("x-bomb", BOMB_VALUE)];
/** The big blocks, made once. */
const BOMBS = new Map([12_000, 12_300].map((count) => [count, headers(1, [...BOMB_ENTRY, ...references(count)])]));
const BOMB_START = headers(1, [...BOMB_ENTRY, ...references(12_000)], 0);
const TRAILER_BOMB = headers(
  1,
  [...indexedLiteralField("x-bomb", BOMB_VALUE), ...references(8_000)],
  END_HEADERS | END_STREAM,
);
const SMALL_FIELDS = new Map(
  [600, 2_000].map((count) => [
    count,
    headers(1, [...STATUS_200, ...Array.from({ length: count }, () => literalField("x-a", "b")).flat()]),
  ]),
);
const JUST_UNDER = headers(1, headerBlock(200, [...HEALTHY_FIELDS, ["x-big", "b".repeat(MAX_HEADER_SIZE - 4 * KIB)]]));

/** Each hostility of the HPACK family, with its weight. */
const HPACK_HOSTILITIES: [number, (random: Random) => Hostility][] = [
  // Bombs: header lists that decode far beyond maxHeaderSize.
  [
    3,
    (random) => {
      const count = random.pick([12_000, 12_300]);
      return {
        what: `a ${BOMB_VALUE.length}-byte entry in the dynamic table, then ${count} references to it`,
        answer: [BOMBS.get(count)!, ...BODY, GOAWAY_1],
        ends: "error",
        says: /maxHeaderSize/,
        ending: "any",
        memory: FLOOD_GROWTH,
      };
    },
  ],
  [
    2,
    (random) => {
      const continuations = random.pick([4, 32, 128]);
      return {
        what: `a ${BOMB_VALUE.length}-byte entry in the dynamic table, then references to it in ${continuations} CONTINUATION frames`,
        answer: [
          BOMB_START,
          ...Array.from({ length: continuations }, (_, at) => ({
            ...frame(H2.CONTINUATION, at === continuations - 1 ? END_HEADERS : 0, 1, [0xbe]),
            repeat: 16_384,
          })),
          ...BODY,
          GOAWAY_1,
        ],
        ends: "error",
        ending: "any",
        memory: FLOOD_GROWTH,
      };
    },
  ],
  [
    2,
    (random) => {
      const length = random.pick([MAX_HEADER_SIZE + 1, 1_000_000, 2 ** 28]);
      const sent = Math.min(length, 300_000);
      const literal = [0, ...hpackString("x-huge"), ...hpackInteger(length, 7)];
      const chunks = Math.ceil(sent / 16_000);
      return {
        what: `a literal of ${length} bytes, ${sent} of them sent in ${chunks} CONTINUATION frames`,
        answer: [
          headers(1, [...STATUS_200, ...literal], 0),
          ...Array.from({ length: chunks }, (_, at) => ({
            ...frame(H2.CONTINUATION, at === chunks - 1 ? END_HEADERS : 0, 1, [0x68]),
            repeat: Math.min(16_000, sent - at * 16_000),
          })),
          ...BODY,
          GOAWAY_1,
        ],
        ends: "error",
        ending: "any",
        memory: FLOOD_GROWTH,
      };
    },
  ],
  [
    1,
    (random) => {
      const count = random.pick([600, 2_000]);
      return {
        what: `${count} small fields`,
        answer: [SMALL_FIELDS.get(count)!, ...BODY, GOAWAY_1],
        ends: "error",
        says: /maxHeaderSize/,
        ending: "any",
      };
    },
  ],
  [
    1,
    () => ({
      what: "trailers that decode beyond maxHeaderSize",
      answer: [HEAD, ...BODY.slice(0, 1), data(1, HELLO.slice(13)), TRAILER_BOMB, GOAWAY_1],
      ends: "error",
      says: /maxHeaderSize/,
      ending: "any",
    }),
  ],
  [
    1,
    () => ({
      what: "103 responses without end",
      answer: [],
      flood: { frames: [headWith([["link", "</a.css>; rel=preload"]], 103)], ms: 3_000, then: [] },
      ends: "any",
      memory: FLOOD_GROWTH,
    }),
  ],
  [1, () => legal("a header list just under maxHeaderSize", [JUST_UNDER, ...BODY, GOAWAY_1])],
  // Blocks that do not decode (RFC 7541): a COMPRESSION_ERROR for the connection.
  [
    6,
    (random) => {
      const bad = random.pick([
        { what: "an indexed field of index 0", bytes: [0x80] },
        { what: "an indexed field beyond the static table, the dynamic one empty", bytes: indexedField(62) },
        { what: "an indexed field of index 2^20", bytes: indexedField(2 ** 20) },
        { what: "a literal whose name index is beyond the tables", bytes: literalField(100, "x") },
        { what: "an integer that overflows", bytes: [0xff, ...Array<number>(10).fill(0xff), 0x7f] },
        {
          what: "a string length with 20 continuation bytes",
          bytes: [0x00, 0x7f, ...Array<number>(20).fill(0x80), 0x01],
        },
        { what: "a Huffman string whose padding is not 1s", bytes: [0x08, 0x81, 0x00] },
        { what: "a Huffman string padded with more than 7 bits", bytes: [0x08, 0x82, 0x07, 0xff] },
        { what: "a Huffman string holding EOS", bytes: [0x08, 0x84, 0xff, 0xff, 0xff, 0xff] },
        { what: "a dynamic table size update over the limit", bytes: [...sizeUpdate(1_000_000), ...STATUS_200] },
        { what: "a dynamic table size update after a field", bytes: [...STATUS_200, ...sizeUpdate(0)] },
        { what: "a literal cut short", bytes: [...STATUS_200, 0x00, ...hpackString("x-cut"), 10, 0x61, 0x62, 0x63] },
        { what: "a name's length cut short", bytes: [...STATUS_200, 0x00, 0x7f] },
      ]);
      return connectionError(bad.what, [headers(1, bad.bytes), ...BODY, GOAWAY_1], [COMPRESSION_ERROR]);
    },
  ],
  // Blocks that decode, and are allowed.
  [
    2,
    (random) => {
      const good = random.pick([
        { what: "a Huffman-coded :status", bytes: [0x08, 0x82, 0x10, 0x01, ...headerBlock(200).slice(5)] },
        { what: "a size update to 0 at the start", bytes: [...sizeUpdate(0), ...headerBlock(200)] },
        { what: "two size updates at the start", bytes: [...sizeUpdate(0), ...sizeUpdate(4_096), ...headerBlock(200)] },
        { what: ":status from the static table", bytes: [...indexedField(8), ...headerBlock(200).slice(5)] },
        {
          what: "a field entered in the dynamic table and used",
          bytes: [...STATUS_200, ...indexedLiteralField("x-a", "b"), ...indexedField(62), ...headerBlock(200).slice(5)],
        },
        {
          what: "a value of bytes 0x80-0xff",
          bytes: [...headerBlock(200), ...literalField("x-latin", "\u00e9\u00ff")],
        },
      ]);
      return legal(good.what, [headers(1, good.bytes), ...BODY, GOAWAY_1]);
    },
  ],
  // Field lists that decode, but make a malformed response (RFC 9113 §8.1.1, §8.2): a stream error.
  [
    6,
    (random) => {
      const bad = random.pick([
        { what: "an uppercase field name", fields: [["Content-Type", "text/plain"]] },
        { what: "a connection-specific field", fields: [["connection", "keep-alive"]] },
        { what: "transfer-encoding", fields: [["transfer-encoding", "chunked"]] },
        { what: "keep-alive", fields: [["keep-alive", "timeout=5"]] },
        { what: "a request pseudo-header", fields: [[":path", "/"]] },
        { what: "an unknown pseudo-header", fields: [[":weird", "x"]] },
        {
          what: "a pseudo-header after a field",
          fields: [
            ["x-a", "b"],
            [":status", "200"],
          ],
        },
        { what: "a name with a space", fields: [["x a", "b"]] },
        { what: "a name with a colon", fields: [["x:a", "b"]] },
        { what: "an empty name", fields: [["", "b"]] },
        { what: "a value with CR LF", fields: [["x-a", "b\r\nx-injected: yes"]] },
        { what: "a value with NUL", fields: [["x-a", "b\u0000c"]] },
        { what: "a value with leading space", fields: [["x-a", " b"]] },
        {
          what: "two different content-lengths",
          fields: [
            ["content-length", "19"],
            ["content-length", "20"],
          ],
        },
        { what: "a content-length that is not a number", fields: [["content-length", "nineteen"]] },
      ] as { what: string; fields: [string, string][] }[]);
      return streamError(bad.what, [
        headWith([...bad.fields, ...HEALTHY_FIELDS.filter(([name]) => !bad.fields.some(([other]) => other === name))]),
        ...BODY,
        GOAWAY_1,
      ]);
    },
  ],
  [
    2,
    (random) => {
      const bad = random.pick([
        { what: "no :status", bytes: headerBlock(200).slice(5) },
        { what: "an empty header block", bytes: [] },
        { what: ":status twice", bytes: [...STATUS_200, ...headerBlock(200)] },
        { what: ":status 20", bytes: headerBlock("20") },
        { what: ":status abc", bytes: headerBlock("abc") },
        { what: ":status 1000", bytes: headerBlock("1000") },
      ]);
      return streamError(bad.what, [headers(1, bad.bytes), ...BODY, GOAWAY_1]);
    },
  ],
];

/** Each hostility once, in order, then one picked by weight. */
function picker(hostilities: [number, (random: Random) => Hostility][]) {
  const total = hostilities.reduce((sum, [weight]) => sum + weight, 0);
  return (index: number, random: Random): Hostility => {
    if (index < hostilities.length) return hostilities[index]![1](random);
    let at = (random.next() / 2 ** 32) * total;
    for (const [weight, make] of hostilities) {
      if (at < weight) return make(random);
      at -= weight;
    }
    return hostilities.at(-1)![1](random);
  };
}

/** What the client may end with, for a hostility whose server ends as `ending`. */
function outcomes(hostility: Hostility, ending: Http2Script["ending"]): { expect?: Expected[]; answers?: Answer[] } {
  const completed = { answers: hostility.answers ?? [HEALTHY_ANSWER] };
  // A reset may overtake what was sent before it.
  const cut: Expected[] = ending === "reset" ? ["ERR_CONNECT", "ERR_TLS"] : [];
  switch (hostility.ends) {
    case "completed":
      return { expect: ["completed", ...cut], ...completed };
    case "error":
      return hostility.retried
        ? { expect: ["ERR_HTTP", "completed", ...cut], ...completed }
        : { expect: ["ERR_HTTP", ...cut] };
    case "either":
      return { expect: ["completed", "ERR_HTTP", ...cut], ...completed };
    case "timeout":
      return { expect: ["ERR_TIMEOUT", "aborted"] };
    case "any":
      return completed;
  }
}

/** An HTTP/2 family: its hostilities, each once and then picked by weight, under one server and one client. */
function http2Family(
  key: string,
  name: string,
  share: number,
  hostilities: [number, (random: Random) => Hostility][],
): Family {
  const pick = picker(hostilities);
  return {
    key,
    name,
    share,
    least: hostilities.length,
    costPerCase: 1_500,
    limits: { connectTimeout: 600, timeout: 1_000, body: 1_000 },
    options: { maxHeaderSize: MAX_HEADER_SIZE },
    codes: ["ERR_HTTP", "ERR_CONNECT", "ERR_TLS", "ERR_TIMEOUT"],
    defects: [GOAWAY_LOST, NOT_SENT_AGAIN],
    planner: (hostile) => (index) => {
      const random = caseRandom(hostile.seed, key, index);
      const hostility = pick(index, random);
      const ending =
        hostility.ending === "any"
          ? random.pick(["serve", "serve", "close_notify", "fin", "reset"] as const)
          : (hostility.ending ?? "serve");
      // A server that serves on keeps the connection for the next request: its answer leaves out the GOAWAY that ends it.
      const keeps = ending === "serve" && !hostility.edits && hostility.answer.at(-1) === GOAWAY_1;
      const script: Http2Script = {
        preface: hostility.preface ?? [PREFACE],
        answer: keeps ? hostility.answer.slice(0, -1) : hostility.answer,
        edits: hostility.edits ?? [],
        ...(hostility.flood && { flood: hostility.flood }),
        ...(hostility.unread && { unread: true }),
        ending,
      };
      // What the client sends back is seen only by a server that still reads when it comes.
      const reads = ending === "serve" && !hostility.unread;
      const http2: Http2Case = {
        ...(reads && hostility.goaway && { goaway: hostility.goaway }),
        ...(reads && hostility.reset && { reset: hostility.reset }),
        ...(reads && hostility.settingsAcks && { settingsAcks: true }),
        ...(reads && hostility.pingAcks && { pingAcks: true }),
        ...(hostility.memory && { memory: hostility.memory }),
      };
      const defect = hostility.defect ?? (http2.goaway ? GOAWAY_LOST : undefined);
      const plan: CasePlan = {
        what: `${hostility.what}, then ${ending}`,
        ...(defect && { defect }),
        server: { kind: "http2", tls: random.pick(TLS_SERVERS), script },
        ...outcomes(hostility, ending),
        ...(hostility.says && ending !== "reset" && { says: hostility.says }),
        ...(hostility.body !== undefined && { body: hostility.body }),
        http2,
      };
      return plan;
    },
  };
}

const frames = http2Family(
  "h2-frames",
  "an HTTP/2 server that breaks RFC 9113's frames, stream states, SETTINGS or flow control, or floods the client",
  0.05,
  FRAME_HOSTILITIES,
);
const hpack = http2Family(
  "h2-hpack",
  "an HTTP/2 server whose header blocks are HPACK bombs, do not decode, or make a malformed response",
  0.03,
  HPACK_HOSTILITIES,
);

export const HTTP2_FAMILIES: readonly Family[] = [frames, hpack];

/** Runs one HTTP/2 case as runCase does, then checks what the server saw the client send. */
export async function runHttp2Case(
  fetch: PinnedFetch,
  fixture: Fixture,
  url: string,
  family: Family,
  plan: CasePlan,
): Promise<Outcome> {
  const expected = plan.http2!;
  const before = (await fixture.stats("hostile")).http2?.connections ?? 0;
  const rssBefore = process.memoryUsage().rss;
  let peakRss = rssBefore;
  const sampler =
    expected.memory === undefined
      ? undefined
      : setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
  let outcome: Outcome;
  try {
    outcome = await runCase(fetch, url, family, plan);
  } finally {
    clearInterval(sampler);
  }
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  if (expected.memory !== undefined) {
    const growth = peakRss - rssBefore;
    assert.ok(growth < expected.memory, `RSS grew by ${(growth / 2 ** 20).toFixed(1)} MiB`);
  }
  const now = await fixture.stats("hostile");
  // No h2 connection: the handshake failed (ALPN), which the outcome has judged.
  if ((now.http2?.connections ?? 0) <= before) return outcome;
  // A request the client sent again elsewhere, after a connection error before it was sent, completes.
  const retried = outcome.end === "completed" && (now.http2?.requests ?? 0) === 0;
  const connectionError = expected.goaway !== undefined && (outcome.end === "ERR_HTTP" || retried);
  const streamError = expected.reset !== undefined && outcome.end === "ERR_HTTP";
  const log = await eventually(
    () => fixture.stats("hostile").then((stats) => stats.http2!),
    (seen) =>
      (!connectionError || seen.goaway !== null || seen.closed) &&
      (!streamError || seen.resets.length > 0 || seen.goaway !== null || seen.closed) &&
      (!expected.pingAcks || seen.pingAcks > 0 || seen.closed) &&
      (!expected.settingsAcks || seen.settingsAcks > 0 || seen.closed),
    "what the client sent",
  );
  const saw = (what: string) => `${what}; the server saw ${JSON.stringify(log)}`;
  assert.equal(log.preface, true, saw("the client's preface is wrong"));
  assert.equal(log.malformed, false, saw("the client's frames do not parse"));
  if (connectionError) {
    assert.ok(
      log.goaway !== null && expected.goaway!.includes(log.goaway),
      saw(`no GOAWAY with ${expected.goaway!.map((code: number) => NAMES[code] ?? code).join(" or ")}`),
    );
  }
  if (streamError) {
    const codes = expected.reset!;
    assert.ok(
      log.resets.some((code) => codes.includes(code)) || (log.goaway !== null && codes.includes(log.goaway)),
      saw(`no RST_STREAM or GOAWAY with ${codes.map((code: number) => NAMES[code] ?? code).join(" or ")}`),
    );
  }
  if (expected.pingAcks) {
    assert.ok(log.pingAcks > 0, saw("no PING acknowledged"));
    assert.equal(log.strayPingAcks, 0, saw("PING acknowledgements that answered no PING"));
  }
  if (expected.settingsAcks) assert.ok(log.settingsAcks > 0, saw("no SETTINGS acknowledged"));
  return outcome;
}
