import { type CertificateSummary, PinnedFetchError, type PinnedFetchErrorCode } from "../errors.js";
import type { HttpProxy } from "../proxy/settings.js";
import { authority } from "../host.js";
import { openTunnel, proxyFailure } from "../proxy/tunnel.js";
import type { Runtime, Socket } from "../runtime/index.js";
import { abortable, deadline } from "../signals.js";
import {
  Cause,
  type Engine,
  type EngineFailure,
  Failure,
  HANDSHAKE_DONE,
  MAX_WRITE,
  PEER_CLOSED,
  type Step,
  loadEngine,
} from "./engine.js";
import { timersStarved } from "./timer-turns.js";
import { TrustContext } from "./trust.js";
import { HandshakeVerifier, type PinningOptions } from "./verifier.js";

/** undici's default: TCP connect and TLS handshake together. */
export const DEFAULT_CONNECT_TIMEOUT = 10_000;
/** How long close() lets close_notify wait behind unsent data. */
const CLOSE_GRACE = 1_000;
/**
 * Received bytes fed to the engine per call, which bounds its buffers: a
 * socket read of Node or Deno. Bun reads up to 512 KiB at once; the rest of
 * such a read waits here for the next call.
 */
const MAX_FEED = 64 * 1024;

/** A TLS connection as web streams, for HTTP and any other protocol. */
export interface TlsConnection {
  /** Decrypted bytes from the server; ends at its close_notify. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Bytes to encrypt and send; closing it sends close_notify. */
  readonly writable: WritableStream<Uint8Array>;
  /** The protocol agreed through ALPN, or null. */
  readonly alpn: string | null;
  readonly protocol: "TLSv1.3" | "TLSv1.2";
  /** The verified path, leaf first (empty for a resumed session, which is not verified again). */
  readonly peerCertificates: readonly CertificateSummary[];
  /** Sends close_notify if it can and closes the socket. */
  close(): Promise<void>;
}

export interface OpenTlsOptions extends PinningOptions {
  /** In canonical form (see `canonicalHost`). */
  hostname: string;
  port: number;
  /** A proxy to tunnel through with CONNECT; TLS, SNI and verification still use `hostname`. */
  proxy?: HttpProxy | undefined;
  /** Where to connect instead of resolving the host: the proxy's host when there is a proxy, else `hostname`. */
  address?: string | undefined;
  alpn?: readonly string[] | undefined;
  signal?: AbortSignal | undefined;
  connectTimeout?: number | undefined;
}

/** The layer below HTTP: a connection under a shared trust context (whose sessions under the same pins it may resume). */
export async function openTls(runtime: Runtime, trust: TrustContext, options: OpenTlsOptions): Promise<Connection> {
  const { hostname, port, proxy } = options;
  const engine = await loadEngine();
  const config = trust.config(engine, options);
  const timeout = options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT;
  const stage = deadline(options.signal, timeout, () =>
    proxy
      ? `Connecting to ${hostname}:${port} through the proxy ${authority(proxy.host, proxy.port)} timed out after ${timeout} ms ` +
        `(TCP connect, CONNECT and TLS handshake). Check that the proxy and the server are reachable, or raise connectTimeout.`
      : `Connecting to ${hostname}:${port} timed out after ${timeout} ms (TCP connect and TLS handshake). ` +
        `Check that the server is reachable, or raise connectTimeout.`,
  );
  let socket: Socket | undefined;
  let connection: Connection | undefined;
  try {
    stage.signal?.throwIfAborted();
    const peer = proxy ?? { host: hostname, port };
    const connecting = runtime.connect({ host: options.address ?? peer.host, port: peer.port, signal: stage.signal });
    // Bounded whatever the adapter does with the signal; a socket that connects too late is closed.
    socket = await abortable(connecting, stage.signal, () =>
      connecting.then(
        (late) => late.close(),
        () => {},
      ),
    ).catch((error) => {
      throw proxy ? proxyFailure(proxy, error) : error;
    });
    if (proxy) await abortable(openTunnel(socket, proxy, hostname, port), stage.signal, () => socket!.close());
    connection = new Connection(engine, trust, config, socket, options);
    await abortable(connection.handshake, stage.signal, () => connection!.destroy());
    return connection;
  } catch (error) {
    connection?.destroy();
    socket?.close();
    throw error;
  } finally {
    stage.dispose();
  }
}

export class Connection implements TlsConnection {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  /** Settles when the handshake and the pin check are done. */
  readonly handshake: Promise<void>;
  alpn: string | null = null;
  protocol: "TLSv1.3" | "TLSv1.2" = "TLSv1.3";
  readonly #engine: Engine;
  readonly #socket: Socket;
  readonly #host: string;
  readonly #proxy: HttpProxy | undefined;
  /** Whether the caller's `ca` replaces Mozilla's roots, for the words of a certificate failure. */
  readonly #ownRoots: boolean;
  readonly #verifier: HandshakeVerifier;
  readonly #session: number;
  #flags = 0;
  #failure: PinnedFetchError | null = null;
  #destroyed = false;
  #summary: CertificateSummary[] = [];
  /** Plaintext that arrived with the handshake, before anyone read. */
  #early: Uint8Array[] = [];
  /** What the engine has not been fed yet of the last socket read (over MAX_FEED). */
  #unfed: Uint8Array | null = null;

