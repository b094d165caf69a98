// The words of TLS failures: what the engine reports, and a pin mismatch, each saying what happened and what to do.
// The socket's failures are worded in runtime/failures.ts and the proxy's in proxy/tunnel.ts, each on its floor:
// these need the engine's failure codes (wire.ts), which neither floor below may import, and errors.ts, which the engine
// imports, may not import them either.
import { type PinFailureReport, PinnedFetchError, type PinnedFetchErrorCode } from "../errors.js";
import type { EngineFailure } from "./engine.js";
import type { ClientIdentity } from "./identity/identity.js";
import { Cause, FailureCode } from "./wire.js";

/** What a failure's words depend on beyond the failure. */
export interface FailureContext {
  /** The caller's `ca` replaced Mozilla's roots. */
  ownRoots: boolean;
  /** `postQuantum: false`: the classical key-exchange groups alone were offered. */
  classicalOnly: boolean;
}

/** rustls's words for a handshake_failure alert: what a server sends when it accepts nothing a ClientHello offers, among other reasons. */
const REFUSED_HELLO = "received fatal alert: HandshakeFailure";

/** The engine's failure in words a person can act on; webpki's (or rustls's) own words end the message. */
export function tlsFailureError(
  { code, cause, detail, helloAnswered }: EngineFailure,
  host: string,
  { ownRoots, classicalOnly }: FailureContext,
): PinnedFetchError {
  const error = (errorCode: PinnedFetchErrorCode, text: string) =>
    new PinnedFetchError(errorCode, `${text} (${detail})`, { host });
  switch (code) {
    case FailureCode.Untrusted:
      return error("ERR_CERT_UNTRUSTED", untrusted(cause, host, ownRoots));
    case FailureCode.Expired:
      return error(
        "ERR_CERT_EXPIRED",
        `A certificate of ${host} is expired or not yet valid. The server must renew it; if it looks current, check this machine's clock.`,
      );
    case FailureCode.Hostname:
      return error(
        "ERR_CERT_HOSTNAME",
        `The certificate presented by ${host} is not valid for that name. ` +
          `Use the name the certificate was issued for, or fix the server's certificate.`,
      );
    default:
      if (classicalOnly && !helloAnswered && detail === REFUSED_HELLO) {
        return new PinnedFetchError(
          "ERR_TLS",
          `TLS with ${host} failed: the server refused the handshake (${detail}). \`postQuantum: false\` left out ` +
            `the post-quantum key exchange X25519MLKEM768, and a server that accepts only that group refuses the ` +
            `classical ones so. Remove \`postQuantum: false\` (the CLI's --no-post-quantum) to offer it.`,
          { host },
        );
      }
      return new PinnedFetchError("ERR_TLS", `TLS with ${host} failed: ${detail}.`, { host });
  }
}

/** Why the chain of `host` is not trusted, and what to do; `ownRoots`: the caller's `ca` replaced Mozilla's roots. */
function untrusted(cause: Cause, host: string, ownRoots: boolean): string {
  const broken = `The server's certificates are misconfigured; no option of pinned-fetch makes them acceptable.`;
  switch (cause) {
    case Cause.BadSignature:
      return (
        `A signature from ${host} does not verify: a certificate on its chain was altered or not signed by the CA it ` +
        `names, or the handshake was not signed with the certificate's key. If you trust a private CA that was since ` +
        `made again under the same name, pass its current certificate in \`ca\`; otherwise the server is ` +
        `misconfigured, or the connection is being tampered with.`
      );
    case Cause.NameConstraints:
      return (
        `The certificate of ${host} names a host that a CA above it may not issue for: the CA's name constraints ` +
        `exclude it. The server needs a certificate from a CA allowed to issue for that name.`
      );
    case Cause.NotCa:
      return (
        `A certificate on the chain of ${host} acts as a CA but is not one: it is marked CA:FALSE, or has no ` +
        `basicConstraints extension. ${broken} The CA must issue its intermediate with basicConstraints CA:TRUE, or the ` +
        `server is sending a certificate in the wrong place.`
      );
    case Cause.CaAsLeaf:
      return (
        `The certificate of ${host} is a CA certificate (CA:TRUE), which cannot serve as a server's own certificate. ` +
        `The server needs a certificate issued for it by that CA; or, to trust this exact certificate as it is, pass it in \`ca\`.`
      );
    case Cause.KeyUsage:
      return (
        `A certificate on the chain of ${host} may not be used to authenticate TLS servers: its extended key usage ` +
        `lacks serverAuth. ${broken} It needs certificates issued for server authentication.`
      );
    case Cause.UnsupportedAlgorithm:
      return (
        `A certificate on the chain of ${host} is signed with an algorithm that is refused as weak or not supported ` +
        `(such as SHA-1), or that does not fit its issuer's key. ${broken} Its CA must sign it with SHA-256 or stronger.`
      );
    case Cause.Unparsable:
      return (
        `A certificate from ${host} cannot be parsed: it, or one of its extensions (such as its subject alternative ` +
        `names), is not valid DER. ${broken}`
      );
    case Cause.UnsupportedExtension:
      return (
        `A certificate on the chain of ${host} cannot be verified: it has an extension marked critical that is not ` +
        `supported, or it is not an X.509 version 3 certificate. ${broken}`
      );
    case Cause.PathTooLong:
      return (
        `The chain of ${host} is longer than allowed: more than 6 intermediates, or more than a CA's path length ` +
        `constraint permits below it. ${broken}`
      );
    case Cause.TooComplex:
      return (
        `The certificate chain of ${host} is too complex to verify. Path building is bounded so that a server cannot ` +
        `stall the client (see the README); a real server sends its certificate and a few intermediates, so this one ` +
        `is misconfigured or hostile.`
      );
    case Cause.Distrusted:
      return `A certificate on the chain of ${host} has a key that is explicitly distrusted. ${broken}`;
    case Cause.UnknownIssuer:
      return ownRoots
        ? `The certificate of ${host} does not chain to a trusted root: no certificate given in \`ca\` issued its chain. ` +
            `Pass in \`ca\` the certificate of the CA that did.`
        : `The certificate of ${host} does not chain to a trusted root. If the server uses a private CA, pass that CA's certificate in \`ca\`.`;
    default:
      return `The certificate chain of ${host} could not be verified.`;
  }
}

