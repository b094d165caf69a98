// The options of the public entry points, checked in one place: createPinnedFetch, connectTls and getPins (the CLI
// builds its options for them). An option that is misspelt, of the wrong type or out of range is ERR_CONFIG, naming
// the option and what it takes: ignored, it could leave a pinned host unpinned without a word.
import type { ConnectTlsOptions } from "./connect-tls.js";
import { PinnedFetchError } from "./errors.js";
import type { PinnedFetchOptions } from "./fetch.js";
import type { GetPinsOptions } from "./get-pins.js";
import { routeOf } from "./dial/route.js";
import { DEFAULT_LIMITS, type HttpLimits } from "./http/message.js";
import { PinSet, parsePin } from "./pins/pin.js";
import { configuredHost } from "./host.js";
import { PinPolicy, resolvePinningMode } from "./pins/policy.js";
import { type Runtime, selectRuntime } from "./runtime/index.js";
import { ClientCertificates } from "./tls/client-certificates.js";
import { givenIdentity } from "./tls/identity/given.js";
import { TrustContext } from "./tls/trust.js";
import { described, isPlainObject } from "./values.js";

/** One option: whether a value is of its kind, and what it takes, as a message says it. */
interface Option {
  accepts: string;
  valid(value: unknown): boolean;
}

/** The largest WebSocket message by default: `ws`'s maxPayload. */
const DEFAULT_MAX_MESSAGE_SIZE = 100 * 1024 * 1024;

/** The longest a timer can wait: runtimes fire a longer one at once. */
const MAX_TIMER = 2 ** 31 - 1;

const MILLISECONDS: Option = {
  // Written out, not MAX_TIMER.toLocaleString(): the first Intl call loads ICU's locale data, 15-25 ms of CPU at import
  // in Node and Deno (BENCHMARKS.md, "Figures behind design choices").
  accepts: "a number of milliseconds from 1 to 2,147,483,647 (about 24.8 days, the longest a timer waits)",
  valid: (value) => typeof value === "number" && value >= 1 && value <= MAX_TIMER,
};
const BYTES: Option = {
  accepts: "a whole number of bytes from 1",
  valid: (value) => Number.isSafeInteger(value) && (value as number) >= 1,
};
const BOOLEAN: Option = { accepts: "true or false", valid: (value) => typeof value === "boolean" };
const FUNCTION: Option = { accepts: "a function", valid: (value) => typeof value === "function" };
const SIGNAL: Option = { accepts: "an AbortSignal", valid: (value) => value instanceof AbortSignal };
const CA: Option = {
  accepts: "PEM certificates: a string, or a non-empty array of strings",
  valid: (value) =>
    typeof value === "string" ||
    (Array.isArray(value) && value.length > 0 && value.every((pem) => typeof pem === "string")),
};
const RESOLVE: Option = {
  accepts: 'an object of host name to address, such as { "api.example.com": "203.0.113.7" }',
  valid: (value) => isPlainObject(value) && Object.values(value).every((address) => typeof address === "string"),
};
const PROXY: Option = {
  accepts: '"http://host:port" (with user:password@ if the proxy asks), a URL, or "env"',
  valid: (value) => typeof value === "string" || value instanceof URL,
};
const TRUST: Option = {
  accepts: '"webpki" or "pins-only"',
  valid: (value) => value === "webpki" || value === "pins-only",
};
const RUNTIME: Option = {
  accepts: '"node", "deno", "bun", or an adapter: an object with connect and unrefTimer functions',
  valid: (value) =>
    value === "node" ||
    value === "deno" ||
    value === "bun" ||
    (typeof value === "object" &&
      value !== null &&
      typeof (value as Partial<Runtime>).connect === "function" &&
      typeof (value as Partial<Runtime>).unrefTimer === "function"),
};

/** The options every entry point that connects takes. */
const CONNECTING = {
  ca: CA,
  postQuantum: BOOLEAN,
  connectTimeout: MILLISECONDS,
  resolve: RESOLVE,
  proxy: PROXY,
  runtime: RUNTIME,
};

