import { PinnedFetchError } from "../errors.js";
import { checkCertificate } from "../pins/certificate.js";
import { pemCertificates } from "../encoding.js";
import type { Engine } from "./engine.js";
import type { ClientIdentity } from "./identity/identity.js";
import type { HandshakePinning } from "./verifier.js";
import { Groups, IdentityRefusal, KeyFormat } from "./wire.js";

/** Frees what a context made in an engine once nothing can use the context any more. */
const leftovers = new FinalizationRegistry<() => void>((free) => free());

/** A number per client identity, for keys of configs and pooled connections. */
const identityNumbers = new WeakMap<ClientIdentity, number>();
let lastIdentityNumber = 0;

const KEY_FORMATS = { pkcs8: KeyFormat.Pkcs8, pkcs1: KeyFormat.Pkcs1, sec1: KeyFormat.Sec1 } as const;

/**
 * What a connection trusts: the caller's `ca` certificates, or Mozilla's
 * roots. Each pin decision under it (which pins, and how they are judged) and
 * each client identity has its own engine config and so its own TLS session
 * cache. A resumed handshake skips verification and the pin check, and
 * authenticates the client as the session it resumes did, so a session is
 * resumed only by a connection of the same context, to the same host, under the
 * same decision and identity: where the full handshake that made it would be
 * judged the same way again. A context offers one set of key-exchange groups.
 */
export class TrustContext {
  /** The caller's anchors as DER; empty means Mozilla's roots. */
  readonly anchors: readonly Uint8Array<ArrayBuffer>[];
  /** Whether X25519MLKEM768 is offered first (`postQuantum`), or the classical groups alone. */
  readonly groups: Groups;
  #engine: Engine | undefined;
  /** Engine configs by decision (see `decisionOf`) that present no client identity: kept as long as the context. */
  #configs = new Map<string, number>();
  /** Engine configs that present a client identity, by decision and identity, freed by `releaseClientKeys`. */
  #clientConfigs = new Map<string, number>();
  /** The engine's copy of each client identity (its key among it), freed by `releaseClientKeys`. */
  #identities = new Map<ClientIdentity, number>();
  /** The token of the finalizers of `#clientConfigs` and `#identities`, which `releaseClientKeys` unregisters. */
  #clientToken = {};

  /** Throws ERR_CONFIG for anything in `ca` that is not a PEM certificate. */
  constructor(ca: string | readonly string[] | undefined, postQuantum = true) {
    const pems = ca === undefined ? [] : typeof ca === "string" ? [ca] : ca;
    this.anchors = pems.flatMap((pem, index) => parseAnchors(pem, pems.length > 1 ? `ca[${index}]` : "ca"));
    this.groups = postQuantum ? Groups.PostQuantumFirst : Groups.ClassicalOnly;
  }

  /**
   * The config for connections under `pinning` that present `identity` (none: undefined) in `engine`, made on
   * first use (and again for a fresh engine). ERR_CONFIG if the engine refuses an anchor or the identity.
   */
  config(engine: Engine, pinning: HandshakePinning, identity: ClientIdentity | undefined): number {
    if (this.#engine !== engine) {
      this.#engine = engine;
      this.#configs = new Map();
      this.#clientConfigs = new Map();
      this.#identities = new Map();
    }
    const configs = identity ? this.#clientConfigs : this.#configs;
    const decision = decisionOf(pinning, identity);
    let handle = configs.get(decision);
    if (handle === undefined) {
      const made = engine.newConfig(this.anchors, identity ? this.#identity(engine, identity) : 0, this.groups);
      if (made === null) {
        throw new PinnedFetchError(
          "ERR_CONFIG",
          "A certificate in `ca` cannot serve as a trust anchor (the TLS engine rejected it). Give the PEM of a CA certificate.",
        );
      }
      configs.set(decision, (handle = made));
      leftovers.register(this, () => engine.freeConfig(made), identity ? this.#clientToken : this);
    }
    return handle;
  }

  /** The engine's handle of `identity`, handed to it on first use. */
  #identity(engine: Engine, identity: ClientIdentity): number {
    let handle = this.#identities.get(identity);
    if (handle === undefined) {
      const made = identity.withKey((format, key) => engine.newIdentity(KEY_FORMATS[format], key, identity.chain));
      if ("refusal" in made) throw identityRefused(identity, made.refusal);
      this.#identities.set(identity, (handle = made.identity));
      leftovers.register(this, () => engine.freeIdentity(made.identity), this.#clientToken);
    }
    return handle;
  }

  /**
   * Frees the client keys this context gave the engine, with the configs (and so the TLS sessions) made with them.
   * A connection's own session keeps what it uses until it closes; a later connection hands them over again.
   * Configs without a client identity stay, so that their sessions may still be resumed.
   */
  releaseClientKeys(): void {
    leftovers.unregister(this.#clientToken);
    this.#clientToken = {};
    for (const config of this.#clientConfigs.values()) this.#engine?.freeConfig(config);
    for (const identity of this.#identities.values()) this.#engine?.freeIdentity(identity);
    this.#clientConfigs = new Map();
    this.#identities = new Map();
  }
}

/**
 * What decides a handshake's verdict beyond the anchors, and the client identity it presents, as one string: equal
 * strings, equal verdicts and the same client.
 */
export function decisionOf(
  { pins, pinsOnly, reportOnly }: HandshakePinning,
  identity: ClientIdentity | undefined,
): string {
  let client = "anonymous";
  if (identity) {
    let number = identityNumbers.get(identity);
    if (number === undefined) identityNumbers.set(identity, (number = ++lastIdentityNumber));
    client = `client ${number}`;
  }
  return `${pinsOnly ? "pins-only" : "webpki"}${reportOnly ? " report-only" : ""} ${pins?.key ?? "unpinned"} ${client}`;
}

/** Why the engine refused a client identity that the checks when it was read let through. */
function identityRefused(identity: ClientIdentity, refusal: IdentityRefusal): PinnedFetchError {
  const why =
    refusal === IdentityRefusal.KeyMismatch
      ? "its key is not the key of its certificate"
      : refusal === IdentityRefusal.UnsupportedKey
        ? `its ${identity.keyType} key cannot sign TLS handshakes (RSA of 2048 to 4096 bits, ECDSA P-256 or P-384, and Ed25519 can)`
        : "the TLS engine cannot read its key or certificate (an EC key written without its public key is one such: " +
          "write it again with `openssl pkey -in key.pem -out key-full.pem`)";
  return new PinnedFetchError(
    "ERR_CONFIG",
    `${identity.label} (${identity.subject}) cannot be used: ${why}. Give the certificate with its own private key.`,
  );
}

function parseAnchors(pem: unknown, label: string): Uint8Array<ArrayBuffer>[] {
  const ders = typeof pem === "string" ? pemCertificates(pem) : null;
  if (!ders || ders.length === 0) {
    throw new PinnedFetchError(
      "ERR_CONFIG",
      `${label} holds no PEM certificate. Give the CA's certificate as text that starts with "-----BEGIN CERTIFICATE-----".`,
    );
  }
  for (const der of ders) {
    try {
      checkCertificate(der);
    } catch (cause) {
      throw new PinnedFetchError(
        "ERR_CONFIG",
        `${label} holds a CERTIFICATE block that is not a valid X.509 certificate.`,
        {
          cause,
        },
      );
    }
  }
  return ders;
}