  constructor(engine: Engine, trust: TrustContext, config: number, socket: Socket, options: OpenTlsOptions) {
    this.#engine = engine;
    this.#socket = socket;
    this.#host = options.hostname;
    this.#proxy = options.proxy;
    this.#ownRoots = trust.anchors.length > 0;
    this.#verifier = new HandshakeVerifier(options.hostname, options.port, options, trust.anchors);
    const session = engine.newSession(config, options.hostname, options.alpn ?? [], this.#verifier);
    if (session === null) {
      socket.close();
      throw new PinnedFetchError("ERR_CONFIG", `"${options.hostname}" is not a valid DNS name or IP address for TLS.`);
    }
    this.#session = session;
    this.handshake = this.#handshake();
    // Reading starts after the handshake, which owns the socket until then.
    this.readable = new ReadableStream<Uint8Array>({
      start: () => this.handshake.catch(() => {}),
      pull: (controller) => this.#pull(controller),
      cancel: () => this.destroy(),
    });
    this.writable = new WritableStream<Uint8Array>({
      write: (chunk) => this.#write(chunk),
      close: () => this.#sendCloseNotify(),
      abort: () => this.destroy(),
    });
  }

  /** The server's name, as verified. */
  get host(): string {
    return this.#host;
  }

  /** The DER certificates of the verified path (empty for a resumed session). */
  get verifiedCertificates(): readonly Uint8Array<ArrayBuffer>[] {
    return this.#verifier.certificates;
  }

  /** Empty until `describePeer()` has run. */
  get peerCertificates(): readonly CertificateSummary[] {
    return this.#summary;
  }

  /** Describes the verified path for `peerCertificates` (which needs the X.509 parser loaded). */
  async describePeer(): Promise<void> {
    this.#summary = await this.#verifier.chain();
  }

  /** Whether the connection can still carry a request. */
  get open(): boolean {
    return !this.#destroyed && !this.#failure && !(this.#flags & PEER_CLOSED);
  }

  setKeepsProcessAlive(keep: boolean): void {
    if (!this.#destroyed) this.#socket.setKeepsProcessAlive(keep);
  }

  /**
   * Gives the engine back the room that large reads and writes grew, for a
   * connection about to sit idle: it then holds what a new one holds.
   */
  shrink(): void {
    if (this.#destroyed || this.#failure) return;
    try {
      this.#engine.shrink(this.#session);
    } catch (error) {
      // A broken engine: the connection's failure, for its next read.
      this.#fail(error as PinnedFetchError);
    }
  }

  async #handshake(): Promise<void> {
    await this.#take(this.#engine.receive(this.#session, null));
    while (!(this.#flags & HANDSHAKE_DONE)) {
      const plaintext = await this.#receive(
        "closed the connection during the TLS handshake. Is it a TLS server on that port, and does it accept TLS 1.2 or 1.3?",
      );
      if (plaintext) this.#early.push(plaintext);
    }
    const { version, alpn } = this.#engine.negotiated();
    this.protocol = version === "TLSv1.2" ? "TLSv1.2" : "TLSv1.3";
    this.alpn = alpn;
    this.#verifier.completed();
  }

  /** Feeds the socket's next bytes to the engine and returns the plaintext; `ended` says what an end means. */
  async #receive(ended: string): Promise<Uint8Array | null> {
    // A failure that came with plaintext is the connection's already: it ends the wait, not the next byte.
    this.#assertUsable();
    let chunk = this.#unfed;
    if (!chunk) {
      chunk = await this.#socket.read();
      this.#assertUsable();
      if (chunk === null)
        throw this.#fail(new PinnedFetchError("ERR_TLS", `${this.#host} ${ended}`, { host: this.#host }));
    }
    if (chunk.length <= MAX_FEED) {
      this.#unfed = null;
      return this.#take(this.#engine.receive(this.#session, chunk));
    }
    this.#unfed = chunk.subarray(MAX_FEED);
    return this.#take(this.#engine.receive(this.#session, chunk.subarray(0, MAX_FEED)));
  }

  /**
   * Sends what the engine produced and returns the plaintext. A failure
   * rejects, unless records before the failing one brought plaintext: each
   * record is authenticated on its own, so that plaintext is returned, and the
   * failure, already the connection's, comes at the next read.
   */
  #take(step: Step): Uint8Array | null | Promise<never> {
    if (step.output) this.#socket.write(step.output).catch(() => {});
    this.#flags = step.flags;
    if (!step.failure) return step.plaintext;
    const failed = this.#failed(step.failure);
    // A pin mismatch comes before any plaintext, and its error is made asynchronously.
    if (!step.plaintext || step.failure.code === Failure.PinMismatch) return failed;
    failed.catch(() => {});
    return step.plaintext;
  }

