import type { CertificateSummary, PinFailureReport } from "../errors.js";
import { certificateValidity } from "../pins/certificate.js";
import { sameBytes } from "../encoding.js";
import { type VerifiedPath, pathMatches } from "../pins/path.js";
import type { PinSet } from "../pins/pin.js";
import type { PinningMode } from "../pins/policy.js";
import type { SessionVerifier } from "./engine.js";
import { Verdict } from "./wire.js";

/** How one handshake's certificates are judged beyond webpki's checks: the pinning mode and the pins in force. */
export interface HandshakePinning extends Partial<PinningMode> {
  pins?: PinSet | undefined;
  /** Told of the certificates as the server sent them (getPins). */
  onPresented?: ((certificates: readonly Uint8Array<ArrayBuffer>[]) => void) | undefined;
}

/**
 * The pin verifier of one handshake, asked by the engine: pins are decided on
 * verified paths only, or on the leaf alone when it is trusted by itself.
 */
export class HandshakeVerifier implements SessionVerifier {
  readonly #host: string;
  readonly #port: number;
  readonly #pinning: HandshakePinning;
  /** The caller's `ca` certificates (DER). */
  readonly #anchors: readonly Uint8Array<ArrayBuffer>[];
  /** The path (or leaf) the pins were last decided on. */
  #decided: VerifiedPath | undefined;
  /** The report of a path accepted in report-only, made at once and told when the handshake completes. */
  #unreported: Promise<PinFailureReport> | undefined;

  constructor(host: string, port: number, pinning: HandshakePinning, anchors: readonly Uint8Array<ArrayBuffer>[]) {
    this.#host = host;
    this.#port = port;
    this.#pinning = pinning;
    this.#anchors = anchors;
  }

  presented(certificates: Uint8Array<ArrayBuffer>[]): Verdict {
    const { pins, pinsOnly, reportOnly, onPresented } = this.#pinning;
    onPresented?.(certificates);
    const leaf = certificates[0]!;
    // A certificate given in `ca` is trusted as it is, even with CA:TRUE (as Dart's setTrustedCertificates allows).
    const givenAsTrusted = this.#anchors.some((anchor) => sameBytes(anchor, leaf));
    if (!givenAsTrusted && !(pins && pinsOnly))
      return pins && reportOnly ? Verdict.ContinueReportOnly : Verdict.Continue;

    const { notBefore, notAfter } = certificateValidity(leaf);
    const now = Date.now();
    if (now < notBefore.getTime() || now > notAfter.getTime()) return Verdict.LeafNotValidNow;
    this.#decided = { certificates: [leaf] };
    if (!pins || pins.matchesCertificate(leaf)) return Verdict.LeafTrusted;
    // Only a leaf given as trusted may be let through in report-only: under pins-only nothing else vouches for it.
    if (!reportOnly || !givenAsTrusted) return Verdict.LeafMismatch;
    this.reported(this.#decided);
    return Verdict.LeafTrusted;
  }

  path(path: VerifiedPath): boolean {
    this.#decided = path;
    return !this.#pinning.pins || pathMatches(path, this.#pinning.pins, this.#anchors);
  }

  /** Report-only: `path` missed the pins but is accepted; reported once the handshake completes (see `completed`). */
  reported(path: VerifiedPath): void {
    this.#decided = path;
    this.#unreported = this.report(false);
  }

  /**
   * The handshake completed: a path accepted in report-only is reported now,
   * so that a certificate that then failed its name, or a handshake that
   * failed later, is never reported as let through.
   */
  completed(): void {
    if (this.#unreported) this.notify(this.#unreported);
    this.#unreported = undefined;
  }

  /** Tells `onPinFailure`, after the engine call returns: the caller's code never runs inside the handshake. */
  notify(report: PinFailureReport | Promise<PinFailureReport>): void {
    const { onPinFailure } = this.#pinning;
    if (onPinFailure) void Promise.resolve(report).then((ready) => deliver(onPinFailure, ready));
  }

  /** The DER certificates of the last path decided (without a built-in anchor, whose DER is not known). */
  get certificates(): readonly Uint8Array<ArrayBuffer>[] {
    return this.#decided?.certificates ?? [];
  }

  /**
   * The path for people, leaf first; empty before verification, for a
   * resumed session, or if a certificate webpki accepted cannot be described.
   */
  async chain(path = this.#decided): Promise<CertificateSummary[]> {
    if (!path) return [];
    try {
      const { summarizePath } = await import("../pins/summary.js");
      return summarizePath(path, this.#anchors);
    } catch {
      return [];
    }
  }

  /** A pin failure on the last path decided. */
  async report(enforced: boolean): Promise<PinFailureReport> {
    const time = new Date();
    const chain = await this.chain();
    return { host: this.#host, port: this.#port, expected: this.#pinning.pins?.texts ?? [], chain, time, enforced };
  }
}

/** A reporter that throws or rejects must not take the process down with it. */
function deliver(onPinFailure: (report: PinFailureReport) => unknown, report: PinFailureReport): void {
  const complain = (error: unknown) => console.error("pinned-fetch: onPinFailure failed:", error);
  try {
    const result = onPinFailure(report);
    if (result instanceof Promise) result.catch(complain);
  } catch (error) {
    complain(error);
  }
}
