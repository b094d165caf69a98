// The WebSocket families of hostile cases, and how a case is run from the
// client's side: the server completes TLS (the pins pass) and, in the frames
// family, a valid 101, then breaks RFC 6455 or RFC 7692 as the case says.
// `new fetch.WebSocket(...)` must end with one `close` event in bounded time,
// after an `error` carrying a PinnedFetchError of the expected code for every
// malformed input, and its own close frame must carry the code it reports.
import {
  type PinnedFetch,
  PinnedFetchError,
  type PinnedFetchErrorCode,
  type PinnedWebSocket,
} from "../../../src/index.js";
import {
  ANSWER_WAIT,
  type FrameEdit,
  TLS_SERVERS,
  type WebSocketLog,
  type WebSocketScript,
  type WsFrame,
} from "../../support/hostile/plan.js";
import { assert, delay, eventually } from "../harness/check.js";
import type { Fixture } from "../harness/description.js";
import { GRACE, type Outcome } from "./drive.js";
import type { CasePlan, Defect, Family } from "./families.js";
import { Random, caseRandom, hex } from "./random.js";

/** How a WebSocket case may end. */
type WebSocketEnd =
  /** Before `open`: an error of one of `codes`, then close 1006. */
  | { end: "refused"; codes: readonly PinnedFetchErrorCode[] }
  /** After `open`, a frame the client must refuse: ERR_WEBSOCKET, then close with one of `codes`, the client's close frame saying the same. */
  | { end: "violation"; codes: readonly number[] }
  /** A clean close, with this code (1005: none) and reason if given. */
  | { end: "clean"; code?: number; reason?: string }
  /** The connection ends without a close frame: ERR_CONNECT, close 1006. */
  | { end: "abrupt" }
  /** The case's own close() is never answered: close 1006, not clean; its close frame reached the server, unless it reads nothing. */
  | { end: "unanswered"; unread?: true };

export interface WebSocketCase {
  protocols?: string[];
  /** Milliseconds after `open` at which the case calls close(1000), if it has not closed by then. */
  closeAfter?: number;
  /** The ends allowed. */
  ends: readonly WebSocketEnd[];
  /** The messages that must arrive, exactly, whatever the end. */
  messages?: readonly Message[];
  /** The server must have counted at least one pong that answered its ping, and none that answered none. */
  pongs?: true;
  /** The process's RSS may grow by at most this many bytes while the case runs. */
  memory?: number;
  /** What `protocol` and `extensions` must say once open. */
  protocol?: string;
  extensions?: RegExp;
}

/** A message as the client saw it: a text's string, or a binary message's length and the sum of its bytes. */
type Message = { text: string } | { bytes: number; sum: number };

/** The largest message the families' client takes (its `maxMessageSize`). */
const MAX = 1 << 20;
/** How often a case's server stalls rather than ending. */
const STALLS = 0.05;
/** What the client waits for the answer to its close frame. */
const CLOSE_WAIT = 5_000;
/** How far RSS may grow while a deflate bomb of 512 MiB is refused: far less than it decodes to. */
const BOMB_GROWTH = 256 * 2 ** 20;
/** How far RSS may grow while pongs pile up for a second behind a server that reads nothing (21 MiB measured). */
const PONG_GROWTH = 128 * 2 ** 20;

const VIOLATION_ENDS: readonly WebSocketEnd[] = [
  { end: "violation", codes: [1002, 1007, 1009] },
  { end: "clean" },
  { end: "abrupt" },
  { end: "unanswered" },
];

/** What a frame the client sends back may carry in a close (RFC 6455 §7.4.1): the codes the client fails with. */
const FAILURE_CODES = [1002, 1007, 1009];

const text = (value: string) => hex(new TextEncoder().encode(value));
const sumOf = (bytes: Uint8Array) => bytes.reduce((total, byte) => (total + byte) % 65_521, 0);

const ACCEPTED =
  "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n";
const head = (fields = "") => `${ACCEPTED}${fields}\r\n`;
/** Answers that accept permessage-deflate as the client offers it (RFC 7692 §7.1). */
const DEFLATE_ANSWERS = [
  "permessage-deflate",
  "permessage-deflate; server_no_context_takeover",
  "permessage-deflate; client_no_context_takeover",
  "permessage-deflate; client_max_window_bits=10",
  "permessage-deflate; server_max_window_bits=15",
];
const deflateHead = (random: Random) => head(`Sec-WebSocket-Extensions: ${random.pick(DEFLATE_ANSWERS)}\r\n`);

/** A frame with FIN set (unless `fin: false`) and `payload` (hex). */
const frame = (opcode: number, payload = "", more: Partial<WsFrame> = {}): WsFrame => ({ opcode, payload, ...more });
const closeFrame = (code: number, reason = "") => frame(8, hex([code >> 8, code & 0xff]) + text(reason));

