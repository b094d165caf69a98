// A client certificate and its private key, read and checked on first use
// (given.ts checked the option's shape when the options were): the
// certificates (leaf first), what people are told of them, and the key, which
// only the engine is ever handed.
import { sameBytes } from "../../encoding.js";
import { PinnedFetchError } from "../../errors.js";
import { certificateSpki, checkCertificate } from "../../pins/certificate.js";
import { formatName } from "../../pins/names.js";
import { contextTag, elements, octets, oid, parseDer } from "./der.js";
import { type KeyFormat, namedCurve, privateKeyInfo, sameKey, spkiInfo } from "./keys.js";
import { decryptPbes2, iterationBudget } from "./pbes2.js";
import { pemBlocks } from "./pem.js";
import { type Pkcs12Contents, readPkcs12 } from "./pkcs12.js";
import type { GivenIdentity } from "./given.js";
import { Refusal, readOr, refuse } from "./refusal.js";

/** The decrypted keys, out of sight of JSON.stringify, util.inspect and anything else that walks an object. */
const keys = new WeakMap<ClientIdentity, { format: KeyFormat; der: Uint8Array<ArrayBuffer> }>();

export class ClientIdentity {
  /** Where the options give it, for messages (`clientCertificates["api.example.com"]`). */
  readonly label: string;
  /** The certificates to send, DER, leaf first. */
  readonly chain: readonly Uint8Array<ArrayBuffer>[];
  /** The leaf's subject, for messages (`CN=…, O=…`). */
  readonly subject: string;
  /** "RSA 2048", "ECDSA P-256", "ECDSA P-384" or "Ed25519". */
  readonly keyType: string;

  /** Made by readClientIdentity, which checks that `key` (which it hands over) belongs to the chain's leaf. */
  constructor(
    label: string,
    chain: readonly Uint8Array<ArrayBuffer>[],
    subject: string,
    keyType: string,
    format: KeyFormat,
    key: Uint8Array<ArrayBuffer>,
  ) {
    this.label = label;
    this.chain = chain;
    this.subject = subject;
    this.keyType = keyType;
    keys.set(this, { format, der: key });
  }

  /** Lends `use` a copy of the key's DER, wiped when `use` returns: `use` must be synchronous and keep no reference. */
  withKey<T>(use: (format: KeyFormat, der: Uint8Array) => T): T {
    const { format, der } = keys.get(this)!;
    const lent = der.slice();
    try {
      return use(format, lent);
    } finally {
      lent.fill(0);
    }
  }

  toJSON(): { label: string; subject: string; keyType: string; certificates: number } {
    return { label: this.label, subject: this.subject, keyType: this.keyType, certificates: this.chain.length };
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `ClientIdentity { label: ${JSON.stringify(this.label)}, subject: ${JSON.stringify(this.subject)}, keyType: ${JSON.stringify(this.keyType)}, certificates: ${this.chain.length} }`;
  }
}

const CONVERT_KEY =
  "Convert it with `openssl pkcs8 -topk8 -v2 aes-256-cbc -in old.key -out new.key` (OpenSSL 3), and use new.key.";

/**
 * Reads and checks a client identity, whose shape givenIdentity checked and
 * copied. Throws ERR_CONFIG naming `label` and what is wrong; the message
 * never holds key material and the error has no cause.
 */
export function readClientIdentity(given: GivenIdentity, label: string): ClientIdentity {
  try {
    return read(given, label);
  } catch (error) {
    const reason = error instanceof Refusal ? error.message : "the identity cannot be read.";
    throw new PinnedFetchError("ERR_CONFIG", `${label}: ${reason}`);
  }
}

function read(given: GivenIdentity, label: string): ClientIdentity {
  return "pfx" in given
    ? fromPkcs12(readPkcs12(given.pfx, given.passphrase), label)
    : fromPem(given.cert, given.key, given.passphrase, label);
}

