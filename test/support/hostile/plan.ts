// What the hostile server does on one connection, as plain data: each case of
// the hostile suite builds a plan (in any runtime) and arms the server (Node)
// with it through the control server. Shared by both sides.
import { HELLO } from "../content.js";

/** The real TLS servers: TLS 1.3, TLS 1.3 that first asks for another key share (a HelloRetryRequest), and TLS 1.2. */
export type TlsServer = "TLSv1.3" | "TLSv1.3 after HelloRetryRequest" | "TLSv1.2";
export const TLS_SERVERS: readonly TlsServer[] = ["TLSv1.3", "TLSv1.3 after HelloRetryRequest", "TLSv1.2"];

/** How the server leaves once it has sent what it meant to: FIN, a TCP reset, or not at all. */
export type Ending = "fin" | "reset" | "stall";

/**
 * A change to the TLS records the server sends, numbered from 0 in the
 * order sent. One aimed past the last record applies where the stream ends.
 */
export type RecordEdit =
  | { record: number; op: "flip"; bit: number } // one bit, header included; the index wraps around the record
  | { record: number; op: "length"; length: number } // the header's length field, the bytes left as they are
  | { record: number; op: "type"; type: number } // the header's content type
  | { record: number; op: "version"; version: number } // the header's legacy version
  | { record: number; op: "drop" }
  | { record: number; op: "duplicate" }
  | { record: number; op: "swap" } // sent after the next record
  | { record: number; op: "inject"; hex: string } // these bytes, before the record
  | { record: number; op: "cut"; offset: number } // the record's first bytes, then the ending
  | { record: number; op: "end" }; // the ending, instead of the record

/** The server's side of the byte stream, edited. */
export interface StreamPlan {
  edits: RecordEdit[];
  /** Only this many bytes of the edited stream go out, then the ending. */
  cutAt?: number;
  /** Milliseconds between bytes: the stream drips. */
  drip?: number;
  /** After a cut or an `end` edit, and after a replay. A relay otherwise ends as its server does. */
  ending: Ending;
}

/** An HTTP response, step by step, from a real TLS server, once the request has arrived. */
export interface HttpScript {
  steps: HttpStep[];
  /** TLS close_notify then FIN, FIN alone, a TCP reset, or nothing more. */
  end: "close_notify" | Ending;
  /** Instead of the end, the connection is kept, and this script runs `after` so many ms, or at the next request. */
  next?: { after: number | "request"; script: HttpScript };
}

type HttpStep =
  | { send: string } // latin1, in one TLS record
  | { raw: string } // hex, written under TLS, straight to TCP
  | { drip: string; every: number } // one byte every `every` ms
  | { repeat: string }; // the text again and again, as fast as the client reads, until it leaves

export type ServerPlan =
  /** Raw TCP: these bytes, before or after reading the ClientHello, then the ending. */
  | { kind: "bytes"; readHello: boolean; hex: string; ending: Ending }
  /** The server flight recorded at start (TLS 1.3's session id echo fitted to this ClientHello), edited. */
  | { kind: "replay"; tls: TlsServer; stream: StreamPlan }
  /** A real TLS server running `http`, its records edited on the way. */
  | { kind: "relay"; tls: TlsServer; stream: StreamPlan; http: HttpScript }
  /**
   * Raw TCP: a TLS 1.3 ServerHello made for the ClientHello (its session id echoed) whose key share is of
   * `group` with `share` (hex) as its key exchange, then the bytes `after` (hex), then the ending.
   */
  | { kind: "serverHello"; group: number; share: string; after: string; ending: Ending }
  /** A real TLS server that answers a WebSocket upgrade as `script` says. */
  | { kind: "websocket"; tls: TlsServer; script: WebSocketScript }
  /** A real TLS server that chooses ALPN h2 and sends the frames `script` says. */
  | { kind: "http2"; tls: TlsServer; script: Http2Script };

