import { type PinFailureReport, PinnedFetchError } from "../errors.js";
import { type HostPattern, hostPattern, patternCovers } from "../host.js";
import { described, isPlainObject } from "../values.js";
import { type Pin, PinSet, parsePin } from "./pin.js";

/** A host's rule as options give it: its pins, or its pins with scope and expiry. */
export type PinRule =
  | readonly string[]
  | {
      pins: readonly string[];
      /** The host and every name below it (the same as a `**.` pattern). */
      includeSubdomains?: boolean;
      /** After this moment the rule is not enforced, so that an old release never locks itself out. */
      expires?: Date | string;
    };

interface Rule {
  scope: HostPattern;
  pins: readonly Pin[];
  expires: Date | undefined;
}

/** Hosts whose pins PinPolicy remembers at once. */
const HOSTS_REMEMBERED = 256;

/**
 * Which pins each host must match. A host with no rule in force is verified
 * as any HTTPS client would (trusted path, name, validity) but not pinned.
 * When several rules cover a host, any of their pins will do, as in OkHttp.
 */
export class PinPolicy {
  readonly #rules: Rule[] = [];
  /** The PinSet of each combination of rules in force met so far, by their indices: at most one per subset of the rules. */
  readonly #sets = new Map<string, PinSet>();
  /** Each recent host's answer, and the span of time in which it holds: no rule covering the host starts or stops in it. */
  readonly #byHost = new Map<string, { pins: PinSet | undefined; from: number; until: number }>();

  /**
   * Throws ERR_CONFIG, naming the culprit, for a malformed rule, pattern, pin
   * or expiry; tells `warn` about each rule that has expired already, and each
   * with a single pin (no backup) or only SHA-1 pins.
   */
  constructor(rules: Readonly<Record<string, PinRule>> = {}, warn: (message: string) => void = () => {}) {
    for (const [pattern, rule] of Object.entries(rules)) {
      if (!Array.isArray(rule) && !isPlainObject(rule)) {
        throw new PinnedFetchError(
          "ERR_CONFIG",
          `pins["${pattern}"] must be a list of pins or { pins, includeSubdomains?, expires? }, not ${described(rule)}.`,
        );
      }
      const pins: unknown = Array.isArray(rule) ? rule : rule.pins;
      if (!Array.isArray(pins) || pins.length === 0) {
        throw new PinnedFetchError(
          "ERR_CONFIG",
          `pins["${pattern}"] has no pins. Give at least one "sha256/<base64>" pin, or remove the host.`,
        );
      }
      const options = Array.isArray(rule) ? {} : ruleOptions(pattern, rule);
      const expires = expiryOf(pattern, options.expires);
      this.#rules.push({
        scope: hostPattern(pattern, "pins", options.includeSubdomains === true),
        pins: pins.map((pin: string) => parsePin(pin, pattern)),
        expires,
      });
      if (expires && expires.getTime() <= Date.now()) {
        warn(
          `pins["${pattern}"] expired on ${expires.toISOString()} (its expires), so it is not enforced: ${pattern} is ` +
            `verified but not pinned. Give it a later expires, or remove the rule.`,
        );
        continue;
      }
      if (this.#rules.at(-1)!.pins.every((pin) => pin.kind.endsWith("sha1"))) {
        warn(`pins["${pattern}"] has only SHA-1 pins. SHA-1 is broken for collisions; prefer sha256/ pins.`);
      }
      if (pins.length === 1) {
        warn(
          `pins["${pattern}"] has a single pin and no backup: if that key changes, every request to it fails. ` +
            `Add a second pin, for example the intermediate CA's.`,
        );
      }
    }
  }

  /**
   * The pins `host` (canonical, see `canonicalHost`) must match at `now`, or undefined when no rule is in force.
   * The same rules in force give the same PinSet, made once.
   */
  pinsFor(host: string, now = Date.now()): PinSet | undefined {
    const known = this.#byHost.get(host);
    if (known && now >= known.from && now < known.until) return known.pins;
    let inForce = "";
    let until = Infinity;
    this.#rules.forEach((rule, index) => {
      if (!patternCovers(rule.scope, host)) return;
      const expires = rule.expires?.getTime() ?? Infinity;
      if (expires <= now) return;
      inForce += `${index},`;
      until = Math.min(until, expires);
    });
    const pins = this.#setOf(inForce);
    // Every request asks: a host's answer is remembered (for a few hundred hosts at a time) until a rule of it expires.
    if (this.#byHost.size >= HOSTS_REMEMBERED) this.#byHost.clear();
    this.#byHost.set(host, { pins, from: now, until });
    return pins;
  }

  /** The PinSet of the rules at the indices `inForce` lists (`"0,3,"`), or undefined for none. */
  #setOf(inForce: string): PinSet | undefined {
    if (inForce === "") return undefined;
    let pins = this.#sets.get(inForce);
    if (!pins) {
      pins = new PinSet(
        inForce
          .split(",")
          .slice(0, -1)
          .flatMap((index) => this.#rules[Number(index)]!.pins),
      );
      this.#sets.set(inForce, pins);
    }
    return pins;
  }
}