/** What decides how a certificate is judged beyond webpki's checks (see `PinningModeOptions`). */
const PINNING_MODE = {
  trust: TRUST,
  reportOnly: BOOLEAN,
  onPinFailure: FUNCTION,
};

const FETCH_OPTIONS = {
  pins: {
    accepts: 'an object of host or pattern to rule, such as { "api.example.com": ["sha256/…", "sha256/…"] }',
    valid: isPlainObject,
  },
  clientCertificates: {
    accepts: 'an object of host or pattern to client certificate, such as { "api.example.com": { cert, key } }',
    valid: isPlainObject,
  },
  ...CONNECTING,
  ...PINNING_MODE,
  timeout: MILLISECONDS,
  connections: {
    accepts: "a whole number from 1",
    valid: (value: unknown) => Number.isSafeInteger(value) && (value as number) >= 1,
  },
  maxHeaderSize: BYTES,
  maxChunkLineSize: BYTES,
  maxMessageSize: BYTES,
  perMessageDeflate: BOOLEAN,
  http2: BOOLEAN,
  onWarning: FUNCTION,
} satisfies Record<keyof PinnedFetchOptions, Option>;

const CONNECT_TLS_OPTIONS = {
  hostname: {
    accepts: "a host name or IP address, without scheme, port or path",
    valid: (value: unknown) => typeof value === "string",
  },
  port: {
    accepts: "a whole number from 1 to 65535",
    valid: (value: unknown) => Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 65535,
  },
  pins: {
    accepts: 'a non-empty array of pins, such as ["sha256/…", "sha256/…"]',
    valid: (value: unknown) => Array.isArray(value) && value.length > 0,
  },
  ...CONNECTING,
  ...PINNING_MODE,
  alpn: {
    accepts: 'an array of protocol names, each of 1 to 255 bytes, such as ["h2", "http/1.1"]',
    valid: (value: unknown) =>
      Array.isArray(value) &&
      value.every(
        (name) => typeof name === "string" && name.length > 0 && new TextEncoder().encode(name).length <= 255,
      ),
  },
  signal: SIGNAL,
  clientCertificate: {
    accepts: "{ cert, key, passphrase? } (PEM) or { pfx, passphrase? } (PKCS#12)",
    valid: isPlainObject,
  },
} satisfies Record<keyof ConnectTlsOptions, Option>;

const GET_PINS_OPTIONS = { ...CONNECTING, signal: SIGNAL } satisfies Record<keyof GetPinsOptions, Option>;

/** Names people reach for from other APIs, and the option that does that here. */
const KNOWN_AS: Record<string, string> = {
  address: "resolve",
  host: "hostname",
  servername: "hostname",
  timeout: "connectTimeout",
};
/** Options of a rule object, which belong inside `pins`. */
const RULE_OPTIONS = ["includeSubdomains", "expires"];
/** Options of each request, which belong in fetch's second argument. */
const REQUEST_OPTIONS = ["signal", "headers", "method", "redirect", "body"];

/** createPinnedFetch's options, checked and in the forms it uses. */
export function fetchSettings(options: PinnedFetchOptions | undefined) {
  const given = optionsOf<PinnedFetchOptions>("createPinnedFetch", options, FETCH_OPTIONS);
  return {
    mode: resolvePinningMode(given),
    policy: new PinPolicy(given.pins, given.onWarning ?? ((message) => console.warn(`pinned-fetch: ${message}`))),
    clientCertificates: new ClientCertificates(given.clientCertificates),
    trust: new TrustContext(given.ca, given.postQuantum),
    connectTimeout: given.connectTimeout,
    timeout: given.timeout,
    connections: given.connections ?? Infinity,
    http2: given.http2 ?? true,
    limits: {
      maxHeaderSize: given.maxHeaderSize ?? DEFAULT_LIMITS.maxHeaderSize,
      maxChunkLineSize: given.maxChunkLineSize ?? DEFAULT_LIMITS.maxChunkLineSize,
    } satisfies HttpLimits,
    webSocketLimits: {
      maxMessageSize: given.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE,
      perMessageDeflate: given.perMessageDeflate ?? true,
    },
    route: routeOf(given),
    runtime: selectRuntime(given.runtime),
  };
}