/** What one hostility makes: the server's head, frames and edits, and how the client may end. */
interface Hostility {
  what: string;
  head: string;
  frames: WsFrame[];
  edits?: FrameEdit[];
  ends: readonly WebSocketEnd[];
  messages?: Message[];
  pings?: true;
  pongs?: true;
  memory?: number;
  /** How the server ends (at random if not given). */
  ending?: WebSocketScript["ending"];
  /** The server reads nothing after the upgrade request. */
  unread?: true;
  /** When the case closes (after a random while if the server stalls or pings, else not at all). */
  closeAfter?: number;
  defect?: Defect;
}

/** A text message before the hostile frames, that must still arrive. */
const BEFORE = "before";

function violation(what: string, headText: string, bad: WsFrame[], codes: readonly number[]): Hostility {
  return {
    what,
    head: headText,
    frames: [frame(1, text(BEFORE)), ...bad],
    ends: [{ end: "violation", codes }],
    messages: [{ text: BEFORE }],
  };
}

/** A violation of RFC 6455 §5's framing, which the frame parser finds. */
function framingViolation(what: string, headText: string, bad: WsFrame[], codes: readonly number[]): Hostility {
  return {
    ...violation(what, headText, bad, codes),
    defect: "a message is dropped when a bad frame follows it in one read",
  };
}

/** Close codes a server may not send (RFC 6455 §7.4), and some it may. */
const BAD_CLOSE_CODES = [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65_535];
const GOOD_CLOSE_CODES = [1000, 1001, 1003, 1008, 1011, 3000, 4999];
/** Bytes that are not UTF-8: a lone continuation, overlong forms, a surrogate, beyond U+10FFFF, cut sequences, FF, FE. */
const NOT_UTF8 = ["80", "c0af", "e080af", "eda080", "f4908080", "f8888080", "c3", "e282", "ff", "fe"];
/** Text whose multi-byte characters a fragment boundary may split. */
const WIDE_TEXT = "héllo, wörld — 𝄞 ✓";

/** Lengths a header may declare over MAX: just over, 2^32, 2^53 + 1 and 2^63 - 1; and two with the top bit set. */
const OVER_MAX = [String(MAX + 1), "4294967296", "9007199254740993", "9223372036854775807"];
const TOP_BIT = ["9223372036854775808", "18446744073709551615"];

/** The frames of a healthy exchange, ending with a close 1000 "bye", and the messages they carry. */
const HEALTHY_BINARY = 70_000;
function healthyFrames(deflate: boolean): WsFrame[] {
  return [
    frame(1, text("hello")),
    frame(2, "c3", { repeat: 300 }),
    frame(1, text("frag"), { fin: false }),
    frame(9, text("ping")),
    frame(0, text("mented"), { fin: false }),
    frame(0, text(" text")),
    frame(10, text("unsolicited")),
    frame(1, text(WIDE_TEXT), deflate ? { deflate: true } : {}),
    frame(2, "5a", { repeat: HEALTHY_BINARY }),
    closeFrame(1000, "bye"),
  ];
}
const HEALTHY_MESSAGES: Message[] = [
  { text: "hello" },
  { bytes: 300, sum: (0xc3 * 300) % 65_521 },
  { text: "fragmented text" },
  { text: WIDE_TEXT },
  { bytes: HEALTHY_BINARY, sum: (0x5a * HEALTHY_BINARY) % 65_521 },
];

const EDITS = ["flip", "flip", "flip", "opcode", "rsv", "drop", "duplicate", "swap", "inject", "cut"] as const;

/** One random change to frame `at`. */
function frameEdit(random: Random, at: number): FrameEdit {
  const op = random.pick(EDITS);
  switch (op) {
    case "flip":
      // Mostly in the header, where a flip changes the most.
      return { frame: at, op, bit: random.chance(0.6) ? random.int(0, 15) : random.next() };
    case "opcode":
      return { frame: at, op, opcode: random.int(0, 15) };
    case "rsv":
      return { frame: at, op, rsv: random.int(0, 7) };
    case "inject":
      return { frame: at, op, hex: hex(random.bytes(random.int(1, 32))) };
    case "cut":
      return { frame: at, op, offset: random.next() };
    default:
      return { frame: at, op };
  }
}