/** The options that choose the pinning mode: how certificates are judged beyond webpki's checks. */
export interface PinningModeOptions {
  /** `"webpki"` (default): a trusted path, and the pins on it. `"pins-only"`: the leaf's pin alone establishes trust. */
  trust?: "webpki" | "pins-only";
  /** Accept a trusted path that misses the pins, and tell `onPinFailure` (for a rollout). */
  reportOnly?: boolean;
  /** Told of every pin failure, enforced or report-only, once per handshake. */
  onPinFailure?: (report: PinFailureReport) => void;
}

/** The pinning mode as the verifier applies it, resolved from `PinningModeOptions`. */
export interface PinningMode {
  /** The leaf's pin alone establishes trust (its name and validity are still checked). */
  pinsOnly: boolean;
  /** A trusted path that misses the pins is accepted, and reported. */
  reportOnly: boolean;
  /** Told of every pin failure, enforced or report-only, once per handshake. */
  onPinFailure: ((report: PinFailureReport) => void) | undefined;
}

/** Checks the options together (each is of its type already); ERR_CONFIG for a combination that would be unsafe or do nothing. */
export function resolvePinningMode({ trust, reportOnly, onPinFailure }: PinningModeOptions): PinningMode {
  if (reportOnly && trust === "pins-only") {
    throw new PinnedFetchError(
      "ERR_CONFIG",
      'reportOnly cannot be combined with trust: "pins-only": there the pin is the only thing that makes the server ' +
        "trusted, so a mismatch cannot be let through. Roll out with the default trust first.",
    );
  }
  if (reportOnly && !onPinFailure) {
    throw new PinnedFetchError(
      "ERR_CONFIG",
      "reportOnly needs onPinFailure, which is told of each failure it lets through.",
    );
  }
  return { pinsOnly: trust === "pins-only", reportOnly: reportOnly === true, onPinFailure };
}

/** The options of a rule object; ERR_CONFIG for a key or value that would otherwise be silently ignored. */
function ruleOptions(pattern: string, rule: object): { includeSubdomains?: boolean; expires?: unknown } {
  for (const key of Object.keys(rule)) {
    if (key !== "pins" && key !== "includeSubdomains" && key !== "expires") {
      throw new PinnedFetchError(
        "ERR_CONFIG",
        `pins["${pattern}"] has an unknown option "${key}" (the options are pins, includeSubdomains and expires).`,
      );
    }
  }
  const { includeSubdomains } = rule as { includeSubdomains?: unknown };
  if (includeSubdomains !== undefined && typeof includeSubdomains !== "boolean") {
    throw new PinnedFetchError("ERR_CONFIG", `pins["${pattern}"].includeSubdomains must be true or false.`);
  }
  return rule as { includeSubdomains?: boolean; expires?: unknown };
}

/**
 * `YYYY-MM-DD` (the start of that day, UTC) or a full ISO 8601 timestamp with
 * its time zone (`2027-06-30T12:00:00Z`, `…+02:00`), read the same way in
 * every runtime. Date.parse reads much else, differently per runtime: "1" as
 * 2001, "June 30" as a date in 2001.
 */
const ISO_MOMENT = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|([+-])(\d{2}):(\d{2})))?$/;

function expiryOf(pattern: string, expires: unknown): Date | undefined {
  if (expires === undefined) return undefined;
  const date =
    expires instanceof Date ? new Date(expires.getTime()) : typeof expires === "string" ? isoMoment(expires) : null;
  if (date === null || Number.isNaN(date.getTime())) {
    throw new PinnedFetchError(
      "ERR_CONFIG",
      `pins["${pattern}"].expires must be a Date, an ISO 8601 date such as "2027-06-30", or a timestamp with its time ` +
        `zone such as "2027-06-30T12:00:00Z", not ${described(expires)}.`,
    );
  }
  return date;
}

function isoMoment(text: string): Date | null {
  const match = ISO_MOMENT.exec(text);
  if (!match) return null;
  const [year, month, day, hour, minute, second, offsetHours, offsetMinutes] = [1, 2, 3, 4, 5, 6, 10, 11].map((group) =>
    Number(match[group] ?? 0),
  );
  const date = new Date(0);
  date.setUTCFullYear(year!, month! - 1, day!);
  date.setUTCHours(hour!, minute!, second!, Number((match[7] ?? "").padEnd(3, "0").slice(0, 3)));
  // The setters carry over (February 30 is March 2): only a moment that reads back as written is one.
  const asWritten =
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month! - 1 &&
    date.getUTCDate() === day &&
    date.getUTCHours() === hour &&
    date.getUTCMinutes() === minute &&
    date.getUTCSeconds() === second;
  if (!asWritten || offsetHours! > 23 || offsetMinutes! > 59) return null;
  const offset = (match[9] === "-" ? -1 : 1) * (offsetHours! * 60 + offsetMinutes!);
  return new Date(date.getTime() - offset * 60_000);
}
