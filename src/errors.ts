// The one error type pinned-fetch fails with: its codes, the details it
// carries (the pin failure report among them), and what a message may show
// of a URL.

/** What went wrong, precisely enough to act on. */
export type PinnedFetchErrorCode =
  | "ERR_PIN_MISMATCH"
  | "ERR_CERT_UNTRUSTED"
  | "ERR_CERT_EXPIRED"
  | "ERR_CERT_HOSTNAME"
  | "ERR_TLS"
  | "ERR_CLIENT_CERT"
  | "ERR_CONNECT"
  | "ERR_PROXY"
  | "ERR_TIMEOUT"
  | "ERR_HTTP"
  | "ERR_WEBSOCKET"
  | "ERR_CONFIG";

/** One certificate of a verified path, as shown to people. */
export interface CertificateSummary {
  subject: string;
  issuer: string;
  /** Absent for a built-in root, of which only the name and key are bundled. */
  notBefore?: Date;
  notAfter?: Date;
  /** `sha256/<base64>` of the certificate's SubjectPublicKeyInfo. */
  pin: string;
}

/** What `onPinFailure` is told, once per handshake whose certificates missed the pins. */
export interface PinFailureReport {
  host: string;
  port: number;
  /** The pins the host's rules accept. */
  expected: readonly string[];
  /** The verified path the server presented, leaf first, each certificate with its pin. */
  chain: readonly CertificateSummary[];
  time: Date;
  /** Whether the connection was refused (false: report-only, the request went ahead). */
  enforced: boolean;
}

export interface PinnedFetchErrorDetails {
  host?: string;
  expected?: readonly string[];
  chain?: readonly CertificateSummary[];
  cause?: unknown;
}

/**
 * Every failure of pinned-fetch. A `TypeError`, as fetch rejects network
 * errors with one, so code written for fetch keeps working.
 */
export class PinnedFetchError extends TypeError {
  override readonly name = "PinnedFetchError";
  readonly code: PinnedFetchErrorCode;
  /** The host whose certificate or connection failed (for ERR_PROXY, the proxy's). */
  readonly host?: string;
  /** For ERR_PIN_MISMATCH: the pins the host's rule accepts. */
  readonly expected?: readonly string[];
  /** For ERR_PIN_MISMATCH: the verified path the server presented, leaf first. */
  readonly chain?: readonly CertificateSummary[];

  constructor(code: PinnedFetchErrorCode, message: string, details: PinnedFetchErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    if (details.host !== undefined) this.host = details.host;
    if (details.expected !== undefined) this.expected = details.expected;
    if (details.chain !== undefined) this.chain = details.chain;
  }
}

/** What a message may show of a URL: scheme, host, port and path; never credentials, query or fragment. */
export function shownUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}