/** Each hostility, with its weight. */
const HOSTILITIES: [number, (random: Random) => Hostility][] = [
  // Random bytes where a frame belongs.
  [
    4,
    (random) => {
      const prefix = random.pick([[], [0x81], [0x82, 0x7e], [0x88, 0x02], [0x80 | random.int(0, 15)], [0x89, 0x7f]]);
      const bytes = [...prefix, ...random.bytes(random.pick([1, 2, 16, 200, random.int(1, 5_000)]))];
      return {
        what: `${bytes.length} random bytes`,
        head: head(),
        frames: [],
        edits: [{ frame: 0, op: "inject", hex: hex(bytes) }],
        ends: VIOLATION_ENDS,
      };
    },
  ],
  // A frame cut short, then the end or a stall.
  [
    4,
    (random) => {
      const deflate = random.chance(0.3);
      const whole = random.pick([
        frame(1, text("hello")),
        frame(1, text("x".repeat(200))),
        frame(2, "5a", { repeat: 70_000 }),
        frame(9, text("ping")),
        closeFrame(1000, "bye"),
        ...(deflate ? [frame(1, text("compressed ".repeat(20)), { deflate: true })] : []),
      ]);
      const ending = random.chance(STALLS * 2) ? "stall" : random.pick(["close_notify", "fin", "reset"] as const);
      return {
        what: `a frame (opcode ${whole.opcode}) cut short`,
        head: deflate ? deflateHead(random) : head(),
        frames: [frame(1, text(BEFORE)), whole],
        edits: [{ frame: 1, op: "cut", offset: random.next() }],
        ends: [{ end: ending === "stall" ? "unanswered" : "abrupt" }],
        // A reset may overtake what was sent before it.
        ...(ending !== "reset" && { messages: [{ text: BEFORE }] }),
        ending,
      };
    },
  ],
  // A header declaring more than MAX, or a length with the top bit set.
  [
    3,
    (random) => {
      const top = random.chance(0.3);
      const declared = random.pick(top ? TOP_BIT : OVER_MAX);
      const opcode = random.pick([1, 2]);
      return framingViolation(
        `a frame (opcode ${opcode}) declaring ${declared} bytes`,
        head(),
        [frame(opcode, hex(random.bytes(random.int(0, 64))), { declared })],
        [top ? 1002 : 1009],
      );
    },
  ],
  // A message over MAX in fragments; or one of exactly MAX, which must arrive.
  [
    1,
    (random) => {
      if (random.chance(0.3)) {
        return {
          what: `a message of exactly maxMessageSize (${MAX} bytes)`,
          head: head(),
          frames: [frame(2, "a5", { repeat: MAX }), closeFrame(1000)],
          ends: [{ end: "clean", code: 1000 }],
          messages: [{ bytes: MAX, sum: (0xa5 * MAX) % 65_521 }],
        };
      }
      const half = MAX / 2 + 1;
      return framingViolation(
        `a message of ${2 * half} bytes in two fragments`,
        head(),
        [frame(2, "00", { repeat: half, fin: false }), frame(0, "00", { repeat: half })],
        [1009],
      );
    },
  ],
  // A frame masked by the server.
  [
    2,
    (random) => {
      const bad = random.pick([frame(1, text("masked")), frame(2, "0102"), frame(9, ""), closeFrame(1000)]);
      return framingViolation(`a masked frame (opcode ${bad.opcode})`, head(), [{ ...bad, mask: true }], [1002]);
    },
  ],
  // RSV bits: RSV2 or RSV3, RSV1 without permessage-deflate, on a control frame or on a continuation.
  [
    3,
    (random) => {
      const kind = random.int(0, 3);
      if (kind === 0) {
        const rsv = random.pick([1, 2, 3, 5, 6, 7]);
        return framingViolation(`a text frame with RSV bits ${rsv}`, head(), [frame(1, text("rsv"), { rsv })], [1002]);
      }
      if (kind === 1) {
        return framingViolation(
          "a compressed frame, permessage-deflate not negotiated",
          head(),
          [frame(1, text("compressed"), { deflate: true })],
          [1002],
        );
      }
      if (kind === 2) {
        const opcode = random.pick([8, 9, 10]);
        return framingViolation(
          `a control frame (opcode ${opcode}) with RSV1, permessage-deflate negotiated`,
          deflateHead(random),
          [frame(opcode, opcode === 8 ? "03e8" : "", { rsv: 4 })],
          [1002],
        );
      }
      return framingViolation(
        "a continuation frame with RSV1, permessage-deflate negotiated",
        deflateHead(random),
        [frame(1, text("first"), { fin: false }), frame(0, text("second"), { rsv: 4 })],
        [1002],
      );
    },
  ],
  // An opcode RFC 6455 reserves.
  [
    2,
    (random) => {
      const opcode = random.pick([3, 4, 5, 6, 7, 11, 12, 13, 14, 15]);
      return framingViolation(`a frame with opcode ${opcode}`, head(), [frame(opcode, hex(random.bytes(4)))], [1002]);
    },
  ],
  // A control frame fragmented, or over 125 bytes.
  [
    3,
    (random) => {
      const opcode = random.pick([8, 9, 10]);
      const code = opcode === 8 ? "03e8" : "";
      if (random.chance(0.5)) {
        return framingViolation(
          `a fragmented control frame (opcode ${opcode})`,
          head(),
          [frame(opcode, code, { fin: false }), frame(0, "")],
          [1002],
        );
      }
      const length = random.pick([126, 127, 1_000, random.int(126, 65_535)]);
      return framingViolation(
        `a control frame (opcode ${opcode}) of ${length} bytes`,
        head(),
        [frame(opcode, code + "61".repeat(length - code.length / 2))],
        [1002],
      );
    },
  ],
  // A continuation outside a message, or a new message inside one.
  [
    2,
    (random) =>
      random.chance(0.5)
        ? framingViolation(
            "a continuation frame outside a message",
            head(),
            [frame(0, text("orphan"), random.chance(0.5) ? {} : { fin: false })],
            [1002],
          )
        : framingViolation(
            "a new message inside a fragmented one",
            head(),
            [frame(1, text("first"), { fin: false }), frame(random.pick([1, 2]), text("second"))],
            [1002],
          ),
  ],
  // Close frames: codes not allowed on the wire, a 1-byte payload, a reason that is not UTF-8; and good ones.
  [
    4,
    (random) => {
      const kind = random.int(0, 3);
      if (kind === 0) {
        const code = random.pick(BAD_CLOSE_CODES);
        return violation(`a close frame with code ${code}`, head(), [closeFrame(code, "bad")], [1002]);
      }
      if (kind === 1) return violation("a close frame of 1 byte", head(), [frame(8, "03")], [1002]);
      if (kind === 2) {
        const bad = random.pick(NOT_UTF8);
        return violation(
          `a close frame whose reason has ${bad}`,
          head(),
          [frame(8, `03e8${text("bye ")}${bad}`)],
          [1007],
        );
      }
      const code = random.pick(GOOD_CLOSE_CODES);
      const reason = random.pick(["", "bye", WIDE_TEXT, "r".repeat(123)]);
      return {
        what: `a close frame with code ${code} and a reason of ${reason.length} characters`,
        head: head(),
        frames: [frame(1, text(BEFORE)), closeFrame(code, reason)],
        ends: [{ end: "clean", code, reason }],
        messages: [{ text: BEFORE }],
      };
    },
  ],
  // Text that is not UTF-8, in one frame, split over fragments, or compressed; and good text split mid-character.
  [
    4,
    (random) => {
      const bad = random.pick(NOT_UTF8);
      const payload = `${text("abc")}${bad}${text("def")}`;
      const kind = random.int(0, 3);
      if (kind === 0) return violation(`a text frame with ${bad}`, head(), [frame(1, payload)], [1007]);
      if (kind === 1) {
        const split = random.int(1, payload.length / 2 - 1) * 2;
        return violation(
          `a text message with ${bad}, in two fragments split at byte ${split / 2}`,
          head(),
          [frame(1, payload.slice(0, split), { fin: false }), frame(0, payload.slice(split))],
          [1007],
        );
      }
      if (kind === 2) {
        return violation(
          `a compressed text frame with ${bad}`,
          deflateHead(random),
          [frame(1, payload, { deflate: true })],
          [1007],
        );
      }
      const bytes = text(WIDE_TEXT);
      const length = bytes.length / 2;
      const cuts = [...new Set([random.int(1, length - 1), random.int(1, length - 1)])].sort((a, b) => a - b);
      const bounds = [0, ...cuts, length];
      const parts = bounds.slice(1).map((end, at) => bytes.slice(bounds[at]! * 2, end * 2));
      return {
        what: `good text in ${parts.length} fragments split at bytes ${cuts.join(", ")}`,
        head: head(),
        frames: [
          ...parts.map((part, at) => frame(at === 0 ? 1 : 0, part, at === parts.length - 1 ? {} : { fin: false })),
          closeFrame(1000),
        ],
        ends: [{ end: "clean", code: 1000 }],
        messages: [{ text: WIDE_TEXT }],
      };
    },
  ],
  // Deflate: a bomb, whole or after an empty first fragment, and data that does not inflate.
  [
    3,
    (random) => {
      if (random.chance(0.25)) {
        // A deflate block of the reserved type 3 (RFC 1951 §3.2.3), then random bytes.
        const bytes = [0x06 | (random.int(0, 31) << 3), ...random.bytes(random.int(0, 300))];
        return violation(
          "a compressed frame that does not inflate",
          deflateHead(random),
          [frame(2, hex(bytes), { rsv: 4 })],
          [1002, 1007],
        );
      }
      const mib = random.pick([2, 64, 512]);
      const fragments = random.chance(0.3);
      return {
        ...violation(
          `a deflate bomb of ${mib} MiB of zeros${fragments ? " after an empty first fragment" : ""}`,
          deflateHead(random),
          fragments
            ? [frame(2, "", { fin: false, rsv: 4 }), frame(0, "", { bomb: mib, rsv: 0 })]
            : [frame(2, "", { bomb: mib })],
          [1009],
        ),
        memory: BOMB_GROWTH,
      };
    },
  ],
  // Pings without end: the client answers, and its close() still gets through.
  [
    1,
    () => ({
      what: "pings without end",
      head: head(),
      frames: [],
      pings: true,
      pongs: true,
      ending: "answer",
      ends: [{ end: "clean", code: 1000 }],
    }),
  ],
  // Pings without end to a client whose pongs the server never reads: its memory stays bounded.
  [
    0.1,
    () => ({
      what: "pings without end, and nothing the client sends read",
      head: head(),
      frames: [],
      pings: true,
      unread: true,
      ending: "answer",
      closeAfter: 1_000,
      ends: [{ end: "unanswered", unread: true }],
      memory: PONG_GROWTH,
    }),
  ],
  // A healthy exchange, edited.
  [
    6,
    (random) => {
      const deflate = random.chance(0.5);
      const frames = healthyFrames(deflate);
      const edits = Array.from({ length: random.int(1, 3) }, () => frameEdit(random, random.int(0, frames.length)));
      return {
        what: `a healthy exchange with ${edits.map(({ frame: at, op }) => `${op} at frame ${at}`).join(", ")}`,
        head: deflate ? deflateHead(random) : head(),
        frames,
        edits,
        ends: VIOLATION_ENDS,
      };
    },
  ],
  // A healthy exchange, untouched.
  [
    2,
    (random) => {
      const deflate = random.chance(0.5);
      return {
        what: `a healthy exchange${deflate ? " with permessage-deflate" : ""}`,
        head: deflate ? deflateHead(random) : head(),
        frames: healthyFrames(deflate),
        ends: [{ end: "clean", code: 1000, reason: "bye" }],
        messages: HEALTHY_MESSAGES,
        pongs: true,
      };
    },
  ],
];
const TOTAL_WEIGHT = HOSTILITIES.reduce((total, [weight]) => total + weight, 0);

