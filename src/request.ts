// The URL of a request, checked before anything else: the one given to fetch or getPins, or one a redirect leads to.
import { PinnedFetchError, shownUrl } from "./errors.js";
import { canonicalHost } from "./pins/policy.js";

/**
 * A request's URL, checked before anything is sent, and its host in canonical
 * form, whose rule applies. The caller's URL (given to `caller`) fails with
 * ERR_CONFIG, the URL a redirect leads to (from the URL `caller`) with ERR_HTTP.
 */
export function requestUrl(input: unknown, caller: "fetch" | "getPins" | URL): { url: URL; host: string } {
  const redirectedFrom = caller instanceof URL ? caller : undefined;
  const fail = (problem: string) => {
    const what = redirectedFrom ? `${shownUrl(redirectedFrom)} redirected to a URL that` : `The URL given to ${caller as string}`;
    return new PinnedFetchError(redirectedFrom ? "ERR_HTTP" : "ERR_CONFIG", `${what} ${problem}`);
  };
  let url: URL;
  try {
    url = new URL(input as string, redirectedFrom);
  } catch {
    throw fail("cannot be parsed as a URL.");
  }
  if (url.protocol !== "https:") {
    throw fail(`is not HTTPS (${url.protocol}//${url.host}): pinned-fetch only makes HTTPS requests, which can be pinned.`);
  }
  // The fetch standard's rule: credentials go in headers, never in the URL.
  if (url.username !== "" || url.password !== "") {
    throw fail(`includes credentials (${shownUrl(url)}); a request cannot be made from it. Send them in an Authorization header.`);
  }
  const host = canonicalHost(url.hostname);
  if (host === null) {
    throw fail(`has no valid host name (${JSON.stringify(url.hostname)}: a name has no empty labels, as in "a..b" or ".a").`);
  }
  return { url, host };
}
