import { type CertificateSummary, PinnedFetchError } from "../errors.js";
import type { Socket } from "../runtime/index.js";
import { abortable } from "../signals.js";
import { type Engine, type EngineFailure, MAX_WRITE, type Step, loadEngine } from "./engine.js";
import { type FailureContext, clientCertificateError, pinMismatchError, tlsFailureError } from "./failures.js";
import type { ClientIdentity } from "./identity/identity.js";
import { overdueTimerTurn, schedule } from "./timer-turns.js";
import { TrustContext } from "./trust.js";
import { HandshakeVerifier, type HandshakePinning } from "./verifier.js";
import { FailureCode, Flag, Groups } from "./wire.js";

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
  /**
   * The key-exchange group agreed: "X25519MLKEM768" (post-quantum hybrid), "X25519", "secp256r1" or "secp384r1";
   * null where the handshake made no key exchange (a resumed TLS 1.2 session).
   */
  readonly keyExchange: string | null;
  /** The verified path, leaf first (empty for a resumed session, which is not verified again). */
  readonly peerCertificates: readonly CertificateSummary[];
  /** Sends close_notify if it can and closes the socket. */
  close(): Promise<void>;
}

export interface TlsOptions extends HandshakePinning {
  /** In canonical form (see `canonicalHost`): sent as SNI and verified. */
  hostname: string;
  port: number;
  alpn?: readonly string[] | undefined;
  /** The proxy (`host:port`) whose tunnel the socket goes through, for the words of a pin mismatch. */
  throughProxy?: string | undefined;
  /** Offered to the server if it asks for a client certificate; none is offered without it. */
  clientIdentity?: ClientIdentity | undefined;
}

/**
 * Readies TLS under `trust` for a connection by `options` (the engine, and its config for their pin decision and
 * client identity), and returns what starts it on a connected socket and resolves once the handshake and the pin
 * check have passed. Readied before dialing, so that a `ca` or client key the engine rejects fails before anything
 * connects, and compiling the engine does not count against the connect deadline. The connection owns the socket:
 * a failure closes it.
 */
export async function readyTls(
  trust: TrustContext,
  options: TlsOptions,
): Promise<(socket: Socket, signal: AbortSignal | undefined) => Promise<Connection>> {
  const engine = await loadEngine();
  trust.config(engine, options, options.clientIdentity);
  return async (socket, signal) => {
    let connection: Connection | undefined;
    try {
      // Asked again, in the turn the session is made: a close() while dialing may have freed the config.
      connection = new Connection(
        engine,
        trust,
        trust.config(engine, options, options.clientIdentity),
        socket,
        options,
      );
      await abortable(connection.handshake, signal, () => connection!.destroy());
      return connection;
    } catch (error) {
      connection?.destroy();
      socket.close();
      throw error;
    }
  };
}

export class Connection implements TlsConnection {
  /** Settles when the handshake and the pin check are done. */
  readonly handshake: Promise<void>;
  alpn: string | null = null;
  protocol: "TLSv1.3" | "TLSv1.2" = "TLSv1.3";
  keyExchange: string | null = null;
  readonly #engine: Engine;
  readonly #socket: Socket;
  readonly #host: string;
  readonly #throughProxy: string | undefined;
  /** What the words of a failure depend on. */
  readonly #failureContext: FailureContext;
  readonly #verifier: HandshakeVerifier;
  readonly #clientIdentity: ClientIdentity | undefined;
  readonly #session: number;
  #flags = 0;
  #failure: PinnedFetchError | null = null;
  #destroyed = false;
  #summary: CertificateSummary[] = [];
  /** Plaintext that arrived with the handshake, before anyone read. */
  #handshakePlaintext: Uint8Array[] = [];
  /** Whether the server has sent any application data. */
  #answered = false;
  /** What the engine has not been fed yet of the last socket read (over MAX_FEED). */
  #unfed: Uint8Array | null = null;
  /** The client's last handshake flight (its Finished, after its certificate if it sent one), until it is sent. */
  #heldFlight: Uint8Array | null = null;
  /**
   * The last of the writes that wait their turn, since one over MAX_WRITE began (it goes out in pieces): a write
   * meanwhile waits behind it, so that chunks stay whole and in order. Null once they have all settled.
   */
  #longWrite: Promise<void> | null = null;
  #readable: ReadableStream<Uint8Array> | undefined;
  #writable: WritableStream<Uint8Array> | undefined;