/** Each hostility once, in order, then one picked by weight. */
function pickHostility(index: number, random: Random): (random: Random) => Hostility {
  if (index < HOSTILITIES.length) return HOSTILITIES[index]![1];
  let at = (random.next() / 2 ** 32) * TOTAL_WEIGHT;
  for (const [weight, make] of HOSTILITIES) {
    if (at < weight) return make;
    at -= weight;
  }
  return HOSTILITIES.at(-1)![1];
}

/** How a server ends after hostile frames: mostly as a server that waits for the client's close frame. */
function randomEnding(random: Random): WebSocketScript["ending"] {
  // A stall costs the most: when the client cannot tell that anything is wrong, it ends with the case's close(),
  // which the server never answers, after the client's wait for that answer (5 s).
  if (random.chance(STALLS)) return "stall";
  return random.chance(0.75) ? "answer" : random.pick(["close_notify", "fin", "reset"] as const);
}

/** The ends a hostility allows once the server ends as `ending`. */
function endsAfter(ends: readonly WebSocketEnd[], ending: WebSocketScript["ending"]): readonly WebSocketEnd[] {
  // A reset may overtake the frames before it; after a stall, the case's close() is what ends a clean exchange.
  if (ending === "reset" && !ends.some(({ end }) => end === "abrupt")) return [...ends, { end: "abrupt" }];
  if (ending === "stall" && ends.some(({ end }) => end === "clean")) return [...ends, { end: "unanswered" }];
  return ends;
}

