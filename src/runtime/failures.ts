import { PinnedFetchError } from "../errors.js";

/** Plain words for the socket error codes that Node, Deno and Bun share. */
const REASONS: Record<string, string> = {
  ECONNREFUSED: "the connection was refused (is the server running on that port?)",
  ECONNRESET: "the connection was reset by the peer",
  ECONNABORTED: "the connection was aborted",
  ENOTFOUND: "the host name could not be resolved (check the URL or your DNS, or map it with `resolve`)",
  EAI_AGAIN: "the host name could not be resolved right now (DNS lookup failed temporarily)",
  ETIMEDOUT: "the connection attempt timed out at the network level",
  EHOSTUNREACH: "the host is unreachable",
  ENETUNREACH: "the network is unreachable",
  EPIPE: "the peer closed the connection while we were sending",
};

/** A runtime's socket error as ERR_CONNECT, in the same words in every runtime; `code` names an error that has none. */
export function connectError(
  host: string,
  port: number,
  error: unknown,
  code: unknown = (error as { code?: unknown } | null)?.code,
): PinnedFetchError {
  const reason =
    (typeof code === "string" && REASONS[code]) || String((error as { message?: unknown } | null)?.message ?? error);
  return new PinnedFetchError("ERR_CONNECT", `Connection to ${host}:${port} failed: ${reason}.`, {
    host,
    cause: error,
  });
}

export function closedError(): PinnedFetchError {
  return new PinnedFetchError("ERR_CONNECT", "The connection is already closed.");
}