/** connectTls's options, checked and in the forms it uses. */
export function connectTlsSettings(options: ConnectTlsOptions) {
  const given = optionsOf<ConnectTlsOptions>("connectTls", options, CONNECT_TLS_OPTIONS, ["hostname", "port"]);
  const hostname = configuredHost(given.hostname, "hostname");
  return {
    hostname,
    port: given.port,
    pins: given.pins && new PinSet(given.pins.map((pin) => parsePin(pin, hostname))),
    mode: resolvePinningMode(given),
    trust: new TrustContext(given.ca, given.postQuantum),
    clientCertificate: given.clientCertificate && givenIdentity(given.clientCertificate, "clientCertificate"),
    alpn: given.alpn,
    signal: given.signal,
    connectTimeout: given.connectTimeout,
    route: routeOf(given),
    runtime: selectRuntime(given.runtime),
  };
}

/** getPins's options, checked and in the forms it uses. */
export function getPinsSettings(options: GetPinsOptions | undefined) {
  const given = optionsOf<GetPinsOptions>("getPins", options, GET_PINS_OPTIONS);
  return {
    trust: new TrustContext(given.ca, given.postQuantum),
    signal: given.signal,
    connectTimeout: given.connectTimeout,
    route: routeOf(given),
    runtime: selectRuntime(given.runtime),
  };
}

/**
 * `options` as an object of known names with valid values (undefined is
 * absent); ERR_CONFIG for anything else, with the name meant where a near
 * one exists.
 */
function optionsOf<T extends object>(
  entry: string,
  options: unknown,
  known: Record<keyof T, Option>,
  required: readonly (keyof T & string)[] = [],
): T {
  if (options === undefined && required.length === 0) return {} as T;
  if (!isPlainObject(options)) {
    throw new PinnedFetchError(
      "ERR_CONFIG",
      `The options of ${entry} must be a plain object, not ${described(options)}.`,
    );
  }
  const table: Record<string, Option> = known;
  for (const name of Object.keys(options)) {
    if (!Object.hasOwn(table, name))
      throw new PinnedFetchError("ERR_CONFIG", unknownOption(entry, name, Object.keys(table)));
  }
  for (const name of required) {
    if (options[name] === undefined)
      throw new PinnedFetchError("ERR_CONFIG", `${entry} needs the option ${name}: ${table[name]!.accepts}.`);
  }
  for (const [name, value] of Object.entries(options)) {
    const option = table[name]!;
    if (value !== undefined && !option.valid(value)) {
      throw new PinnedFetchError("ERR_CONFIG", `${name} must be ${option.accepts}, not ${described(value)}.`);
    }
  }
  return options as T;
}

function unknownOption(entry: string, name: string, known: readonly string[]): string {
  const list = `${entry}'s options are ${known.slice(0, -1).join(", ")} and ${known.at(-1)}.`;
  if (RULE_OPTIONS.includes(name) && known.includes("pins")) {
    return (
      `${entry} has no option ${JSON.stringify(name)}: ${name} is an option of a rule, inside pins, as in ` +
      `pins: { "api.example.com": { pins: ["sha256/…", "sha256/…"], ${name}: … } }.`
    );
  }
  if (REQUEST_OPTIONS.includes(name) && entry === "createPinnedFetch") {
    return `createPinnedFetch has no option ${JSON.stringify(name)}: ${name} is an option of each request, as in fetch(url, { ${name}: … }).`;
  }
  const near = nearName(name, known) ?? (known.includes(KNOWN_AS[name] ?? "") ? KNOWN_AS[name] : undefined);
  return `${entry} has no option ${JSON.stringify(name)}${near ? `; did you mean ${near}?` : "."} ${list}`;
}

/** The known name `name` is likely a misspelling of: the same but for case, or a few edits away. */
function nearName(name: string, known: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  let nearest: string | undefined;
  let nearestDistance = Math.max(1, Math.floor(name.length / 4)) + 1;
  for (const candidate of known) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < nearestDistance) [nearest, nearestDistance] = [candidate, distance];
  }
  return nearest;
}

/** Levenshtein distance: the fewest insertions, deletions and substitutions that turn `a` into `b`. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