/** A WebSocket frame the server sends (RFC 6455 §5.2), before any edit. */
export interface WsFrame {
  opcode: number;
  /** Absent: FIN is set. */
  fin?: false;
  /** The RSV bits, RSV1 = 4, RSV2 = 2, RSV3 = 1; by default RSV1 alone if compressed, else none. */
  rsv?: number;
  /** Hex; `repeat` times over, so that a big frame makes a small plan. */
  payload: string;
  repeat?: number;
  /** The payload compressed as permessage-deflate does (RFC 7692 §7.2.1). */
  deflate?: true;
  /** Instead of the payload: so many MiB of zeros, compressed. */
  bomb?: number;
  /** Masked, as only a client may. */
  mask?: true;
  /** The length the header declares instead (decimal, up to 2^64 - 1), in the 64-bit form; the payload is sent as it is. */
  declared?: string;
}

/** A change to the frames, numbered from 0; one aimed past the last frame applies where they end. */
export type FrameEdit =
  | { frame: number; op: "flip"; bit: number } // one bit, header included; the index wraps around the frame
  | { frame: number; op: "opcode"; opcode: number }
  | { frame: number; op: "rsv"; rsv: number } // the RSV bits, set to these
  | { frame: number; op: "drop" }
  | { frame: number; op: "duplicate" }
  | { frame: number; op: "swap" } // sent after the next frame
  | { frame: number; op: "inject"; hex: string } // these bytes, before the frame
  | { frame: number; op: "cut"; offset: number }; // the frame's first bytes (the offset wraps around it), then the ending

/** What the server does with a WebSocket upgrade request, and after it. */
export interface WebSocketScript {
  /** The answer's head, `{accept}` standing for the right Sec-WebSocket-Accept; `repeat`, if given, follows it without end. */
  head: string;
  repeat?: string;
  /** Sent after the head, edited; `coalesce`: in the same record as the head. */
  frames: WsFrame[];
  edits: FrameEdit[];
  coalesce: boolean;
  /** After the frames, pings without end, each answered pong counted, until the client's close frame. */
  pings?: true;
  /** Nothing the client sends after the upgrade request is read. */
  unread?: true;
  /**
   * Then: `answer` waits up to ANSWER_WAIT for the client's close frame, answers it with the same code, and ends with
   * close_notify; `close_notify` ends at once; `fin`, `reset` and `stall` as for the other plans (a stalled server
   * still reads what the client sends).
   */
  ending: "answer" | "close_notify" | Ending;
}

/** Milliseconds a WebSocket script's `answer` ending waits for the client's close frame. */
export const ANSWER_WAIT = 500;

/** What the hostile server saw of the last WebSocket connection's client. */
export interface WebSocketLog {
  /** WebSocket connections so far. */
  connections: number;
  /** What is wrong with the upgrade request, or null. */
  request: string | null;
  /** The code of the client's close frame (1005 if it carried none), or null if it sent none. */
  close: number | null;
  /** Pongs that answered a ping, and pongs whose payload no ping had. */
  pongs: number;
  strayPongs: number;
  /** Client frames without a mask, frames after the close frame, and whether the bytes stopped parsing as frames. */
  unmasked: number;
  afterClose: number;
  malformed: boolean;
  /** Whether the TCP connection has closed. */
  closed: boolean;
}

/** An HTTP/2 frame the server sends (RFC 9113 §4.1), before any edit. */
export interface H2Frame {
  type: number;
  flags: number;
  /** The stream identifier, the reserved bit included (2^31 and up sets it). */
  stream: number;
  /** Hex; `repeat` times over, so that a big frame makes a small plan. */
  payload: string;
  repeat?: number;
  /** The length the header declares instead (24 bits); the payload is sent as it is. */
  declared?: number;
}