  /** Rejects with the engine's failure as a PinnedFetchError, which becomes the connection's failure. */
  async #failed(failure: EngineFailure): Promise<never> {
    throw this.#fail(failure.code === Failure.PinMismatch ? await this.#pinMismatch() : this.#failureError(failure));
  }

  async #pull(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    try {
      for (;;) {
        const early = this.#early.shift();
        if (early) return controller.enqueue(early);
        if (this.#flags & PEER_CLOSED) return controller.close();
        const starved = timersStarved();
        if (starved) await starved;
        const plaintext = await this.#receive(
          "closed the connection without a TLS close_notify, so what it sent may be truncated.",
        );
        if (plaintext) return controller.enqueue(plaintext);
      }
    } catch (error) {
      this.destroy();
      controller.error(error);
    }
  }

  async #write(chunk: Uint8Array): Promise<void> {
    for (let at = 0; at < chunk.length; at += MAX_WRITE) {
      this.#assertUsable();
      const step = this.#engine.write(this.#session, chunk.subarray(at, at + MAX_WRITE));
      const sent = step.output ? this.#socket.write(step.output) : undefined;
      if (step.failure) {
        sent?.catch(() => {}); // the alert goes out if it can; the failure is what counts
        await this.#failed(step.failure);
      }
      await sent;
    }
  }

  async #sendCloseNotify(): Promise<void> {
    if (this.#destroyed || this.#failure) return;
    const step = this.#engine.close(this.#session);
    if (step.output) await this.#socket.write(step.output);
  }

  /** Sends close_notify, waiting at most CLOSE_GRACE for a congested socket, then closes. */
  async close(): Promise<void> {
    if (this.#destroyed) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE)));
    await Promise.race([this.#sendCloseNotify().catch(() => {}), grace]);
    clearTimeout(timer);
    this.destroy();
  }

  /** Closes the socket at once and releases the engine session. Idempotent. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#socket.close();
    this.#engine.freeSession(this.#session);
  }

  #assertUsable(): void {
    if (this.#failure) throw this.#failure;
    if (this.#destroyed) {
      throw new PinnedFetchError("ERR_TLS", `The connection to ${this.#host} was closed.`, { host: this.#host });
    }
  }

  #fail(error: PinnedFetchError): PinnedFetchError {
    this.#failure ??= error;
    return error;
  }

  /** The engine's failure in words a person can act on; webpki's (or rustls's) own words end the message. */
  #failureError({ code, cause, detail }: EngineFailure): PinnedFetchError {
    const host = this.#host;
    const error = (errorCode: PinnedFetchErrorCode, text: string) =>
      new PinnedFetchError(errorCode, `${text} (${detail})`, { host });
    switch (code) {
      case Failure.Untrusted:
        return error("ERR_CERT_UNTRUSTED", this.#untrusted(cause));
      case Failure.Expired:
        return error(
          "ERR_CERT_EXPIRED",
          `A certificate of ${host} is expired or not yet valid. The server must renew it; if it looks current, check this machine's clock.`,
        );
      case Failure.Hostname:
        return error(
          "ERR_CERT_HOSTNAME",
          `The certificate presented by ${host} is not valid for that name. ` +
            `Use the name the certificate was issued for, or fix the server's certificate.`,
        );
      default:
        return new PinnedFetchError("ERR_TLS", `TLS with ${host} failed: ${detail}.`, { host });
    }
  }

  /** Why the chain of this connection's server is not trusted, and what to do. */
  #untrusted(cause: Cause): string {
    const host = this.#host;
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
        return this.#ownRoots
          ? `The certificate of ${host} does not chain to a trusted root: no certificate given in \`ca\` issued its chain. ` +
              `Pass in \`ca\` the certificate of the CA that did.`
          : `The certificate of ${host} does not chain to a trusted root. If the server uses a private CA, pass that CA's certificate in \`ca\`.`;
      default:
        return `The certificate chain of ${host} could not be verified.`;
    }
  }

  async #pinMismatch(): Promise<PinnedFetchError> {
    const host = this.#host;
    const report = await this.#verifier.report(true);
    this.#verifier.notify(report);
    const { expected, chain } = report;
    const lines = chain.map((cert, index) => {
      const validity = cert.notAfter ? `, valid until ${cert.notAfter.toISOString().slice(0, 10)}` : "";
      return `  ${index + 1}. ${cert.subject} (issued by ${cert.issuer}${validity})\n     ${cert.pin}`;
    });
    const proxy = this.#proxy;
    const through = proxy
      ? ` It went through the proxy ${authority(proxy.host, proxy.port)}: a proxy that inspects TLS presents certificates ` +
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