/**
 * The failure of a handshake whose verified path missed the pins of `report`; `proxy` (`host:port`) is the proxy
 * the connection went through, if any.
 */
export function pinMismatchError(
  { host, expected, chain }: PinFailureReport,
  proxy: string | undefined,
): PinnedFetchError {
  const lines = chain.map((cert, index) => {
    const validity = cert.notAfter ? `, valid until ${cert.notAfter.toISOString().slice(0, 10)}` : "";
    return `  ${index + 1}. ${cert.subject} (issued by ${cert.issuer}${validity})\n     ${cert.pin}`;
  });
  const through = proxy
    ? ` It went through the proxy ${proxy}: a proxy that inspects TLS presents certificates ` +
      `of its own, so ask for ${host} to be exempted from inspection.`
    : "";
  return new PinnedFetchError(
    "ERR_PIN_MISMATCH",
    `Certificate pin mismatch for ${host}: no certificate on the verified path matches one of the pins ` +
      `(${expected.join(", ")}). The server presented, leaf first:\n${lines.join("\n")}\n` +
      `Nothing was sent. If ${host} changed its keys on purpose, add the new pin${backupAdvice(chain.length)}; ` +
      `if not, this connection may be intercepted.${through}`,
    { host, expected, chain },
  );
}

/** Which pin makes a good backup, by what the path holds: leaf, intermediates and anchor, or the leaf alone. */
function backupAdvice(pathLength: number): string {
  if (pathLength >= 3) return ` (an intermediate's pin makes a good backup)`;
  if (pathLength === 2)
    return ` (this path has no intermediate: only the leaf's pin and its CA's can match, and the CA's makes a good backup)`;
  if (pathLength === 1) {
    return ` (only the leaf's own pin can match here, as nothing else vouches for it: the key of its next certificate, made ahead, makes a good backup)`;
  }
  return "";
}

/** What an alert about a client certificate that was sent means, and what to do. */
const REFUSALS: Record<string, string> = {
  unknown_ca:
    "The server does not trust the CA that issued it: use a certificate from a CA it trusts, and put any intermediate certificates after the leaf in cert.",
  certificate_expired: "The server finds it expired or not yet valid: renew it, or check the clocks.",
  certificate_revoked: "It has been revoked: get a new one.",
  access_denied: "The server knows it but does not give it access: ask the server's operator.",
};

/**
 * A server that asked for a client certificate and ended the handshake with `alert`, or closed the connection
 * without one (null) before answering: none was configured for `host` (`configured`), the configured one could not
 * be offered, or the server refused the one `sent`.
 */
export function clientCertificateError(
  alert: string | null,
  host: string,
  configured: ClientIdentity | undefined,
  sent: ClientIdentity | undefined,
): PinnedFetchError {
  const ended =
    alert === null
      ? "it closed or reset the connection without a TLS alert and without answering"
      : `it ended the handshake with the TLS alert ${alert}`;
  let text: string;
  if (sent) {
    const refused = alert === null ? "most likely refused" : "refused";
    text =
      `${host} ${refused} the client certificate ${sent.subject} (${sent.label}): ${ended}. ` +
      ((alert && REFUSALS[alert]) ??
        "Check that the server trusts its CA (send any intermediates after the leaf in cert) and that it is a " +
          "client certificate (extended key usage clientAuth).");
  } else if (configured) {
    text =
      `${host} asked for a client certificate, but ${configured.label} (${configured.subject}) could not be offered: ` +
      `the server accepts no signature algorithm its ${configured.keyType} key can make, and ${ended}. ` +
      `Use a certificate with an RSA or ECDSA P-256 key.`;
  } else {
    text =
      `${host} asked for a client certificate, and none is configured for it: ${ended}. Give one in ` +
      `clientCertificates under a pattern that covers ${host} (clientCertificate for connectTls, --cert for the CLI).`;
  }
  return new PinnedFetchError("ERR_CLIENT_CERT", text, { host });
}
