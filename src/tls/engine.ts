// The rustls engine: one WebAssembly instance per process serves every
// connection. Sessions are handles; after each call the engine leaves TLS
// bytes to send and plaintext to deliver, which this binding copies out. The
// numbers it exchanges with the engine are in wire.ts.
import type { KeyObject } from "node:crypto";

import { PinnedFetchError } from "../errors.js";
import type { VerifiedPath } from "../pins/path.js";
import { decodeBase64 } from "../runtime/base64.js";
import { type BuiltInRuntime, hostRuntime } from "../runtime/index.js";
import { type NativeAead, aeadCipher, aeadInEngineUpTo, aeadSupported } from "./native/aead.js";
import { verifySignature } from "./native/signatures.js";
import { x25519Agree, x25519KeyPair, x25519Works } from "./native/x25519.js";
import { ENGINE_BASE64 } from "../../wasm/engine-base64.js";
import {
  ABI_VERSION,
  type Cause,
  EntryKind,
  type FailureCode,
  groupName,
  Groups,
  type IdentityRefusal,
  type KeyFormat,
  PathVerdict,
  Stage,
  StepResultView,
  Verdict,
} from "./wire.js";

/** The pin verifier of one session, asked by the engine during the handshake. */
export interface SessionVerifier {
  /** The leaf and the other certificates as the server sent them, before path building. */
  presented(certificates: Uint8Array<ArrayBuffer>[]): Verdict;
  /** A fully verified candidate path: true accepts it, false lets webpki try another. */
  path(path: VerifiedPath): boolean;
  /** Report-only: the verified path that was accepted although it missed the pins. */
  reported(path: VerifiedPath): void;
}

/**
 * What a session call left for the host. The engine fills one such object on
 * every call, so read it before awaiting anything: the next call overwrites it.
 */
export interface Step {
  /** `Flag` bits. */
  readonly flags: number;
  /** TLS bytes to send, in order, before anything later. */
  readonly output: Uint8Array | null;
  readonly plaintext: Uint8Array | null;
  /** Made anew for each failure, so it may be kept. */
  readonly failure: EngineFailure | null;
}

/** How a session failed: its code, the cause of a certificate failure, and the engine's words (webpki's, for a certificate). */
export interface EngineFailure {
  code: FailureCode;
  cause: Cause;
  detail: string;
  /** Whether the server had answered the ClientHello (a protocol version was agreed) when the session failed. */
  helloAnswered: boolean;
}

interface Exports {
  memory: WebAssembly.Memory;
  /** Absent from engines before the ABI had a version. */
  pf_abi_version?(): number;
  pf_alloc(len: number): number;
  pf_free(ptr: number, len: number): void;
  pf_result(): number;
  pf_allocated(): number;
  pf_identity_new(ptr: number, len: number): number;
  pf_identity_refusal(): number;
  pf_identity_free(identity: number): void;
  pf_config_new(ptr: number, len: number, identity: number, groups: number): number;
  pf_config_free(config: number): void;
  pf_session_new(config: number, ptr: number, len: number): number;
  pf_session_free(session: number): void;
  pf_session_input(session: number, len: number): number;
  pf_session_process(session: number, received: number): number;
  pf_session_write(session: number, ptr: number, len: number): number;
  pf_session_close(session: number): number;
  pf_session_shrink(session: number): void;
}

