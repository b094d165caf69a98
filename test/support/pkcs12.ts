// PKCS#12 files in OpenSSL 3's default format, built with pkijs and WebCrypto
// so that tests need no openssl binary: certificates in a PBES2 safe and the
// key in a PBES2-shrouded bag (AES-256-CBC, PBKDF2-HMAC-SHA256, 2048
// iterations), MAC HMAC-SHA256 with the PKCS#12 KDF. Runs in Node, Deno and Bun.
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";

export interface Pkcs12Input {
  /** The private key, PKCS#8 DER. */
  keyPkcs8Der: Uint8Array;
  /** The certificates, DER, leaf first. */
  certificateDers: readonly Uint8Array[];
  /** "" for a file without a passphrase. */
  password: string;
  /** false: no localKeyId attributes, so that a reader must find the leaf by its key (default true). */
  localKeyId?: boolean;
}

const CERT_BAG = "1.2.840.113549.1.12.10.1.3";
const SHROUDED_KEY_BAG = "1.2.840.113549.1.12.10.1.2";
const X509_CERTIFICATE = "1.2.840.113549.1.9.22.1";
const LOCAL_KEY_ID = "1.2.840.113549.1.9.21";
const ITERATIONS = 2048;

export async function buildPkcs12({
  keyPkcs8Der,
  certificateDers,
  password,
  localKeyId = true,
}: Pkcs12Input): Promise<Uint8Array> {
  // pkijs hands PBKDF2 the password's bytes and makes the MAC's BMPString from them, as OpenSSL does.
  const passwordBytes = new TextEncoder().encode(password).buffer;
  const leafId = new Uint8Array(await crypto.subtle.digest("SHA-1", new Uint8Array(certificateDers[0]!)));
  const attributes = localKeyId
    ? [new pkijs.Attribute({ type: LOCAL_KEY_ID, values: [new asn1js.OctetString({ valueHex: leafId })] })]
    : undefined;
  const certBags = certificateDers.map(
    (der, index) =>
      new pkijs.SafeBag({
        bagId: CERT_BAG,
        bagValue: new pkijs.CertBag({
          certId: X509_CERTIFICATE,
          certValue: new asn1js.OctetString({ valueHex: new Uint8Array(der) }),
        }),
        ...(index === 0 && attributes ? { bagAttributes: attributes } : {}),
      }),
  );
  const encryption = {
    password: passwordBytes,
    // pkijs draws the IV itself; its type asks for one all the same.
    contentEncryptionAlgorithm: { name: "AES-CBC", length: 256 } as pkijs.ContentEncryptionAlgorithm,
    hmacHashAlgorithm: "SHA-256",
    iterationCount: ITERATIONS,
  };
  // What PKCS8ShroudedKeyBag.makeInternalValues does, minus its re-encoding of the key through pkijs's parser
  // (which cannot read every PKCS#8 key OpenSSL writes).
  const encryptedKey = new pkijs.EncryptedData();
  await encryptedKey.encrypt({ ...encryption, contentToEncrypt: new Uint8Array(keyPkcs8Der).buffer });
  const shrouded = new pkijs.PKCS8ShroudedKeyBag({
    encryptionAlgorithm: encryptedKey.encryptedContentInfo.contentEncryptionAlgorithm,
    encryptedData: encryptedKey.encryptedContentInfo.encryptedContent!,
  });
  const keyBag = new pkijs.SafeBag({
    bagId: SHROUDED_KEY_BAG,
    bagValue: shrouded,
    ...(attributes ? { bagAttributes: attributes } : {}),
  });
  const authenticatedSafe = new pkijs.AuthenticatedSafe({
    parsedValue: {
      safeContents: [
        { privacyMode: 1, value: new pkijs.SafeContents({ safeBags: certBags }) },
        { privacyMode: 0, value: new pkijs.SafeContents({ safeBags: [keyBag] }) },
      ],
    },
  });
  await authenticatedSafe.makeInternalValues({ safeContents: [encryption, {}] });
  const pfx = new pkijs.PFX({ parsedValue: { integrityMode: 0, authenticatedSafe } });
  await pfx.makeInternalValues({
    password: passwordBytes,
    iterations: ITERATIONS,
    pbkdf2HashAlgorithm: "SHA-256",
    hmacHashAlgorithm: "SHA-256",
  });
  return new Uint8Array(pfx.toSchema().toBER(false));
}
