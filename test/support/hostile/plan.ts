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
  | { kind: "serverHello"; group: number; share: string; after: string; ending: Ending };

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
