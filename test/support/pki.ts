// Test-time PKI generator: certificates built with pkijs + asn1js + WebCrypto,
// ECDSA P-256 unless another key algorithm is asked for.
// Uses only web APIs so it runs unchanged under Node, Deno and Bun.
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";

export interface Issued {
  certPem: string; // PEM "CERTIFICATE"
  keyPem: string; // PEM "PRIVATE KEY" (PKCS#8)
  der: Uint8Array; // DER of the certificate
  key: CryptoKeyPair; // for issuing further certificates
  subject: string; // the CN given
}

export interface IssueOptions {
  commonName: string;
  issuer?: Issued; // omitted: self-signed
  ca?: boolean;
  dnsNames?: string[];
  ipAddresses?: string[]; // IPv4 or IPv6 literals
  notBefore?: Date; // default: now - 1 hour
  notAfter?: Date; // default: now + 30 days
  key?: CryptoKeyPair; // reuse a key pair (to cross-sign a CA); default: a new one
  algorithm?: KeyAlgorithm; // of a new key; default P-256 (an Ed25519 key can be certified, not sign certificates)
  signingKey?: CryptoKeyPair; // sign with this key instead of the issuer's (a forged signature)
  signatureHash?: "SHA-1"; // sign with this hash instead of the key's (ECDSA keys: ecdsa-with-SHA1)
  basicConstraints?: false; // no basicConstraints extension at all (a CA then is not one)
  extendedKeyUsage?: string[]; // these key purpose OIDs instead of the default (serverAuth on a leaf, none on a CA)
  permittedNames?: string[]; // a critical nameConstraints extension permitting only these DNS names
  altNamesValue?: Uint8Array; // the subjectAltName extension's value as it is (malformed, say), instead of dnsNames and ipAddresses
}

type KeyAlgorithm = "P-256" | "P-384" | "RSA-2048" | "RSA-4096" | "Ed25519";

const KEY_ALGORITHMS: Record<
  KeyAlgorithm,
  { generate: RsaHashedKeyGenParams | EcKeyGenParams | Algorithm; hash: string }
> = {
  "P-256": { generate: { name: "ECDSA", namedCurve: "P-256" }, hash: "SHA-256" },
  "P-384": { generate: { name: "ECDSA", namedCurve: "P-384" }, hash: "SHA-384" },
  "RSA-2048": {
    generate: {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    },
    hash: "SHA-256",
  },
  // Seconds to generate: make one per run.
  "RSA-4096": {
    generate: {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: 4096,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    },
    hash: "SHA-256",
  },
  Ed25519: { generate: { name: "Ed25519" }, hash: "SHA-256" },
};

export interface Pki {
  root: Issued;
  intermediate: Issued;
  leaf: Issued;
  expiredLeaf: Issued;
  wrongNameLeaf: Issued;
  otherRoot: Issued;
  otherIntermediate: Issued;
  otherLeaf: Issued;
}

/** The extended key usages a test certificate may name. */
const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
export const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const ORGANIZATION = "pinned-fetch tests";
const subtle = globalThis.crypto.subtle;

function toPem(label: string, der: ArrayBuffer | Uint8Array): string {
  let binary = "";
  for (const byte of new Uint8Array(der)) binary += String.fromCharCode(byte);
  const body = btoa(binary).replace(/.{1,64}/g, "$&\n");
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}

function ipBytes(ip: string): Uint8Array {
  if (!ip.includes(":")) {
    const parts = ip.split(".").map(Number);
    if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255))) throw new Error(`invalid IPv4 address: ${ip}`);
    return Uint8Array.from(parts);
  }
  const [head, tail] = ip.split("::") as [string, string | undefined];
  const groups = (s: string | undefined): number[] => (s ? s.split(":").map((g) => parseInt(g, 16)) : []);
  const front = groups(head);
  const back = groups(tail);
  const fill = tail === undefined ? 0 : 8 - front.length - back.length;
  const all = [...front, ...new Array<number>(fill).fill(0), ...back];
  if (all.length !== 8 || all.some((g) => !(g >= 0 && g <= 0xffff))) throw new Error(`invalid IPv6 address: ${ip}`);
  return Uint8Array.from(all.flatMap((g) => [g >> 8, g & 0xff]));
}