function fromPem(certText: string, keyText: string, passphrase: string | undefined, label: string): ClientIdentity {
  const chain = pemBlocks(certText, "cert")
    .filter((block) => block.label === "CERTIFICATE")
    .map((block) => block.der);
  if (chain.length === 0) {
    refuse(
      certText.includes("-----BEGIN")
        ? 'cert holds no PEM certificate (a block that starts with "-----BEGIN CERTIFICATE-----").'
        : "cert holds no PEM certificate. If it is DER, convert it with `openssl x509 -inform DER -in cert.der -out cert.pem`.",
    );
  }
  const blocks = pemBlocks(keyText, "key");
  const keyBlocks = blocks.filter((block) => block.label.endsWith("PRIVATE KEY"));
  if (keyBlocks.length === 0) {
    refuse(
      keyText.includes("-----BEGIN")
        ? 'key holds no PEM private key (a block such as "-----BEGIN PRIVATE KEY-----").'
        : "key holds no PEM private key. If it is DER, convert it with `openssl pkey -inform DER -in key.der -out key.pem`.",
    );
  }
  if (keyBlocks.length > 1) refuse(`key holds ${keyBlocks.length} private keys; give the one for the certificate.`);
  const block = keyBlocks[0]!;
  if (block.legacyEncrypted) {
    refuse(
      `the key is encrypted in OpenSSL's legacy PEM form ("Proc-Type: 4,ENCRYPTED"), which pinned-fetch does not read. ${CONVERT_KEY}`,
    );
  }
  const parameters = blocks.find((candidate) => candidate.label === "EC PARAMETERS");
  const curveHint = parameters ? namedCurve(parameters.der) : undefined;
  const format = KEY_LABELS[block.label];
  if (!format) {
    refuse(
      block.label === "DSA PRIVATE KEY"
        ? "the key is DSA, which pinned-fetch cannot sign with. It accepts RSA of 2048 to 4096 bits, ECDSA P-256 or P-384, or Ed25519."
        : `key is a ${block.label} block, which pinned-fetch does not read: give PKCS#8 ("PRIVATE KEY" or "ENCRYPTED PRIVATE KEY"), PKCS#1 ("RSA PRIVATE KEY") or SEC1 ("EC PRIVATE KEY").`,
    );
  }
  const der = format === "encrypted" ? decryptKey(block.der, passphrase) : block.der;
  const keyFormat = format === "encrypted" ? "pkcs8" : format;
  return checked(label, chain, keyFormat, der, " Put the certificate of the key first in cert.", curveHint);
}

const KEY_LABELS: Record<string, KeyFormat | "encrypted"> = {
  "PRIVATE KEY": "pkcs8",
  "RSA PRIVATE KEY": "pkcs1",
  "EC PRIVATE KEY": "sec1",
  "ENCRYPTED PRIVATE KEY": "encrypted",
};

/** The PKCS#8 DER inside an EncryptedPrivateKeyInfo. */
function decryptKey(der: Uint8Array<ArrayBuffer>, passphrase: string | undefined): Uint8Array<ArrayBuffer> {
  if (passphrase === undefined) refuse("the key is encrypted and no passphrase was given.");
  const { algorithm, encrypted } = readOr("the key is not a readable encrypted PKCS#8 key.", () => {
    const [algorithm, encrypted] = elements(parseDer(der));
    return { algorithm: algorithm!, encrypted: octets(encrypted) };
  });
  const password = new TextEncoder().encode(passphrase);
  try {
    const plaintext = decryptPbes2(algorithm, encrypted, password, "the key", CONVERT_KEY, iterationBudget());
    try {
      parseDer(plaintext);
    } catch {
      // The padding checked out by chance: the passphrase is wrong all the same.
      plaintext.fill(0);
      refuse("the passphrase of the key is wrong (it does not decrypt).");
    }
    return plaintext;
  } finally {
    password.fill(0);
  }
}

