// X25519 for the engine by the runtime's native crypto, through node:crypto,
// which Node, Deno and Bun all provide synchronously: ring's X25519 in wasm
// runs its 64-bit code with emulated 128-bit products (BENCHMARKS.md, "Figures
// behind design choices"). The private key is a KeyObject that stays here;
// the engine gets its public key and, once, the agreed secret.
import { Buffer } from "node:buffer";
import { type KeyObject, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync } from "node:crypto";

/** DER of an X25519 SubjectPublicKeyInfo and of a PKCS#8 private key, before their 32 key bytes. */
const SPKI_PREFIX = Buffer.from("302a300506032b656e032100", "hex");
const PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");
const KEY_LENGTH = 32;

/** The peer's key as SPKI DER, written in place for each agreement (one at a time: they are synchronous). */
const peerSpki = Buffer.alloc(SPKI_PREFIX.length + KEY_LENGTH);
SPKI_PREFIX.copy(peerSpki);

/** A new private key; its public key is written to `publicKey` (32 bytes). */
export function x25519KeyPair(publicKey: Uint8Array): KeyObject {
  const pair = generateKeyPairSync("x25519");
  const spki = pair.publicKey.export({ type: "spki", format: "der" });
  if (spki.length !== peerSpki.length) throw new Error("unexpected X25519 public key");
  publicKey.set(spki.subarray(SPKI_PREFIX.length));
  return pair.privateKey;
}

/**
 * Writes the secret `privateKey` agrees with `peer` (32 bytes) to `secret`
 * (32 bytes); false, with nothing written, if there is none: the runtimes
 * refuse a low-order point (its secret is all zeros), and so does this, as ring does.
 */
export function x25519Agree(privateKey: KeyObject, peer: Uint8Array, secret: Uint8Array): boolean {
  peerSpki.set(peer, SPKI_PREFIX.length);
  let agreed: Buffer;
  try {
    agreed = diffieHellman({ privateKey, publicKey: createPublicKey({ key: peerSpki, format: "der", type: "spki" }) });
  } catch {
    return false;
  }
  let bits = 0;
  for (const byte of agreed) bits |= byte;
  if (agreed.length === KEY_LENGTH && bits !== 0) secret.set(agreed);
  agreed.fill(0);
  return agreed.length === KEY_LENGTH && bits !== 0;
}

let works: boolean | undefined;

/**
 * Whether this runtime has X25519 and gets it right: RFC 7748's §6.1
 * example (Alice's key, Bob's public key, their secret), checked once.
 */
export function x25519Works(): boolean {
  works ??= knownAnswer();
  return works;
}

function knownAnswer(): boolean {
  const hex = (text: string) => Buffer.from(text, "hex");
  try {
    const alice = createPrivateKey({
      key: Buffer.concat([PKCS8_PREFIX, hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")]),
      format: "der",
      type: "pkcs8",
    });
    const secret = new Uint8Array(KEY_LENGTH);
    const bob = hex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
    return (
      x25519Agree(alice, bob, secret) &&
      Buffer.from(secret).equals(hex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")) &&
      x25519KeyPair(new Uint8Array(KEY_LENGTH)).asymmetricKeyType === "x25519"
    );
  } catch {
    return false;
  }
}