// Distinguished name "O=pinned-fetch tests, CN=<commonName>", one attribute per RDN.
// (pkijs would put all attributes into a single multi-valued RDN, so build the DER ourselves.)
function name(commonName: string): pkijs.RelativeDistinguishedNames {
  const rdn = (type: string, value: string) =>
    new asn1js.Set({
      value: [new pkijs.AttributeTypeAndValue({ type, value: new asn1js.Utf8String({ value }) }).toSchema()],
    });
  const der = new asn1js.Sequence({ value: [rdn("2.5.4.10", ORGANIZATION), rdn("2.5.4.3", commonName)] }).toBER(false);
  return new pkijs.RelativeDistinguishedNames({ schema: asn1js.fromBER(der).result });
}

function extension(extnID: string, critical: boolean, value: asn1js.BaseBlock | pkijs.PkiObject): pkijs.Extension {
  const schema = value instanceof pkijs.PkiObject ? value.toSchema() : value;
  return new pkijs.Extension({ extnID, critical, extnValue: schema.toBER(false) });
}

// RFC 5280: UTCTime for years before 2050, GeneralizedTime from then on.
function time(value: Date): pkijs.Time {
  return new pkijs.Time({
    type: value.getUTCFullYear() < 2050 ? pkijs.TimeType.UTCTime : pkijs.TimeType.GeneralizedTime,
    value,
  });
}

// Key identifier: SHA-1 of the raw public key (an EC point), or of the SPKI for RSA, which has no raw form.
async function keyId(publicKey: CryptoKey): Promise<Uint8Array> {
  const format = publicKey.algorithm.name.startsWith("RSA") ? "spki" : "raw";
  return new Uint8Array(await subtle.digest("SHA-1", await subtle.exportKey(format, publicKey)));
}

function algorithmOf(key: CryptoKeyPair): KeyAlgorithm {
  const algorithm = key.publicKey.algorithm as EcKeyAlgorithm & RsaHashedKeyAlgorithm;
  if (algorithm.name === "ECDSA") return algorithm.namedCurve as "P-256" | "P-384";
  if (algorithm.name === "Ed25519") return "Ed25519";
  return algorithm.modulusLength === 4096 ? "RSA-4096" : "RSA-2048";
}

// KeyUsage as a DER named bit string (trailing zero bits trimmed).
function keyUsage(bits: number, unusedBits: number): asn1js.BitString {
  return new asn1js.BitString({ valueHex: new Uint8Array([bits]), unusedBits });
}

/**
 * The same certificate with one bit of its signature flipped: the same
 * to-be-signed part, a signature that no longer verifies. The signature's
 * last byte is the certificate's last byte.
 */
export function withAlteredSignature(certificate: Issued): Issued {
  const der = certificate.der.slice();
  der[der.length - 1]! ^= 0x01;
  return { ...certificate, der, certPem: toPem("CERTIFICATE", der) };
}

