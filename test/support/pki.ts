// Test-time PKI generator: ECDSA P-256 certificates built with pkijs + asn1js + WebCrypto.
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
}

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
    new asn1js.Set({ value: [new pkijs.AttributeTypeAndValue({ type, value: new asn1js.Utf8String({ value }) }).toSchema()] });
  const der = new asn1js.Sequence({ value: [rdn("2.5.4.10", ORGANIZATION), rdn("2.5.4.3", commonName)] }).toBER(false);
  return new pkijs.RelativeDistinguishedNames({ schema: asn1js.fromBER(der).result });
}

function extension(extnID: string, critical: boolean, value: asn1js.BaseBlock | pkijs.PkiObject): pkijs.Extension {
  const schema = value instanceof pkijs.PkiObject ? value.toSchema() : value;
  return new pkijs.Extension({ extnID, critical, extnValue: schema.toBER(false) });
}

// RFC 5280: UTCTime for years before 2050, GeneralizedTime from then on.
function time(value: Date): pkijs.Time {
  return new pkijs.Time({ type: value.getUTCFullYear() < 2050 ? pkijs.TimeType.UTCTime : pkijs.TimeType.GeneralizedTime, value });
}

// Key identifier: SHA-1 of the subjectPublicKey bits (the raw uncompressed EC point).
async function keyId(publicKey: CryptoKey): Promise<Uint8Array> {
  return new Uint8Array(await subtle.digest("SHA-1", await subtle.exportKey("raw", publicKey)));
}

// KeyUsage as a DER named bit string (trailing zero bits trimmed).
function keyUsage(bits: number, unusedBits: number): asn1js.BitString {
  return new asn1js.BitString({ valueHex: new Uint8Array([bits]), unusedBits });
}

export async function issue(options: IssueOptions): Promise<Issued> {
  const key = options.key ?? (await subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]));
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
  await cert.subjectPublicKeyInfo.importKey(key.publicKey);

  const ski = await keyId(key.publicKey);
  const aki = options.issuer ? await keyId(options.issuer.key.publicKey) : ski;

  const extensions = [
    extension("2.5.29.14", false, new asn1js.OctetString({ valueHex: ski })),
    extension("2.5.29.35", false, new pkijs.AuthorityKeyIdentifier({ keyIdentifier: new asn1js.OctetString({ valueHex: aki }) })),
    extension("2.5.29.19", true, new pkijs.BasicConstraints({ cA: options.ca ?? false })),
  ];
  if (options.ca) {
    extensions.push(extension("2.5.29.15", true, keyUsage(0x06, 1))); // keyCertSign, cRLSign
  } else {
    extensions.push(extension("2.5.29.15", true, keyUsage(0x80, 7))); // digitalSignature
    extensions.push(extension("2.5.29.37", false, new pkijs.ExtKeyUsage({ keyPurposes: ["1.3.6.1.5.5.7.3.1"] })));
  }
  const altNames = [
    ...(options.dnsNames ?? []).map((value) => new pkijs.GeneralName({ type: 2, value })),
    ...(options.ipAddresses ?? []).map(
      (ip) => new pkijs.GeneralName({ type: 7, value: new asn1js.OctetString({ valueHex: ipBytes(ip) }) }),
    ),
  ];
  if (altNames.length > 0) extensions.push(extension("2.5.29.17", false, new pkijs.AltName({ altNames })));
  cert.extensions = extensions;

  await cert.sign((options.issuer?.key ?? key).privateKey, "SHA-256");
  const der = new Uint8Array(cert.toSchema(true).toBER(false));
  const pkcs8 = await subtle.exportKey("pkcs8", key.privateKey);
  return { certPem: toPem("CERTIFICATE", der), keyPem: toPem("PRIVATE KEY", pkcs8), der, key, subject: options.commonName };
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
    expiredLeaf: await issue({ ...localhost, issuer: intermediate, notBefore: new Date(now - 3 * DAY), notAfter: new Date(now - DAY) }),
    wrongNameLeaf: await issue({ commonName: "wrong.example", dnsNames: ["wrong.example"], issuer: intermediate }),
    otherRoot,
    otherIntermediate,
    otherLeaf: await issue({ ...localhost, issuer: otherIntermediate }),
  };
}