  constructor(engine: Engine, trust: TrustContext, config: number, socket: Socket, options: TlsOptions) {
    this.#engine = engine;
    this.#socket = socket;
    this.#host = options.hostname;
    this.#throughProxy = options.throughProxy;
    this.#failureContext = { ownRoots: trust.anchors.length > 0, classicalOnly: trust.groups === Groups.ClassicalOnly };
    this.#clientIdentity = options.clientIdentity;
    this.#verifier = new HandshakeVerifier(options.hostname, options.port, options, trust.anchors);
    const session = engine.newSession(config, options.hostname, options.alpn ?? [], this.#verifier);
    if (session === null) {
      socket.close();
      throw new PinnedFetchError("ERR_CONFIG", `"${options.hostname}" is not a valid DNS name or IP address for TLS.`);
    }
    this.#session = session;
    this.handshake = this.#handshake();
  }

  /** The connection's bytes as a stream, for `connectTls`; this package's protocols use `read` and `write`. */
  get readable(): ReadableStream<Uint8Array> {
    // Reading starts after the handshake, which owns the socket until then.
    return (this.#readable ??= new ReadableStream<Uint8Array>({
      start: () => this.handshake.catch(() => {}),
      pull: async (controller) => {
        try {
          const plaintext = await this.read();
          if (plaintext) controller.enqueue(plaintext);
          else controller.close();
        } catch (error) {
          controller.error(error);
        }
      },
      cancel: () => this.destroy(),
    }));
  }

  get writable(): WritableStream<Uint8Array> {
    return (this.#writable ??= new WritableStream<Uint8Array>({
      write: (chunk) => this.write(chunk),
      close: () => this.end(),
      abort: () => this.destroy(),
    }));
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
    return !this.#destroyed && !this.#failure && !(this.#flags & Flag.PeerClosed);
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
    await this.#applyStep(this.#engine.receive(this.#session, null));
    while (!(this.#flags & Flag.HandshakeDone)) {
      const plaintext = await this.#receive(
        "closed the connection during the TLS handshake. Is it a TLS server on that port, and does it accept TLS 1.2 or 1.3?",
      );
      if (plaintext) this.#handshakePlaintext.push(plaintext);
    }
    this.#verifier.completed();
  }

  /** Feeds the socket's next bytes to the engine and returns the plaintext; `ended` says what an end means. */
  async #receive(ended: string): Promise<Uint8Array | null> {
    // A failure that came with plaintext is the connection's already: it ends the wait, not the next byte.
    this.#assertUsable();
    let chunk = this.#unfed;
    if (!chunk) {
      // A server that refuses a client certificate may close while the request is unread: a reset, then.
      chunk = await this.#socket.read().catch((error: unknown) => {
        const refused = this.#silentClose();
        throw refused ? this.#fail(refused) : error;
      });
      this.#assertUsable();
      if (chunk === null)
        throw this.#fail(
          this.#silentClose() ?? new PinnedFetchError("ERR_TLS", `${this.#host} ${ended}`, { host: this.#host }),
        );
    }
    if (chunk.length <= MAX_FEED) {
      this.#unfed = null;
      return this.#applyStep(this.#engine.receive(this.#session, chunk));
    }
    this.#unfed = chunk.subarray(MAX_FEED);
    return this.#applyStep(this.#engine.receive(this.#session, chunk.subarray(0, MAX_FEED)));
  }

  /**
   * Applies one step of the engine: sends what it produced (holding the
   * handshake's last flight, see `#holdFlight`), keeps its flags, and returns
   * the plaintext. A failure
   * rejects, unless records before the failing one brought plaintext: each
   * record is authenticated on its own, so that plaintext is returned, and the
   * failure, already the connection's, comes at the next read.
   */
  #applyStep(step: Step): Uint8Array | null | Promise<never> {
    const completes = (step.flags & Flag.HandshakeDone) !== 0 && !(this.#flags & Flag.HandshakeDone);
    if (step.output) {
      if (completes && !step.failure) this.#holdFlight(step.output);
      else this.#send(step.output).catch(() => {});
    }
    // Read in the turn of the call that completed the handshake: the engine's result is shared by every session,
    // and another connection's call may replace it before this one's next await returns.
    if (completes) {
      const { version, alpn, keyExchange } = this.#engine.negotiated();
      this.protocol = version === "TLSv1.2" ? "TLSv1.2" : "TLSv1.3";
      this.alpn = alpn;
      this.keyExchange = keyExchange;
    }
    this.#flags = step.flags;
    if (step.plaintext) this.#answered = true;
    if (!step.failure) return step.plaintext;
    const failed = this.#failed(step.failure, step.flags);
    // A pin mismatch comes before any plaintext, and its error is made asynchronously.
    if (!step.plaintext || step.failure.code === FailureCode.PinMismatch) return failed;
    failed.catch(() => {});
    return step.plaintext;
  }

  /**
   * A server that asked for a client certificate and then closed or reset without a word (no alert, no byte of an answer)
   * refused it, or the lack of one, as Node's TLS servers refuse a client certificate they do not trust.
   */
  #silentClose(): PinnedFetchError | undefined {
    if (!(this.#flags & Flag.ClientCertRequested) || this.#answered) return undefined;
    const sent = this.#flags & Flag.ClientCertSent ? this.#clientIdentity : undefined;
    return clientCertificateError(null, this.#host, this.#clientIdentity, sent);
  }

  /** Rejects with the engine's failure (its step had `flags`) as a PinnedFetchError, which becomes the connection's failure. */
  async #failed(failure: EngineFailure, flags: number): Promise<never> {
    if (failure.code === FailureCode.PinMismatch) throw this.#fail(await this.#pinMismatch());
    if (failure.code === FailureCode.ClientCertificate) {
      const sent = flags & Flag.ClientCertSent ? this.#clientIdentity : undefined;
      throw this.#fail(clientCertificateError(failure.detail, this.#host, this.#clientIdentity, sent));
    }
    throw this.#fail(tlsFailureError(failure, this.#host, this.#failureContext));
  }

  /**
   * The next decrypted bytes from the server, or null after its close_notify; one read at a time, after the
   * handshake. A failure destroys the connection.
   */
  async read(): Promise<Uint8Array | null> {
    try {
      for (;;) {
        const handshakePlaintext = this.#handshakePlaintext.shift();
        if (handshakePlaintext) return handshakePlaintext;
        if (this.#flags & Flag.PeerClosed) return null;
        const timerTurn = overdueTimerTurn();
        if (timerTurn) await timerTurn;
        const plaintext = await this.#receive(
          "closed the connection without a TLS close_notify, so what it sent may be truncated.",
        );
        if (plaintext) return plaintext;
      }
    } catch (error) {
      // Later reads and writes fail with it too, as an errored stream's did.
      if (error instanceof PinnedFetchError) this.#fail(error);
      this.destroy();
      throw error;
    }
  }

  /** Encrypts and sends `chunk`; resolves once the socket has taken it. Chunks go out whole and in call order. */
  write(chunk: Uint8Array): Promise<void> {
    const before = this.#longWrite;
    const writing = before ? before.then(() => this.#write(chunk)) : this.#write(chunk);
    if (before || chunk.length > MAX_WRITE) {
      const settled: Promise<void> = writing.then(
        () => this.#writeSettled(settled),
        () => this.#writeSettled(settled),
      );
      this.#longWrite = settled;
    }
    return writing;
  }

  #writeSettled(write: Promise<void>): void {
    if (this.#longWrite === write) this.#longWrite = null;
  }

  /**
   * Keeps the handshake's last flight for the first write (one socket write, one packet, fewer for every new
   * connection), or for a timer: a protocol where the server speaks first must not wait for the client to write.
   * It exists only once the server's certificate and pins have passed.
   */
  #holdFlight(flight: Uint8Array): void {
    this.#heldFlight = flight;
    schedule(() => {
      const held = this.#heldFlight;
      this.#heldFlight = null;
      if (held && !this.#destroyed) this.#socket.write(held).catch(() => {});
    }, 0);
  }

  /** Sends `output` to the socket, after the held handshake flight if there is one. */
  #send(output: Uint8Array): Promise<void> {
    const held = this.#heldFlight;
    if (!held) return this.#socket.write(output);
    this.#heldFlight = null;
    const both = new Uint8Array(held.length + output.length);
    both.set(held);
    both.set(output, held.length);
    return this.#socket.write(both);
  }

  async #write(chunk: Uint8Array): Promise<void> {
    for (let at = 0; at < chunk.length; at += MAX_WRITE) {
      this.#assertUsable();
      const step = this.#engine.write(this.#session, chunk.subarray(at, at + MAX_WRITE));
      const sent = step.output ? this.#send(step.output) : undefined;
      if (step.failure) {
        sent?.catch(() => {}); // the alert goes out if it can; the failure is what counts
        await this.#failed(step.failure, step.flags);
      }
      await sent;
    }
  }

  /** Sends close_notify: the end of what this side sends. */
  async end(): Promise<void> {
    await this.#longWrite;
    if (this.#destroyed || this.#failure) return;
    const step = this.#engine.close(this.#session);
    if (step.output) await this.#send(step.output);
  }

  /** Sends close_notify, waiting at most CLOSE_GRACE for a congested socket, then closes. */
  async close(): Promise<void> {
    if (this.#destroyed) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE)));
    await Promise.race([this.end().catch(() => {}), grace]);
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

  async #pinMismatch(): Promise<PinnedFetchError> {
    const report = await this.#verifier.report(true);
    this.#verifier.notify(report);
    return pinMismatchError(report, this.#throughProxy);
  }
}