export async function issue(options: IssueOptions): Promise<Issued> {
  const key =
    options.key ??
    ((await subtle.generateKey(KEY_ALGORITHMS[options.algorithm ?? "P-256"].generate, true, [
      "sign",
      "verify",
    ])) as CryptoKeyPair);
  const now = Date.now();
  const cert = new pkijs.Certificate();
  cert.version = 2; // v3

  const serial = globalThis.crypto.getRandomValues(new Uint8Array(16));
  serial[0] = (serial[0]! & 0x7f) | 0x40; // positive, and minimal DER (no leading zero byte)
  cert.serialNumber = new asn1js.Integer({ valueHex: serial });

  cert.subject = name(options.commonName);
  cert.issuer = name(options.issuer?.subject ?? options.commonName);
  cert.notBefore = time(options.notBefore ?? new Date(now - HOUR));
  cert.notAfter = time(options.notAfter ?? new Date(now + 30 * DAY));
  // From the SPKI WebCrypto exports: pkijs's importKey does not know Ed25519.
  cert.subjectPublicKeyInfo = new pkijs.PublicKeyInfo({
    schema: asn1js.fromBER(await subtle.exportKey("spki", key.publicKey)).result,
  });

  const ski = await keyId(key.publicKey);
  const aki = options.issuer ? await keyId(options.issuer.key.publicKey) : ski;

  const extensions = [
    extension("2.5.29.14", false, new asn1js.OctetString({ valueHex: ski })),
    extension(
      "2.5.29.35",
      false,
      new pkijs.AuthorityKeyIdentifier({ keyIdentifier: new asn1js.OctetString({ valueHex: aki }) }),
    ),
  ];
  if (options.basicConstraints !== false) {
    extensions.push(extension("2.5.29.19", true, new pkijs.BasicConstraints({ cA: options.ca ?? false })));
  }
  if (options.ca) {
    extensions.push(extension("2.5.29.15", true, keyUsage(0x06, 1))); // keyCertSign, cRLSign
  } else {
    extensions.push(extension("2.5.29.15", true, keyUsage(0x80, 7))); // digitalSignature
  }
  const keyPurposes = options.extendedKeyUsage ?? (options.ca ? [] : [SERVER_AUTH]);
  if (keyPurposes.length > 0) extensions.push(extension("2.5.29.37", false, new pkijs.ExtKeyUsage({ keyPurposes })));
  if (options.permittedNames) {
    const permittedSubtrees = options.permittedNames.map(
      (value) => new pkijs.GeneralSubtree({ base: new pkijs.GeneralName({ type: 2, value }) }),
    );
    extensions.push(extension("2.5.29.30", true, new pkijs.NameConstraints({ permittedSubtrees })));
  }
  const altNames = [
    ...(options.dnsNames ?? []).map((value) => new pkijs.GeneralName({ type: 2, value })),
    ...(options.ipAddresses ?? []).map(
      (ip) => new pkijs.GeneralName({ type: 7, value: new asn1js.OctetString({ valueHex: ipBytes(ip) }) }),
    ),
  ];
  if (options.altNamesValue) {
    extensions.push(
      new pkijs.Extension({ extnID: "2.5.29.17", critical: false, extnValue: options.altNamesValue.slice().buffer }),
    );
  } else if (altNames.length > 0) {
    extensions.push(extension("2.5.29.17", false, new pkijs.AltName({ altNames })));
  }
  cert.extensions = extensions;

  const signer = options.signingKey ?? options.issuer?.key ?? key;
  await cert.sign(signer.privateKey, options.signatureHash ?? KEY_ALGORITHMS[algorithmOf(signer)].hash);
  const der = new Uint8Array(cert.toSchema(true).toBER(false));
  const pkcs8 = await subtle.exportKey("pkcs8", key.privateKey);
  return {
    certPem: toPem("CERTIFICATE", der),
    keyPem: toPem("PRIVATE KEY", pkcs8),
    der,
    key,
    subject: options.commonName,
  };
}

export async function createPki(): Promise<Pki> {
  const now = Date.now();
  const localhost = { commonName: "localhost", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1", "::1"] };
  const root = await issue({ commonName: "pinned-fetch Test Root CA", ca: true });
  const intermediate = await issue({ commonName: "pinned-fetch Test Intermediate CA", ca: true, issuer: root });
  const otherRoot = await issue({ commonName: "Impostor Root CA", ca: true });
  const otherIntermediate = await issue({ commonName: "Impostor Intermediate CA", ca: true, issuer: otherRoot });
  return {
    root,
    intermediate,
    leaf: await issue({ ...localhost, issuer: intermediate }),
    expiredLeaf: await issue({
      ...localhost,
      issuer: intermediate,
      notBefore: new Date(now - 3 * DAY),
      notAfter: new Date(now - DAY),
    }),
    wrongNameLeaf: await issue({ commonName: "wrong.example", dnsNames: ["wrong.example"], issuer: intermediate }),
    otherRoot,
    otherIntermediate,
    otherLeaf: await issue({ ...localhost, issuer: otherIntermediate }),
  };
}