/** Plaintext handed to the engine per call: bounds the scratch buffer. */
export const MAX_WRITE = 64 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class Engine {
  readonly #exports: Exports;
  readonly #verifiers = new Map<number, SessionVerifier>();
  /** Record cipher keys the engine holds, by handle (wasm/src/aead.rs). */
  readonly #aeadKeys = new Map<number, NativeAead>();
  #nextAeadKey = 1;
  /** X25519 private keys the host holds for the engine, by handle (wasm/src/kx.rs): they never enter the engine. */
  readonly #x25519Keys = new Map<number, KeyObject>();
  #nextX25519Key = 1;
  #bytes!: Uint8Array;
  #view!: DataView;
  #result!: StepResultView;
  readonly #step: { -readonly [K in keyof Step]: Step[K] } = { flags: 0, output: null, plaintext: null, failure: null };
  #scratch = 0;
  #scratchSize = 0;
  /** The host runtime's `smallRecordsInEngine`. */
  readonly #smallRecords: number;
  /** The host runtime's `x25519InHost`, if its X25519 gives the known answer. */
  readonly #x25519InHost: boolean;

  private constructor(module: WebAssembly.Module, { smallRecordsInEngine, x25519InHost }: BuiltInRuntime) {
    this.#smallRecords = smallRecordsInEngine;
    this.#x25519InHost = x25519InHost && x25519Works();
    const instance = new WebAssembly.Instance(module, { host: this.#imports() });
    this.#exports = instance.exports as unknown as Exports;
    checkAbiVersion(this.#exports.pf_abi_version?.());
    this.#renewViews();
  }

  /**
   * A fresh instance of the compiled engine. Node does not count a compile
   * in progress as work that keeps the process alive (with V8's lazy
   * compilation off, a script awaiting its first request would exit before
   * it), so a timer does while a connection waits for it.
   */
  static async load(): Promise<Engine> {
    const alive = setInterval(() => {}, 60_000);
    try {
      return new Engine(await compiledEngine(), await hostRuntime());
    } finally {
      clearInterval(alive);
    }
  }

  #aeadStep(key: number, step: (aead: NativeAead) => boolean): number {
    const aead = this.#aeadKeys.get(key);
    try {
      return aead && step(aead) ? 1 : 0;
    } catch {
      return 0;
    }
  }

  #imports() {
    const bytesAt = (ptr: number, len: number) => new Uint8Array(this.#exports.memory.buffer, ptr, len);
    return {
      random: (ptr: number, len: number): number => {
        try {
          crypto.getRandomValues(new Uint8Array(this.#exports.memory.buffer, ptr, len));
          return 0;
        } catch {
          return 1;
        }
      },
      now_ms: (): number => Date.now(),
      aead_supported: (cipher: number): number => (aeadSupported(cipher) ? 1 : 0),
      aead_in_engine_up_to: (cipher: number): number => aeadInEngineUpTo(cipher, this.#smallRecords),
      aead_key: (cipher: number, key: number, keyLen: number): number => {
        let aead: NativeAead | undefined;
        try {
          aead = aeadCipher(cipher, bytesAt(key, keyLen));
        } catch {
          // 0 is no key: every record under it fails, and the connection ends with an alert.
        }
        if (!aead) return 0;
        const handle = this.#nextAeadKey++;
        this.#aeadKeys.set(handle, aead);
        return handle;
      },
      // A key the engine does not know, or an exception, fails the record: the connection ends with an alert.
      aead_seal: (key: number, nonce: number, aad: number, aadLen: number, record: number, recordLen: number): number =>
        this.#aeadStep(key, (aead) => aead.seal(bytesAt(nonce, 12), bytesAt(aad, aadLen), bytesAt(record, recordLen))),
      aead_open: (key: number, nonce: number, aad: number, aadLen: number, record: number, recordLen: number): number =>
        this.#aeadStep(key, (aead) => aead.open(bytesAt(nonce, 12), bytesAt(aad, aadLen), bytesAt(record, recordLen))),
      aead_free: (key: number): void => void this.#aeadKeys.delete(key),
      // 0: no key here, and ring's X25519 serves (a runtime that keeps it, or an exception).
      x25519_new: (publicKey: number): number => {
        if (!this.#x25519InHost) return 0;
        let key: KeyObject;
        try {
          key = x25519KeyPair(bytesAt(publicKey, 32));
        } catch {
          return 0;
        }
        const handle = this.#nextX25519Key++;
        this.#x25519Keys.set(handle, key);
        return handle;
      },
      // 0 (an unknown key, an invalid share, an exception) fails the handshake.
      x25519_agree: (key: number, peer: number, secret: number): number => {
        const privateKey = this.#x25519Keys.get(key);
        return privateKey && x25519Agree(privateKey, bytesAt(peer, 32), bytesAt(secret, 32)) ? 1 : 0;
      },
      x25519_free: (key: number): void => void this.#x25519Keys.delete(key),
      verify_signature: (
        algorithm: number,
        spki: number,
        spkiLen: number,
        message: number,
        messageLen: number,
        signature: number,
        signatureLen: number,
      ): number => {
        // 1 if valid; for anything else the engine's ring code decides (wasm/src/signatures.rs).
        try {
          return verifySignature(
            algorithm,
            bytesAt(spki, spkiLen),
            bytesAt(message, messageLen),
            bytesAt(signature, signatureLen),
          )
            ? 1
            : 0;
        } catch {
          return 0;
        }
      },
      verify_path: (session: number, ptr: number, len: number, stage: number): number => {
        // An exception, an unknown session or an unknown stage refuses: nothing may unwind through the engine.
        const refused = stage === Stage.Presented ? Verdict.LeafMismatch : PathVerdict.Rejected;
        try {
          const verifier = this.#verifiers.get(session);
          if (!verifier) return refused;
          if (stage === Stage.Presented) return verifier.presented(this.#decodeEntries(ptr, len).certificates);
          if (stage === Stage.Path) {
            return verifier.path(this.#decodePath(ptr, len)) ? PathVerdict.Accepted : PathVerdict.Rejected;
          }
          if (stage === Stage.Reported) {
            verifier.reported(this.#decodePath(ptr, len));
            return PathVerdict.Accepted;
          }
          return refused;
        } catch {
          return refused;
        }
      },
    };
  }

  /** Views over memory must be renewed whenever the engine's memory grew. */
  #renewViews(): void {
    const memory = this.#exports.memory.buffer;
    if (this.#bytes?.buffer !== memory) {
      this.#bytes = new Uint8Array(memory);
      this.#view = new DataView(memory);
      this.#result = new StepResultView(memory, this.#exports.pf_result());
    }
  }

  #decodePath(ptr: number, len: number): VerifiedPath {
    const { certificates, subject, spki } = this.#decodeEntries(ptr, len);
    if (!subject || !spki || certificates.length === 0) throw new Error("incomplete verified path");
    return { certificates, anchor: { subject, spki } };
  }

  /** The entries the engine encoded (wasm/src/verifier.rs): certificates, and an anchor's subject and SPKI. */
  #decodeEntries(ptr: number, len: number) {
    this.#renewViews();
    const certificates: Uint8Array<ArrayBuffer>[] = [];
    let subject: Uint8Array<ArrayBuffer> | undefined;
    let spki: Uint8Array<ArrayBuffer> | undefined;
    for (let at = ptr, end = ptr + len; at < end;) {
      const kind = this.#bytes[at]!;
      const size = this.#view.getUint32(at + 1, true);
      const value = this.#bytes.slice(at + 5, at + 5 + size);
      at += 5 + size;
      if (kind === EntryKind.Certificate) certificates.push(value);
      else if (kind === EntryKind.AnchorSubject) subject = value;
      else if (kind === EntryKind.AnchorSpki) spki = value;
    }
    if (certificates.length === 0) throw new Error("no certificates");
    return { certificates, subject, spki };
  }

  /** The engine's scratch buffer, at least `size` bytes, and its address. */
  #reserveScratch(size: number): number {
    if (size > this.#scratchSize) {
      if (this.#scratchSize) this.#exports.pf_free(this.#scratch, this.#scratchSize);
      this.#scratchSize = Math.max(size, 4096);
      this.#scratch = this.#exports.pf_alloc(this.#scratchSize);
    }
    this.#renewViews();
    return this.#scratch;
  }

  /** Copies `data` into the engine's scratch buffer and returns its address there. */
  #copyIn(data: Uint8Array): number {
    const address = this.#reserveScratch(data.length);
    this.#bytes.set(data, address);
    return address;
  }

  /** Writes each of `ders` after its length (u32 LE) at `address` in the engine's memory. */
  #writeLengthPrefixed(address: number, ders: readonly Uint8Array[]): void {
    for (const der of ders) {
      this.#view.setUint32(address, der.length, true);
      this.#bytes.set(der, address + 4);
      address += 4 + der.length;
    }
  }

  /**
   * A client identity: `key` (DER in `format`) and `chain` (DER, the leaf
   * first), checked to belong together. The key is written straight into the
   * engine's scratch buffer, with no copy on this side, and zeroed there after
   * the call (the engine wipes it too).
   */
  newIdentity(
    format: KeyFormat,
    key: Uint8Array,
    chain: readonly Uint8Array[],
  ): { identity: number } | { refusal: IdentityRefusal } {
    const size = 8 + key.length + chain.reduce((sum, der) => sum + 4 + der.length, 0);
    const address = this.#reserveScratch(size);
    let identity: number;
    try {
      this.#view.setUint32(address, format, true);
      this.#view.setUint32(address + 4, key.length, true);
      this.#bytes.set(key, address + 8);
      this.#writeLengthPrefixed(address + 8 + key.length, chain);
      identity = this.#exports.pf_identity_new(address, size);
    } catch (error) {
      throw this.#retire(error);
    } finally {
      this.#renewViews();
      this.#bytes.fill(0, address + 8, address + 8 + key.length);
    }
    return identity === 0 ? { refusal: this.#exports.pf_identity_refusal() } : { identity };
  }

  /** Drops this handle; the configs made with the identity keep it until they are freed. */
  freeIdentity(identity: number): void {
    this.#exports.pf_identity_free(identity);
  }

  /**
   * A trust policy over `anchors` (DER), or Mozilla's roots when empty, that
   * presents `identity` (0: none) to servers that ask for a client
   * certificate and offers `groups`; null if an anchor is unusable or the
   * identity unknown.
   */
  newConfig(anchors: readonly Uint8Array[], identity = 0, groups = Groups.PostQuantumFirst): number | null {
    const size = anchors.reduce((sum, der) => sum + 4 + der.length, 0);
    const address = this.#reserveScratch(size);
    this.#writeLengthPrefixed(address, anchors);
    const handle = this.#exports.pf_config_new(address, size, identity, groups);
    return handle === 0 ? null : handle;
  }

  freeConfig(config: number): void {
    this.#exports.pf_config_free(config);
  }

  /** A client session for `serverName` (a DNS name or IP address); null if the name is invalid. */
  newSession(config: number, serverName: string, alpn: readonly string[], verifier: SessionVerifier): number | null {
    const name = encoder.encode(serverName);
    const protocols = alpn.map((protocol) => encoder.encode(protocol));
    const input = new Uint8Array(2 + name.length + protocols.reduce((sum, p) => sum + 1 + p.length, 0));
    new DataView(input.buffer).setUint16(0, name.length, true);
    input.set(name, 2);
    let at = 2 + name.length;
    for (const protocol of protocols) {
      input[at] = protocol.length;
      input.set(protocol, at + 1);
      at += 1 + protocol.length;
    }
    const session = this.#exports.pf_session_new(config, this.#copyIn(input), input.length);
    if (session === 0) return null;
    this.#verifiers.set(session, verifier);
    return session;
  }

  freeSession(session: number): void {
    this.#verifiers.delete(session);
    try {
      this.#exports.pf_session_free(session);
    } catch {
      // A broken engine (see #retire) is retired; its memory goes with it.
    }
  }

  /** Feeds received TLS bytes (none to start the handshake). */
  receive(session: number, data: Uint8Array | null): Step {
    try {
      if (data && data.length > 0) {
        const ptr = this.#exports.pf_session_input(session, data.length);
        if (ptr === 0) throw new Error(`no session ${session}`);
        this.#renewViews();
        this.#bytes.set(data, ptr);
      }
      this.#exports.pf_session_process(session, data?.length ?? 0);
      return this.#readStep();
    } catch (error) {
      throw this.#retire(error);
    }
  }

  /** Encrypts at most MAX_WRITE bytes of application data. */
  write(session: number, data: Uint8Array): Step {
    try {
      this.#exports.pf_session_write(session, this.#copyIn(data), data.length);
      return this.#readStep();
    } catch (error) {
      throw this.#retire(error);
    }
  }

  /** Queues a close_notify alert. */
  close(session: number): Step {
    try {
      this.#exports.pf_session_close(session);
      return this.#readStep();
    } catch (error) {
      throw this.#retire(error);
    }
  }

  /** Gives back the room a session's buffers grew to, for a connection going idle. */
  shrink(session: number): void {
    try {
      this.#exports.pf_session_shrink(session);
    } catch (error) {
      throw this.#retire(error);
    }
  }

  /**
   * A trap (or a misused handle) leaves the engine in an unknown state: it
   * serves no one any more, and the next connection loads a fresh one.
   */
  #retire(cause: unknown): PinnedFetchError {
    if (current === this) shared = current = undefined;
    return new PinnedFetchError(
      "ERR_TLS",
      "The TLS engine failed; this connection is closed and new connections use a fresh engine. Please report this.",
      { cause },
    );
  }

  /** Bytes of WebAssembly memory the engine holds now (it only grows); read by the benchmark. */
  get memoryBytes(): number {
    return this.#exports.memory.buffer.byteLength;
  }

  /** What the engine holds now: sessions, native record-cipher and X25519 keys, and bytes allocated (read by the soak test). */
  get inUse(): { sessions: number; recordKeys: number; x25519Keys: number; allocatedBytes: number } {
    return {
      sessions: this.#verifiers.size,
      recordKeys: this.#aeadKeys.size,
      x25519Keys: this.#x25519Keys.size,
      allocatedBytes: this.#exports.pf_allocated(),
    };
  }

  /** The negotiated protocol version, ALPN and key exchange group (null while unknown) of the last session called. */
  negotiated(): { version: string; alpn: string | null; keyExchange: string | null } {
    this.#renewViews();
    const { protocolVersion, keyExchange, alpnPtr, alpnLen } = this.#result;
    const version = protocolVersion === 0x0304 ? "TLSv1.3" : protocolVersion === 0x0303 ? "TLSv1.2" : "unknown";
    const alpn = alpnLen > 0 ? decoder.decode(this.#bytes.subarray(alpnPtr, alpnPtr + alpnLen)) : null;
    return { version, alpn, keyExchange: keyExchange === 0 ? null : groupName(keyExchange) };
  }

  /** Copies out what the last session call left (its pointers die with the next call). */
  #readStep(): Step {
    this.#renewViews();
    const result = this.#result;
    const step = this.#step;
    step.flags = result.flags;
    step.output = result.outputLen ? this.#bytes.slice(result.outputPtr, result.outputPtr + result.outputLen) : null;
    step.plaintext = result.plaintextLen
      ? this.#bytes.slice(result.plaintextPtr, result.plaintextPtr + result.plaintextLen)
      : null;
    step.failure = result.failureCode
      ? {
          code: result.failureCode,
          cause: result.failureCause,
          detail: decoder.decode(this.#bytes.subarray(result.messagePtr, result.messagePtr + result.messageLen)),
          helloAnswered: result.protocolVersion !== 0,
        }
      : null;
    return step;
  }
}

/**
 * Refuses an engine that speaks another ABI version than this code, or none:
 * its numbers would be misread, so it must not answer anything.
 */
export function checkAbiVersion(engineVersion: number | undefined): void {
  if (engineVersion === ABI_VERSION) return;
  const spoken = engineVersion === undefined ? "no ABI version" : `ABI version ${engineVersion}`;
  throw new PinnedFetchError(
    "ERR_CONFIG",
    `The TLS engine of this pinned-fetch speaks ${spoken}, but its code speaks version ${ABI_VERSION}: ` +
      `the package's engine and code disagree. Reinstall pinned-fetch; if you build it from source, ` +
      `run npm run build:wasm and build again.`,
  );
}

/**
 * The engine's bytes come embedded in a module (wasm/engine-base64.js), not
 * read from a file: no file permission in Deno, and the same import from npm,
 * JSR or a bundle. They are compiled as this module is imported, on the
 * runtime's own background threads, so that compiling overlaps the rest of
 * the import and the first connection's dial instead of following them; the
 * first connection waits for it (`loadEngine`). A compile that fails is
 * forgotten: the next connection compiles again, and fails with ERR_CONFIG.
 */
let compiled: Promise<WebAssembly.Module> | undefined;
void compiledEngine();

function compiledEngine(): Promise<WebAssembly.Module> {
  if (!compiled) {
    compiled = compileEngine();
    compiled.catch(() => (compiled = undefined));
  }
  return compiled;
}

async function compileEngine(): Promise<WebAssembly.Module> {
  try {
    return await WebAssembly.compile(decodeBase64(ENGINE_BASE64));
  } catch (cause) {
    throw new PinnedFetchError(
      "ERR_CONFIG",
      `The TLS engine could not be compiled (${String(cause)}). ` +
        `pinned-fetch needs a runtime that compiles WebAssembly at run time: Node, Deno or Bun.`,
      { cause },
    );
  }
}

let shared: Promise<Engine> | undefined;
let current: Engine | undefined;

/** The process's one engine, instantiated on first use (and again after a trap). */
export function loadEngine(): Promise<Engine> {
  shared ??= Engine.load().then(
    (engine) => (current = engine),
    (error) => {
      shared = undefined;
      throw error;
    },
  );
  return shared;
}
