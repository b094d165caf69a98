// The opening handshake of RFC 6455, section 4: the upgrade request a client writes, and the checks its 101
// answer must pass before the connection is a WebSocket.
import { sha1 } from "@noble/hashes/legacy.js";

import { toBase64 } from "../encoding.js";
import { PinnedFetchError } from "../errors.js";
import { type ResponseHead, encodeLatin1, fieldValues } from "../http/message.js";
import { USER_AGENT } from "../http/request-fields.js";
import type { DeflateParams } from "../runtime/message-deflate.js";
import { DEFLATE_OFFER, acceptedDeflate } from "./extensions.js";

/** RFC 6455's GUID, appended to the key before hashing it into Sec-WebSocket-Accept. */
const ACCEPT_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/** Fields the handshake writes itself, with every Sec-WebSocket-* field: a caller's header cannot replace them. */
const HANDSHAKE_FIELDS = new Set(["host", "upgrade", "connection"]);

export interface Upgrade {
  /** The request, as written to the connection. */
  bytes: Uint8Array;
  /** The Sec-WebSocket-Accept the server must answer with. */
  accept: string;
}

/** The upgrade request for `url`, offering `protocols` and, if `deflate`, permessage-deflate. */
export function upgradeRequest(url: URL, protocols: readonly string[], headers: Headers, deflate: boolean): Upgrade {
  const key = toBase64(crypto.getRandomValues(new Uint8Array(16)));
  let head =
    `GET ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\nupgrade: websocket\r\nconnection: Upgrade\r\n` +
    `sec-websocket-key: ${key}\r\nsec-websocket-version: 13\r\n`;
  if (protocols.length > 0) head += `sec-websocket-protocol: ${protocols.join(", ")}\r\n`;
  if (deflate) head += `sec-websocket-extensions: ${DEFLATE_OFFER}\r\n`;
  if (!headers.has("user-agent")) head += `user-agent: ${USER_AGENT}\r\n`;
  for (const [name, value] of headers) head += `${name}: ${value}\r\n`;
  return { bytes: encodeLatin1(`${head}\r\n`), accept: acceptFor(key) };
}

/** ERR_CONFIG for a caller's header that the handshake writes itself. */
export function checkCallerHeaders(headers: Headers): void {
  for (const [name] of headers) {
    if (!HANDSHAKE_FIELDS.has(name) && !name.startsWith("sec-websocket-")) continue;
    const instead =
      name === "sec-websocket-protocol"
        ? " Give the subprotocols as the second argument of the constructor."
        : name === "sec-websocket-extensions"
          ? " permessage-deflate is offered unless the perMessageDeflate option is false."
          : "";
    throw new PinnedFetchError(
      "ERR_CONFIG",
      `The header ${name} belongs to the WebSocket handshake, which writes it itself; it cannot be given in headers.${instead}`,
    );
  }
}

export interface Accepted {
  /** The subprotocol the server chose, or "". */
  protocol: string;
  /** The extensions in use, as the server named them, or "". */
  extensions: string;
  deflate: DeflateParams | null;
}

/**
 * What a 101 answer agreed to; ERR_HTTP, saying what is wrong, for any other answer and for one that breaks
 * RFC 6455, section 4.2.2: a wrong Upgrade, Connection or Sec-WebSocket-Accept, or a subprotocol or extension that
 * was not offered.
 */
export function acceptedUpgrade(
  head: ResponseHead,
  host: string,
  upgrade: Upgrade,
  protocols: readonly string[],
  deflateOffered: boolean,
): Accepted {
  const refuse = (problem: string) =>
    new PinnedFetchError("ERR_HTTP", `${host} did not accept the WebSocket connection: ${problem}`, { host });
  if (head.status !== 101) {
    throw refuse(
      `it answered ${head.status}${head.statusText ? ` ${head.statusText}` : ""} instead of 101 Switching Protocols.`,
    );
  }
  const field = (name: string) => {
    const values = fieldValues(head.fields, name);
    return values.length === 0 ? null : values.join(", ");
  };
  const tokens = (name: string) => (field(name) ?? "").toLowerCase().split(/[ \t]*,[ \t]*/);
  if (!tokens("upgrade").includes("websocket")) throw refuse("its answer has no Upgrade: websocket.");
  if (!tokens("connection").includes("upgrade")) throw refuse("its answer has no Connection: Upgrade.");
  if (field("sec-websocket-accept") !== upgrade.accept) {
    throw refuse("its Sec-WebSocket-Accept does not match the key sent, so it is not answering this handshake.");
  }
  const protocol = field("sec-websocket-protocol") ?? "";
  if (protocol !== "" && !protocols.includes(protocol)) {
    throw refuse(
      protocols.length === 0
        ? `it chose the subprotocol ${JSON.stringify(protocol)}, and none was offered.`
        : `it chose the subprotocol ${JSON.stringify(protocol)}, which is not one of those offered (${protocols.join(", ")}).`,
    );
  }
  const extensions = field("sec-websocket-extensions");
  let deflate: DeflateParams | null;
  try {
    deflate = acceptedDeflate(extensions, deflateOffered);
  } catch (error) {
    throw refuse(`${(error as Error).message}.`);
  }
  return { protocol, extensions: extensions ?? "", deflate };
}

function acceptFor(key: string): string {
  return toBase64(sha1(encodeLatin1(key + ACCEPT_GUID)));
}