/** The limits of the WebSocket families' pinned fetch. */
const LIMITS = { connectTimeout: 600, timeout: 1_000, body: 1_000 };

const frames: Family = {
  key: "ws-frames",
  name: "a WebSocket server that, after a valid 101, sends frames that break RFC 6455 or RFC 7692",
  // Most of them in npm test, fewer in test:hostile: a case costs more than a TLS family's (two connections and
  // the server's waits), and a stall 5 s.
  share: 0.1,
  least: 120,
  costPerCase: 800,
  limits: LIMITS,
  options: { maxMessageSize: MAX },
  codes: ["ERR_WEBSOCKET", "ERR_CONNECT"],
  defects: ["a message is dropped when a bad frame follows it in one read"],
  planner: (hostile) => (index) => {
    const random = caseRandom(hostile.seed, "ws-frames", index);
    const hostility = pickHostility(index, random)(random);
    const ending = hostility.ending ?? randomEnding(random);
    const reset = ending === "reset";
    const script: WebSocketScript = {
      head: hostility.head,
      frames: hostility.frames,
      edits: hostility.edits ?? [],
      coalesce: random.chance(0.3),
      ...(hostility.pings && { pings: true }),
      ...(hostility.unread && { unread: true }),
      ending,
    };
    // A stalled server leaves it to the client to end: the case closes after a while.
    const closeAfter =
      hostility.closeAfter ?? (ending === "stall" || hostility.pings ? random.int(50, 400) : undefined);
    return {
      what: `${hostility.what}, then ${ending}${script.coalesce ? " (the frames in the 101's record)" : ""}`,
      server: { kind: "websocket", tls: random.pick(TLS_SERVERS), script },
      ...(hostility.defect && { defect: hostility.defect }),
      webSocket: {
        ends: endsAfter(hostility.ends, ending),
        ...(hostility.messages && !reset && { messages: hostility.messages }),
        // The relay stops passing on what the client sends once its server has ended.
        ...(hostility.pongs && (ending === "answer" || ending === "stall") && { pongs: true }),
        ...(hostility.memory && { memory: hostility.memory }),
        ...(closeAfter !== undefined && { closeAfter }),
      },
    };
  },
};

const REFUSED: readonly WebSocketEnd[] = [{ end: "refused", codes: ["ERR_HTTP"] }];
const OFFERED = ["chat", "superchat"];

