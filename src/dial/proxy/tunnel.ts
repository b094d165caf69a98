import { PinnedFetchError } from "../../errors.js";
import { authority } from "../../host.js";
import { DEFAULT_LIMITS, encodeLatin1, fieldValues, latin1, parseHead, sizeText } from "../../http/message.js";
import type { Socket } from "../../runtime/index.js";
import type { HttpProxy } from "./settings.js";

/** The most a proxy's answer to CONNECT may take: the default limit on a response head. */
const MAX_HEAD = DEFAULT_LIMITS.maxHeaderSize;
const END_OF_HEAD = "\r\n\r\n";
/** The statuses with which a proxy says it could not reach the server. */
const UNREACHED = new Set([502, 503, 504]);

/**
 * Asks the proxy at the other end of `socket` for a tunnel to `host:port`,
 * and resolves once the proxy agreed, leaving the socket to TLS (which runs
 * with the server itself). ERR_PROXY when the proxy refuses, fails or does
 * not answer as an HTTP proxy.
 */
export async function openTunnel(socket: Socket, proxy: HttpProxy, host: string, port: number): Promise<void> {
  const target = authority(host, port);
  const lines = [`CONNECT ${target} HTTP/1.1`, `Host: ${target}`];
  if (proxy.authorization) lines.push(`Proxy-Authorization: ${proxy.authorization}`);
  try {
    await socket.write(new TextEncoder().encode(`${lines.join("\r\n")}${END_OF_HEAD}`));
    const { head, following } = await readHead(socket, proxy);
    // The parser of response heads, so that a proxy's answer is read by the same rules.
    const reply = parseHead(encodeLatin1(head), (detail) =>
      proxyError(
        proxy,
        `did not answer CONNECT as an HTTP proxy does: its answer is not HTTP/1 (${detail}). ` +
          `Check that the proxy URL names an HTTP proxy's port.`,
      ),
    );
    const code = reply.status;
    if (code >= 200 && code < 300) {
      if (following === 0) return;
      throw proxyError(
        proxy,
        `agreed to a tunnel to ${target}, then sent ${following} bytes of its own before TLS began. ` +
          `A TLS server never speaks first, so the proxy is not passing the connection through; check the proxy.`,
      );
    }
    const answer = `${code} ${reply.statusText}`.trim();
    if (code === 407) throw proxyError(proxy, authenticationAdvice(proxy, answer, reply.fields));
    if (UNREACHED.has(code)) {
      throw proxyError(
        proxy,
        `could not open a tunnel to ${target} (${answer}): the proxy could not reach that server. ` +
          `Check the URL's host and port, and that the proxy may reach them.`,
      );
    }
    throw proxyError(
      proxy,
      `refused a tunnel to ${target} (${answer}). Check that the proxy allows CONNECT to that host and port.`,
    );
  } catch (error) {
    throw proxyFailure(proxy, error);
  }
}

/**
 * `error` as ERR_PROXY if it is a socket's ERR_CONNECT (the proxy refused the
 * connection, reset it, or its name did not resolve); any other error as it is.
 */
export function proxyFailure(proxy: HttpProxy, error: unknown): unknown {
  if (!(error instanceof PinnedFetchError && error.code === "ERR_CONNECT")) return error;
  return new PinnedFetchError(
    "ERR_PROXY",
    `The connection to the proxy ${authority(proxy.host, proxy.port)} failed. ${error.message} ` +
      `Check the proxy URL (the proxy option, or HTTPS_PROXY with proxy: "env"), and that the proxy is running and reachable.`,
    { host: proxy.host, cause: error },
  );
}

/** The proxy's answer head, without its final empty line, and how many bytes came after it. */
async function readHead(socket: Socket, proxy: HttpProxy): Promise<{ head: string; following: number }> {
  // One character per byte, so lengths count bytes.
  let received = "";
  for (;;) {
    const chunk = await socket.read();
    if (chunk === null) {
      throw proxyError(
        proxy,
        "closed the connection without answering CONNECT. Check that the proxy URL names an HTTP proxy's port.",
      );
    }
    // Searching only the new bytes (and the end of the old) keeps a head that arrives in tiny pieces linear.
    const searchFrom = Math.max(0, received.length - END_OF_HEAD.length + 1);
    received += latin1(chunk);
    const end = received.indexOf(END_OF_HEAD, searchFrom);
    if (end > MAX_HEAD || (end === -1 && received.length > MAX_HEAD)) {
      throw proxyError(
        proxy,
        `answered CONNECT with a head over ${sizeText(MAX_HEAD)}. Check that the proxy URL names an HTTP proxy's port.`,
      );
    }
    if (end !== -1) return { head: received.slice(0, end), following: received.length - end - END_OF_HEAD.length };
  }
}

/** What to do about a 407, from what the proxy asks for and whether the URL had credentials. */
function authenticationAdvice(proxy: HttpProxy, answer: string, fields: [string, string][]): string {
  const schemes = fieldValues(fields, "proxy-authenticate").map((value) => value.split(/[\s,]/)[0]!);
  if (schemes.length > 0 && !schemes.some((scheme) => scheme.toLowerCase() === "basic")) {
    return (
      `requires ${schemes.join(" or ")} authentication (${answer}), which pinned-fetch does not do: ` +
      `it sends Basic credentials, from user:password@ in the proxy URL.`
    );
  }
  if (proxy.authorization) {
    return `refused the user and password in the proxy URL (${answer}). Check them, percent-encoded where they hold % @ : or /.`;
  }
  return `requires authentication (${answer}). Put the credentials in the proxy URL: http://user:password@${authority(proxy.host, proxy.port)}.`;
}

function proxyError(proxy: HttpProxy, what: string): PinnedFetchError {
  return new PinnedFetchError("ERR_PROXY", `The proxy ${authority(proxy.host, proxy.port)} ${what}`, {
    host: proxy.host,
  });
}