/** The identity of a PKCS#12 file: its leaf is the certificate of its key, the others follow in the file's order. */
function fromPkcs12({ key, keyId, certificates }: Pkcs12Contents, label: string): ClientIdentity {
  let leafIndex = keyId
    ? certificates.findIndex((certificate) => certificate.keyId && sameBytes(certificate.keyId, keyId))
    : -1;
  if (leafIndex < 0) {
    const publicKey = withWipe(key, () => privateKeyInfo(key, "pkcs8"));
    const certificateKeys = certificates.map((certificate) =>
      readOr(BAD_CERTIFICATE, () => spkiInfo(certificateSpki(certificate.der))),
    );
    leafIndex = certificateKeys.findIndex(
      (candidate) => candidate !== null && publicKey.parts.length > 0 && sameKey(publicKey, candidate),
    );
    // An Ed25519 key without its public half: the first certificate of its kind (the engine checks the pair).
    if (leafIndex < 0 && publicKey.parts.length === 0)
      leafIndex = certificateKeys.findIndex((candidate) => candidate?.type === publicKey.type);
  }
  if (leafIndex < 0) {
    key.fill(0);
    refuse(
      certificates.length === 0
        ? "the PKCS#12 file holds no certificate."
        : "no certificate in the PKCS#12 file belongs to its key.",
    );
  }
  const chain = [
    certificates[leafIndex]!.der,
    ...certificates.filter((_, index) => index !== leafIndex).map(({ der }) => der),
  ];
  return checked(label, chain, "pkcs8", key, "");
}

const BAD_CERTIFICATE = "a certificate is not a valid X.509 certificate.";

/**
 * The identity, once the key is one ring can sign with and belongs to the leaf; the key is wiped when it is
 * refused. `hint` ends the message that refuses a key that is not the leaf's.
 */
function checked(
  label: string,
  chain: Uint8Array<ArrayBuffer>[],
  format: KeyFormat,
  key: Uint8Array<ArrayBuffer>,
  hint: string,
  curveHint?: string,
): ClientIdentity {
  return withWipe(key, () => {
    const publicKey = privateKeyInfo(key, format, curveHint);
    for (const der of chain) readOr(BAD_CERTIFICATE, () => checkCertificate(der));
    const subject = readOr(BAD_CERTIFICATE, () => subjectOf(chain[0]!));
    const leafKey = readOr(BAD_CERTIFICATE, () => spkiInfo(certificateSpki(chain[0]!)));
    if (!leafKey || leafKey.type !== publicKey.type) {
      refuse(
        `the key is ${publicKey.type} but the certificate (${subject}) holds ${leafKey?.type ?? "a key of another kind"}: the key is not the certificate's.${hint}`,
      );
    }
    if (!sameKey(publicKey, leafKey)) refuse(`the key does not belong to the certificate (${subject}).${hint}`);
    return new ClientIdentity(label, chain, subject, publicKey.type, format, key);
  });
}

/**
 * A certificate's subject as people read it, walked with asn1js: pkijs, which ../../pins/summary.ts uses, is
 * loaded only when a server's certificates are described, and reading options should not load it.
 */
function subjectOf(certificate: Uint8Array): string {
  // TBSCertificate: [0] version (optional), serial, signature, issuer, validity, subject, ...
  const fields = elements(elements(parseDer(certificate))[0]);
  const subject = fields[(contextTag(fields[0]!) === 0 ? 1 : 0) + 4];
  return formatName(
    elements(subject).flatMap((rdn) =>
      elements(rdn).map((attribute) => {
        const [type, value] = elements(attribute);
        return { type: oid(type), value: (value as { valueBlock: { value?: unknown } }).valueBlock.value };
      }),
    ),
  );
}

/** Runs `use`, wiping `key` if it throws. */
function withWipe<T>(key: Uint8Array, use: () => T): T {
  try {
    return use();
  } catch (error) {
    key.fill(0);
    throw error;
  }
}
