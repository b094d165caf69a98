// TLS record framing, as much of it as the hostile server needs: split a
// stream into records, read a ClientHello, and fit a recorded ServerHello to it.
import type { Socket } from "node:net";

export const RECORD_HEADER = 5;
/** The largest record a peer may send: 2^14 bytes of plaintext plus 2,048 of expansion (RFC 5246). */
const MAX_RECORD = RECORD_HEADER + 16_384 + 2_048;

/** Whole records from the front of `bytes`, and what is left of an incomplete one. */
export function splitRecords(bytes: Buffer): { records: Buffer[]; rest: Buffer } {
  const records: Buffer[] = [];
  let at = 0;
  while (bytes.length - at >= RECORD_HEADER) {
    const end = at + RECORD_HEADER + bytes.readUInt16BE(at + 3);
    if (end > bytes.length) break;
    records.push(bytes.subarray(at, end));
    at = end;
  }
  return { records, rest: bytes.subarray(at) };
}

/** The first record the client sends (its ClientHello), or null if it leaves first or sends no record. */
export function readClientHello(socket: Socket): Promise<Buffer | null> {
  return new Promise((resolve) => {
    let received = Buffer.alloc(0);
    const finish = (hello: Buffer | null) => {
      socket.off("data", onData);
      socket.off("close", onClose);
      resolve(hello);
    };
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const [hello] = splitRecords(received).records;
      if (hello) finish(hello);
      else if (received.length >= MAX_RECORD) finish(null);
    };
    const onClose = () => finish(null);
    socket.on("data", onData);
    socket.on("close", onClose);
  });
}

/** Where a hello's legacy session id sits: record header, handshake header, version and random come first. */
const SESSION_ID_AT = RECORD_HEADER + 4 + 2 + 32;

function sessionId(hello: Buffer): Buffer | null {
  if (hello.length <= SESSION_ID_AT) return null;
  const end = SESSION_ID_AT + 1 + hello[SESSION_ID_AT]!;
  return end <= hello.length ? hello.subarray(SESSION_ID_AT + 1, end) : null;
}

/**
 * A copy of the recorded `flight` whose TLS 1.3 ServerHello echoes this
 * ClientHello's session id, as a real server would: without it the client
 * stops at the ServerHello, and nothing after it would be parsed.
 */
export function echoSessionId(flight: Buffer, clientHello: Buffer): Buffer {
  const copy = Buffer.from(flight);
  const client = sessionId(clientHello);
  const server = sessionId(copy);
  if (client && server && client.length === server.length) client.copy(copy, SESSION_ID_AT + 1);
  return copy;
}
