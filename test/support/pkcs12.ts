// PKCS#12 files as OpenSSL 3 writes them by default (`openssl pkcs12 -export`):
// the key in a PBES2 shrouded bag and the certificates in a PBES2-encrypted
// safe (PBKDF2 with HMAC-SHA-256, AES-256-CBC, 2048 iterations), and a
// SHA-256 MAC. Built with pkijs + WebCrypto, so no openssl binary is needed.
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";

const ITERATIONS = 2048;
const LOCAL_KEY_ID = "1.2.840.113549.1.9.21";
const KEY_BAG = "1.2.840.113549.1.12.10.1.2";
const CERT_BAG = "1.2.840.113549.1.12.10.1.3";

export interface Pkcs12Contents {
  keyPkcs8Der: Uint8Array;
  /** Leaf first. */
  certificateDers: readonly Uint8Array[];
  password: string;
}

export async function buildPkcs12({ keyPkcs8Der, certificateDers, password }: Pkcs12Contents): Promise<Uint8Array> {
  const passwordBytes = new TextEncoder().encode(password).buffer;
  const encryption = {
    password: passwordBytes,
    // pkijs draws the IV itself.
    contentEncryptionAlgorithm: { name: "AES-CBC", length: 256 } as pkijs.ContentEncryptionAesCbcParams,
    hmacHashAlgorithm: "SHA-256",
    iterationCount: ITERATIONS,
  };
  // As OpenSSL does: the leaf and the key share a localKeyID, the SHA-1 of the leaf.
  const localKeyId = new Uint8Array(await crypto.subtle.digest("SHA-1", certificateDers[0]!.slice()));
  const localKeyIdAttribute = () =>
    new pkijs.Attribute({ type: LOCAL_KEY_ID, values: [new asn1js.OctetString({ valueHex: localKeyId })] });

  const keyBag = new pkijs.PKCS8ShroudedKeyBag({
    parsedValue: new pkijs.PrivateKeyInfo({ schema: asn1js.fromBER(keyPkcs8Der.slice()).result }),
  });
  await keyBag.makeInternalValues(encryption);
  const certBags = certificateDers.map(
    (der, index) =>
      new pkijs.SafeBag({
        bagId: CERT_BAG,
        bagValue: new pkijs.CertBag({
          parsedValue: new pkijs.Certificate({ schema: asn1js.fromBER(der.slice()).result }),
        }),
        ...(index === 0 && { bagAttributes: [localKeyIdAttribute()] }),
      }),
  );

  const authenticatedSafe = new pkijs.AuthenticatedSafe({
    parsedValue: {
      safeContents: [
        { privacyMode: 1, value: new pkijs.SafeContents({ safeBags: certBags }) }, // encrypted with the password
        {
          privacyMode: 0, // in the clear: the key bag is encrypted itself
          value: new pkijs.SafeContents({
            safeBags: [new pkijs.SafeBag({ bagId: KEY_BAG, bagValue: keyBag, bagAttributes: [localKeyIdAttribute()] })],
          }),
        },
      ],
    },
  });
  await authenticatedSafe.makeInternalValues({ safeContents: [encryption, {}] });

  const pfx = new pkijs.PFX({ parsedValue: { integrityMode: 0, authenticatedSafe } });
  await pfx.makeInternalValues({
    password: passwordBytes,
    iterations: ITERATIONS,
    pbkdf2HashAlgorithm: { name: "SHA-256" },
    hmacHashAlgorithm: "SHA-256",
  });
  return new Uint8Array(pfx.toSchema().toBER(false));
}
