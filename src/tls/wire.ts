// The engine's ABI as the host sees it: the mirror of wasm/src/wire.rs, and the
// only place in TypeScript where its numbers and the step result's layout are
// written. A change there raises ABI_VERSION there and here together; the
// loader refuses an engine that speaks another version. It imports nothing, so
// that the engine's native crypto (src/tls/native/) can name the engine's
// numbers from here.

/** The ABI version this code speaks; the engine says its own through `pf_abi_version`. */
export const ABI_VERSION = 5;

/** Status flags of a session after every call: bits of `StepResult.flags`. */
export enum Flag {
  HandshakeDone = 1,
  /** The peer sent close_notify. */
  PeerClosed = 2,
  /**
   * The session failed; the step result says why. Read through `failure`, not this bit.
   * @public mirrors wire.rs
   */
  Failed = 8,
  /**
   * The server asked for a client certificate (it sent CertificateRequest).
   * @public mirrors wire.rs
   */
  ClientCertRequested = 16,
  /**
   * The client sent a non-empty Certificate.
   * @public mirrors wire.rs
   */
  ClientCertSent = 32,
}

/** Why a session failed. */
export enum FailureCode {
  Tls = 1,
  /** No trusted chain; `Cause` says why. */
  Untrusted = 2,
  Expired = 3,
  Hostname = 4,
  PinMismatch = 5,
  /** A server that asked for a client certificate refused the handshake with an alert; the detail is its name. */
  ClientCertificate = 6,
}

/** The key exchange groups a config offers. */
export enum Groups {
  /** TLS 1.3: X25519MLKEM768, X25519, secp256r1, secp384r1, with shares for the first two; TLS 1.2: the classical ones. */
  PostQuantumFirst = 1,
  /** X25519, secp256r1, secp384r1. */
  ClassicalOnly = 2,
}

/** The names of the key exchange groups the engine offers, by their IANA code. */
const GROUP_NAMES: ReadonlyMap<number, string> = new Map([
  [0x11ec, "X25519MLKEM768"],
  [0x001d, "X25519"],
  [0x0017, "secp256r1"],
  [0x0018, "secp384r1"],
]);

/** The name of the key exchange group with IANA code `code`; an unknown one as `0x....`. */
export function groupName(code: number): string {
  return GROUP_NAMES.get(code) ?? `0x${code.toString(16).padStart(4, "0")}`;
}

/** The DER form of a client identity's private key. */
export enum KeyFormat {
  Pkcs8 = 1,
  /** An RSA key (RSAPrivateKey). */
  Pkcs1 = 2,
  /** An EC key (ECPrivateKey). */
  Sec1 = 3,
}

/** Why the engine refused a client identity. */
export enum IdentityRefusal {
  /** A key type or size the engine cannot sign with (P-521, Ed448, DSA, RSA outside 2048-4096 bits). */
  UnsupportedKey = 1,
  /** The key is not the leaf certificate's. */
  KeyMismatch = 2,
  /** The key or a certificate is not DER of its kind. */
  Unparsable = 3,
}

/** Why a certificate was refused, beyond the failure code. */
export enum Cause {
  Unspecified = 0,
  UnknownIssuer = 1,
  /** A signature on the chain, or the handshake's, does not verify. */
  BadSignature = 2,
  NameConstraints = 3,
  NotCa = 4,
  CaAsLeaf = 5,
  KeyUsage = 6,
  UnsupportedAlgorithm = 7,
  Unparsable = 8,
  TooComplex = 9,
  PathTooLong = 10,
  UnsupportedExtension = 11,
  Distrusted = 12,
}

/** When the engine asks the host's `verify_path`. */
export enum Stage {
  /** The leaf and intermediates as the server sent them, before path building. */
  Presented = 0,
  /** A fully verified candidate path. */
  Path = 1,
  /** The verified path accepted in report-only mode although it missed the pins. */
  Reported = 2,
}

/** The verdicts on the certificates as the server sent them (`Stage.Presented`). */
export enum Verdict {
  /** Build and verify the path; the pins are decided on it. */
  Continue = 0,
  /** The leaf is trusted by itself (pins-only, or given as trusted in `ca`) and valid now. */
  LeafTrusted = 1,
  LeafNotValidNow = 2,
  LeafMismatch = 3,
  /** As Continue, but a trusted path that misses the pins is accepted and reported. */
  ContinueReportOnly = 4,
}

/** The verdict on a verified path (`Stage.Path`); a reported path is answered `Accepted`. */
export enum PathVerdict {
  Accepted = 0,
  /** Misses the pins: webpki tries another path. */
  Rejected = 1,
}

/** Kinds of the `[kind: u8][length: u32 LE][bytes]` entries handed to `verify_path`. */
export enum EntryKind {
  /** A DER certificate: the leaf first, then the intermediates. */
  Certificate = 0,
  /** The trust anchor's subject, as a DER Name. */
  AnchorSubject = 1,
  /** The trust anchor's SubjectPublicKeyInfo, as DER. */
  AnchorSpki = 2,
}

/** TLS 1.3 record ciphers the host may provide natively (src/tls/native/aead.ts). */
export enum Cipher {
  Aes128Gcm = 1,
  Aes256Gcm = 2,
  Chacha20Poly1305 = 3,
}

/** Signature algorithms the host may check natively (src/tls/native/signatures.ts). */
export enum SignatureAlgorithm {
  EcdsaP256Sha256 = 1,
  EcdsaP256Sha384 = 2,
  EcdsaP384Sha256 = 3,
  EcdsaP384Sha384 = 4,
  Ed25519 = 5,
  RsaPssSha256 = 6,
  RsaPssSha384 = 7,
  RsaPssSha512 = 8,
  RsaPkcs1Sha256 = 9,
  RsaPkcs1Sha384 = 10,
  RsaPkcs1Sha512 = 11,
}

/**
 * The step result the engine leaves at `pf_result` after each session call,
 * read in place (`StepResult` in wire.rs: 13 words of 32 bits on wasm32). One
 * view serves every call, so reading it allocates nothing; its pointers are
 * valid until the next call into the engine.
 */
export class StepResultView {
  static readonly WORDS = 13;
  readonly #words: Uint32Array;

  constructor(memory: ArrayBuffer, address: number) {
    this.#words = new Uint32Array(memory, address, StepResultView.WORDS);
  }

  /** `Flag` bits. */
  get flags(): number {
    return this.#words[0]!;
  }
  /** TLS bytes to send, in order, before anything later. */
  get outputPtr(): number {
    return this.#words[1]!;
  }
  get outputLen(): number {
    return this.#words[2]!;
  }
  get plaintextPtr(): number {
    return this.#words[3]!;
  }
  get plaintextLen(): number {
    return this.#words[4]!;
  }
  /** A `FailureCode`, or 0 while the session has not failed. */
  get failureCode(): number {
    return this.#words[5]!;
  }
  /** A `Cause`, or 0. */
  get failureCause(): number {
    return this.#words[6]!;
  }
  /** The engine's words for the failure (webpki's or rustls's), UTF-8. */
  get messagePtr(): number {
    return this.#words[7]!;
  }
  get messageLen(): number {
    return this.#words[8]!;
  }
  /** 0x0304, 0x0303, or 0 before it is known. */
  get protocolVersion(): number {
    return this.#words[9]!;
  }
  /** The negotiated key exchange group's IANA code, or 0 while unknown. */
  get keyExchange(): number {
    return this.#words[10]!;
  }
  get alpnPtr(): number {
    return this.#words[11]!;
  }
  get alpnLen(): number {
    return this.#words[12]!;
  }
}
