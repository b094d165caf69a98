// The extension negotiation of a WebSocket's opening handshake (RFC 6455
// §9.1): permessage-deflate is the one extension offered, and the server's
// answer is checked against RFC 7692 §7.1 before the connection opens.
import { TOKEN } from "../http/message.js";
import type { DeflateParams } from "../runtime/message-deflate.js";

/** The Sec-WebSocket-Extensions offer, as browsers send it: the server may cap the client's window. */
export const DEFLATE_OFFER = "permessage-deflate; client_max_window_bits";

const WINDOW_BITS = /^(?:[89]|1[0-5])$/;

/**
 * What the server's Sec-WebSocket-Extensions (`header`, null when absent)
 * negotiated: permessage-deflate's parameters, or null for no extension.
 * Throws an Error whose message is the reason for an answer the server may
 * not give: an extension that was not offered (permessage-deflate included,
 * when `offered` is false), permessage-deflate more than once, or a
 * parameter that is unknown, repeated or out of range.
 */
export function acceptedDeflate(header: string | null, offered: boolean): DeflateParams | null {
  let accepted: DeflateParams | null = null;
  // Empty list elements are allowed and ignored (RFC 9110 §5.6.1).
  for (const element of (header ?? "").split(",")) {
    if (trim(element) === "") continue;
    const [name = "", ...parameters] = element.split(";").map(trim);
    if (!TOKEN.test(name)) throw new Error(`Sec-WebSocket-Extensions is malformed: ${shown(trim(element))}`);
    if (name !== "permessage-deflate")
      throw new Error(`the server accepted the extension ${shown(name)}, which was not offered`);
    if (!offered) throw new Error("the server accepted permessage-deflate, which was not offered");
    if (accepted) throw new Error("the server accepted permessage-deflate more than once");
    accepted = deflateParams(parameters);
  }
  return accepted;
}

/** permessage-deflate's parameters in a server's answer, checked; the defaults for those it leaves out. */
function deflateParams(parameters: string[]): DeflateParams {
  const params: DeflateParams = {
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: 15,
    clientMaxWindowBits: 15,
  };
  const seen = new Set<string>();
  for (const parameter of parameters) {
    const equals = parameter.indexOf("=");
    const name = trim(equals === -1 ? parameter : parameter.slice(0, equals));
    const value = equals === -1 ? undefined : unquoted(trim(parameter.slice(equals + 1)));
    if (!TOKEN.test(name)) throw new Error(`permessage-deflate has a malformed parameter: ${shown(parameter)}`);
    if (seen.has(name)) throw new Error(`permessage-deflate has the parameter ${name} more than once`);
    seen.add(name);
    switch (name) {
      case "server_no_context_takeover":
      case "client_no_context_takeover":
        if (value !== undefined)
          throw new Error(`permessage-deflate's ${name} takes no value, but has ${shown(value)}`);
        params[name === "server_no_context_takeover" ? "serverNoContextTakeover" : "clientNoContextTakeover"] = true;
        break;
      // client_max_window_bits may be in the answer because the offer had it (RFC 7692 §7.1.2.2).
      case "server_max_window_bits":
      case "client_max_window_bits":
        if (value === undefined || !WINDOW_BITS.test(value))
          throw new Error(
            `permessage-deflate's ${name} must be a number from 8 to 15, not ${value === undefined ? "missing" : shown(value)}`,
          );
        params[name === "server_max_window_bits" ? "serverMaxWindowBits" : "clientMaxWindowBits"] = Number(value);
        break;
      default:
        throw new Error(`permessage-deflate has the unknown parameter ${shown(name)}`);
    }
  }
  return params;
}

/** A parameter's value as a token: a quoted-string's content, unescaped (RFC 6455 §9.1). */
function unquoted(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"')
    ? value.slice(1, -1).replace(/\\(.)/g, "$1")
    : value;
}

/** Without the optional whitespace (space and tab) around a list element or parameter. */
function trim(value: string): string {
  return value.replace(/^[ \t]+|[ \t]+$/g, "");
}

/** Text from the server as a message shows it: quoted, and cut short. */
function shown(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}