/** Answers to the upgrade request: those the client must refuse before `open`, and two it must take. */
const UPGRADES: {
  what: string;
  head: string;
  repeat?: string;
  ending?: WebSocketScript["ending"];
  protocols?: string[];
  ends: readonly WebSocketEnd[];
  protocol?: string;
  extensions?: RegExp;
}[] = [
  {
    what: "a 101 without Sec-WebSocket-Accept",
    head: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    ends: REFUSED,
  },
  {
    what: "a 101 with a wrong Sec-WebSocket-Accept",
    head: ACCEPTED.replace("{accept}", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") + "\r\n",
    ends: REFUSED,
  },
  {
    what: "a 101 with the right Sec-WebSocket-Accept and a wrong one",
    head: head("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
    ends: REFUSED,
  },
  {
    what: "a 101 without Upgrade",
    head: "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n",
    ends: REFUSED,
  },
  { what: "a 101 with Upgrade: h2c", head: ACCEPTED.replace("websocket", "h2c") + "\r\n", ends: REFUSED },
  {
    what: "a 101 without Connection: Upgrade",
    head: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: {accept}\r\n\r\n",
    ends: REFUSED,
  },
  {
    what: "a 200 with the upgrade's fields",
    head: ACCEPTED.replace("101 Switching Protocols", "200 OK") + "content-length: 0\r\n\r\n",
    ends: REFUSED,
  },
  {
    what: "a redirect",
    head: "HTTP/1.1 302 Found\r\nLocation: wss://localhost/elsewhere\r\ncontent-length: 0\r\n\r\n",
    ends: REFUSED,
  },
  {
    what: "a 426",
    head: "HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\ncontent-length: 0\r\n\r\n",
    ends: REFUSED,
  },
  {
    what: "a subprotocol that was not offered",
    head: head("Sec-WebSocket-Protocol: other\r\n"),
    protocols: OFFERED,
    ends: REFUSED,
  },
  { what: "a subprotocol when none was offered", head: head("Sec-WebSocket-Protocol: chat\r\n"), ends: REFUSED },
  {
    what: "two subprotocols",
    head: head("Sec-WebSocket-Protocol: chat, superchat\r\n"),
    protocols: OFFERED,
    ends: REFUSED,
  },
  {
    what: "an extension that was not offered",
    head: head("Sec-WebSocket-Extensions: x-webkit-deflate-frame\r\n"),
    ends: REFUSED,
  },
  {
    what: "permessage-deflate with a parameter it does not define",
    head: head("Sec-WebSocket-Extensions: permessage-deflate; x-mode=fast\r\n"),
    ends: REFUSED,
  },
  {
    what: "permessage-deflate with a parameter twice",
    head: head(
      "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; server_no_context_takeover\r\n",
    ),
    ends: REFUSED,
  },
  {
    what: "permessage-deflate twice",
    head: head("Sec-WebSocket-Extensions: permessage-deflate, permessage-deflate\r\n"),
    ends: REFUSED,
  },
  {
    what: "permessage-deflate with server_max_window_bits=7",
    head: head("Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=7\r\n"),
    ends: REFUSED,
  },
  {
    what: "permessage-deflate with client_max_window_bits=16",
    head: head("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=16\r\n"),
    ends: REFUSED,
  },
  { what: "a 101 head over maxHeaderSize", head: head(`x-pad: ${"p".repeat(70_000)}\r\n`), ends: REFUSED },
  {
    what: "a 101 head whose fields never end",
    head: ACCEPTED,
    repeat: "x-endless: 0123456789abcdef\r\n",
    ends: REFUSED,
  },
  {
    what: "a 101 cut short by close_notify",
    head: ACCEPTED.slice(0, 40),
    ending: "close_notify",
    ends: [{ end: "refused", codes: ["ERR_HTTP", "ERR_CONNECT", "ERR_TLS"] }],
  },
  { what: "no answer", head: "", ending: "stall", ends: [{ end: "refused", codes: ["ERR_TIMEOUT"] }] },
  // The two the client must take: it opens, and reports what was chosen.
  {
    what: "a 101 choosing an offered subprotocol",
    head: head("Sec-WebSocket-Protocol: superchat\r\n"),
    protocols: OFFERED,
    ends: [{ end: "clean", code: 1000 }],
    protocol: "superchat",
  },
  {
    what: "a 101 accepting permessage-deflate with parameters",
    head: head(
      "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_max_window_bits=12\r\n",
    ),
    ends: [{ end: "clean", code: 1000 }],
    extensions: /^permessage-deflate\b/,
  },
];

const upgrade: Family = {
  key: "ws-upgrade",
  name: "a WebSocket server whose answer to the upgrade is not a valid 101 for what the client offered",
  share: 0,
  least: UPGRADES.length,
  costPerCase: 800,
  limits: LIMITS,
  options: { maxMessageSize: MAX },
  codes: ["ERR_HTTP", "ERR_CONNECT", "ERR_TLS", "ERR_TIMEOUT"],
  planner: (hostile) => (index) => {
    const random = caseRandom(hostile.seed, "ws-upgrade", index);
    const {
      what,
      head: answer,
      repeat,
      ending,
      protocols,
      ends,
      protocol,
      extensions,
    } = UPGRADES[index % UPGRADES.length]!;
    const opens = ends.some(({ end }) => end === "clean");
    const script: WebSocketScript = {
      head: answer,
      ...(repeat !== undefined && { repeat }),
      frames: opens ? [closeFrame(1000)] : [],
      edits: [],
      coalesce: false,
      ending: ending ?? (opens ? "answer" : random.pick(["answer", "stall"] as const)),
    };
    return {
      what: `${what}${protocols ? ` (offered ${protocols.join(", ")})` : ""}, then ${script.ending}`,
      server: { kind: "websocket", tls: random.pick(TLS_SERVERS), script },
      webSocket: {
        ends,
        ...(protocols && { protocols }),
        ...(protocol !== undefined && { protocol }),
        ...(extensions && { extensions }),
      },
    };
  },
};

export const WEBSOCKET_FAMILIES: readonly Family[] = [frames, upgrade];

/** What the client saw, in order. */
interface Seen {
  events: string[];
  openedAt: number | null;
  messages: Message[];
  errors: { error: unknown; message: unknown }[];
  closes: { code: number; reason: string; wasClean: boolean }[];
  protocol: string;
  extensions: string;
  peakRss: number;
}

/**
 * Runs one WebSocket case: opens `new fetch.WebSocket(url)`, waits for its `close` event within the case's limit
 * and the grace, and judges what happened by the case's allowed ends and by what the server saw the client send.
 */
export async function runWebSocketCase(
  fetch: PinnedFetch,
  fixture: Fixture,
  url: string,
  family: Family,
  plan: CasePlan,
): Promise<Outcome> {
  const expected = plan.webSocket!;
  const script = plan.server.kind === "websocket" ? plan.server.script : null;
  // Until open, the handshake's limit; after it, the server's wait for a close frame, or the case's close() and the
  // client's wait for its answer.
  const limit =
    family.limits.timeout + (expected.closeAfter === undefined ? ANSWER_WAIT : expected.closeAfter + CLOSE_WAIT);
  const before = (await fixture.stats("hostile")).webSocket?.connections ?? 0;
  const rssBefore = process.memoryUsage().rss;
  const seen: Seen = {
    events: [],
    openedAt: null,
    messages: [],
    errors: [],
    closes: [],
    protocol: "",
    extensions: "",
    peakRss: rssBefore,
  };
  const started = performance.now();
  const sampleRss = () => {
    if (expected.memory !== undefined) seen.peakRss = Math.max(seen.peakRss, process.memoryUsage().rss);
  };
  let closeTimer: ReturnType<typeof setTimeout> | undefined;
  let hangTimer: ReturnType<typeof setTimeout> | undefined;
  const socket: PinnedWebSocket = new fetch.WebSocket(url.replace(/^https:/, "wss:"), expected.protocols);
  socket.binaryType = "arraybuffer";
  const closed = new Promise<boolean>((resolve) => {
    socket.addEventListener("open", () => {
      seen.events.push("open");
      seen.openedAt = performance.now() - started;
      seen.protocol = socket.protocol;
      seen.extensions = socket.extensions;
      if (expected.closeAfter !== undefined) closeTimer = setTimeout(() => socket.close(1000), expected.closeAfter);
    });
    socket.addEventListener("message", (event) => {
      seen.events.push("message");
      const { data } = event as MessageEvent<string | ArrayBuffer>;
      if (typeof data === "string") seen.messages.push({ text: data });
      else seen.messages.push({ bytes: data.byteLength, sum: sumOf(new Uint8Array(data)) });
      sampleRss();
    });
    socket.addEventListener("error", (event) => {
      seen.events.push("error");
      const { error, message } = event as Event & { error?: unknown; message?: unknown };
      seen.errors.push({ error, message });
    });
    socket.addEventListener("close", (event) => {
      seen.events.push("close");
      const { code, reason, wasClean } = event as CloseEvent;
      seen.closes.push({ code, reason, wasClean });
      sampleRss();
      resolve(true);
    });
    hangTimer = setTimeout(() => resolve(false), limit + GRACE);
  });
  try {
    const ended = await closed;
    const ms = performance.now() - started;
    // Anything after the close event is a defect too.
    await delay(20);
    const what = () => `events ${seen.events.join(", ")}; ${describe(seen)}`;
    assert.ok(ended, `no close event within ${limit} ms and the grace of ${GRACE} ms (${what()})`);
    assert.ok(
      ms <= limit + GRACE,
      `it closed after ${Math.round(ms)} ms, ${Math.round(ms - limit)} ms after its limit`,
    );
    assert.equal(seen.closes.length, 1, `close events: ${what()}`);
    assert.equal(seen.events.at(-1), "close", `an event after close: ${what()}`);
    assert.ok(seen.errors.length <= 1, `${seen.errors.length} error events: ${what()}`);
    for (const { error, message } of seen.errors) {
      assert.ok(
        error instanceof PinnedFetchError,
        `the error event's error is ${String(error)}, not a PinnedFetchError`,
      );
      assert.ok(family.codes.includes(error.code), `an error of ${error.code}: ${error.message}`);
      assert.equal(message, error.message, "the error event's message is its error's");
    }
    const log = seen.openedAt === null ? null : await serverLog(fixture, before);
    const end = expected.ends.find((allowed) => matches(allowed, seen, log));
    assert.ok(
      end,
      `it ended with ${what()}; the server saw ${JSON.stringify(log)}; allowed: ${JSON.stringify(expected.ends)}`,
    );
    if (expected.messages) assert.deepEqual(seen.messages, expected.messages, "the messages that arrived");
    if (expected.protocol !== undefined) assert.equal(seen.protocol, expected.protocol, "the protocol");
    if (expected.extensions) assert.match(seen.extensions, expected.extensions, "the extensions");
    if (log) {
      assert.equal(log.request, null, `the upgrade request: ${log.request}`);
      assert.equal(log.unmasked, 0, "client frames without a mask");
      assert.equal(log.afterClose, 0, "client frames after its close frame");
      assert.equal(log.malformed, false, "the client's frames do not parse");
      if (log.close !== null && end.end === "violation") {
        assert.equal(log.close, seen.closes[0]!.code, "the code of the client's close frame");
      }
      if (expected.pongs) {
        assert.ok(log.pongs > 0, "no pong answered a ping");
        assert.equal(log.strayPongs, 0, "pongs that answered no ping");
      }
    }
    if (expected.memory !== undefined) {
      const growth = seen.peakRss - rssBefore;
      assert.ok(growth < expected.memory, `RSS grew by ${(growth / 2 ** 20).toFixed(1)} MiB`);
    }
    const reads = script !== null && !script.unread && (script.ending === "answer" || script.ending === "stall");
    return { end: endName(end, seen, reads ? log : null), ms };
  } finally {
    clearTimeout(closeTimer);
    clearTimeout(hangTimer);
    if (seen.closes.length === 0) socket.close();
  }
}

/** What the server saw of this case's connection, once it has closed. */
async function serverLog(fixture: Fixture, before: number): Promise<WebSocketLog> {
  const stats = await eventually(
    () => fixture.stats("hostile"),
    ({ webSocket }) => webSocket !== undefined && webSocket.connections > before && webSocket.closed,
    "the WebSocket connection, closed at the server",
  );
  return stats.webSocket!;
}

function matches(allowed: WebSocketEnd, seen: Seen, log: WebSocketLog | null): boolean {
  const [close] = seen.closes;
  const error = seen.errors[0]?.error as PinnedFetchError | undefined;
  const opened = seen.openedAt !== null;
  const failed = close !== undefined && close.code === 1006 && !close.wasClean;
  switch (allowed.end) {
    case "refused":
      return !opened && error !== undefined && allowed.codes.includes(error.code) && failed;
    case "violation":
      return (
        opened &&
        error?.code === "ERR_WEBSOCKET" &&
        close !== undefined &&
        allowed.codes.includes(close.code) &&
        !close.wasClean &&
        FAILURE_CODES.includes(close.code)
      );
    case "clean":
      return (
        opened &&
        error === undefined &&
        close !== undefined &&
        close.wasClean &&
        (allowed.code === undefined || close.code === allowed.code) &&
        (allowed.reason === undefined || close.reason === allowed.reason)
      );
    case "abrupt":
      return opened && error?.code === "ERR_CONNECT" && failed;
    case "unanswered":
      // The server, which still reads, got the case's close frame.
      return (
        opened &&
        (error === undefined || error.code !== "ERR_WEBSOCKET") &&
        failed &&
        (allowed.unread === true || log?.close === 1000)
      );
  }
}

/**
 * How a case ended, for the family's line; a violation whose close frame did not reach a server that was still
 * reading (`log`) is counted apart.
 */
function endName(end: WebSocketEnd, seen: Seen, log: WebSocketLog | null): string {
  const [close] = seen.closes;
  const error = seen.errors[0]?.error as PinnedFetchError | undefined;
  if (end.end === "clean") return "completed";
  // A client that closes with unread bytes sends a reset, which may overtake its close frame.
  if (end.end === "violation")
    return `ERR_WEBSOCKET ${close!.code}${log?.close === null ? " (no close frame came)" : ""}`;
  if (end.end === "unanswered") return "close() unanswered";
  return error!.code;
}

function describe(seen: Seen): string {
  const error = seen.errors[0]?.error;
  return JSON.stringify({
    openedAt: seen.openedAt === null ? null : Math.round(seen.openedAt),
    messages: seen.messages.map((message) => ("text" in message ? { text: message.text.slice(0, 40) } : message)),
    error: error instanceof PinnedFetchError ? `${error.code}: ${error.message}` : String(error),
    close: seen.closes,
  });
}