/** A change to the frames, numbered from 0; one aimed past the last frame applies where they end. */
export type H2Edit =
  | { frame: number; op: "flip"; bit: number } // one bit, header included; the index wraps around the frame
  | { frame: number; op: "type"; type: number }
  | { frame: number; op: "flags"; flags: number }
  | { frame: number; op: "stream"; stream: number }
  | { frame: number; op: "length"; length: number } // the header's length field, the payload left as it is
  | { frame: number; op: "drop" }
  | { frame: number; op: "duplicate" }
  | { frame: number; op: "swap" } // sent after the next frame
  | { frame: number; op: "inject"; hex: string } // these bytes, before the frame
  | { frame: number; op: "cut"; offset: number }; // the frame's first bytes (the offset wraps around it), then the ending

/**
 * What an h2 server does on one connection. It always reads the client's frames into its log, acknowledges the
 * client's SETTINGS and answers its PINGs (unless `unread`); the frames below are its own.
 */
export interface Http2Script {
  /** Sent at once: the server's connection preface (a SETTINGS frame, when the server is honest). */
  preface: H2Frame[];
  /** Sent once the client's first request (its HEADERS, through END_HEADERS) has arrived: stream 1's answer. */
  answer: H2Frame[];
  /** Over the preface and the answer, numbered together. */
  edits: H2Edit[];
  /** After the answer: `frames` again and again, as fast as the client reads, for `ms`, then `then`. */
  flood?: { frames: H2Frame[]; ms: number; then: H2Frame[] };
  /** After the client's request, nothing it sends is read. */
  unread?: true;
  /**
   * Then: `serve` waits, answers the client's next request (a stream above 1) with the healthy response, and leaves
   * with GOAWAY and close_notify; `close_notify`, `fin` and `reset` end at once.
   */
  ending: "serve" | "close_notify" | "fin" | "reset";
}

/** What the hostile server saw of the last HTTP/2 connection's client. */
export interface Http2Log {
  /** HTTP/2 connections so far. */
  connections: number;
  /** Whether the client's connection preface was right, then its first frame a SETTINGS frame (null: not arrived). */
  preface: boolean | null;
  /** Requests (HEADERS that open a stream) the client sent. */
  requests: number;
  /** The error code of the client's GOAWAY, or null if it sent none. */
  goaway: number | null;
  /** The codes of its RST_STREAM frames. */
  resets: number[];
  /** SETTINGS acknowledgements; PING acknowledgements that answered a PING of the server, and those that answered none. */
  settingsAcks: number;
  pingAcks: number;
  strayPingAcks: number;
  /** Whether the client's bytes stopped parsing as frames. */
  malformed: boolean;
  /** Whether the TCP connection has closed. */
  closed: boolean;
}

/** The head of the response every healthy connection gets. */
export const RESPONSE_HEAD =
  "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 19\r\nconnection: close\r\n\r\n";
/** The healthy response, in three records: the head and the body in two parts. */
export const RESPONSE_PARTS = [RESPONSE_HEAD, HELLO.slice(0, 13), HELLO.slice(13)] as const;
/** The same response, but the connection may carry another. */
export const KEEP_ALIVE_RESPONSE = `HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 19\r\n\r\n${HELLO}`;
export const HEALTHY_SCRIPT: HttpScript = { steps: RESPONSE_PARTS.map((send) => ({ send })), end: "close_notify" };
/** What an unarmed connection gets: a real TLS 1.3 server, untouched. */
export const HEALTHY: Extract<ServerPlan, { kind: "relay" }> = {
  kind: "relay",
  tls: "TLSv1.3",
  stream: { edits: [], ending: "fin" },
  http: HEALTHY_SCRIPT,
};

/** What the fixture tells the scenarios about the hostile server. */
export interface HostileDescription {
  seed: number;
  /** Cases per runtime, over all families. */
  cases: number;
  /** `family:index` to run that case alone (to reproduce a failure), or null. */
  only: string | null;
  /** A real connection recorded at start, per server: its records, counted as replay and relay see them. */
  recorded: Record<TlsServer, RecordedLayout>;
}

export interface RecordedLayout {
  /** The size of each record the server sent, header included, in order. */
  sizes: number[];
  /** How many of them make the first flight (what a replay sends). */
  flight: number;
  /** How many belong to the handshake: the rest carry application data (and TLS 1.3's session tickets). */
  handshake: number;
}
