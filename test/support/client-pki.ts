// Client certificates for the mutual-TLS scenarios: a client CA with a leaf
// for each key type pinned-fetch signs with, a leaf under an intermediate
// (whose chain the client must send), and a leaf from another client CA;
// each key in every file format a user may hold. Run by the Node fixture
// (node:crypto writes the PKCS#1, SEC1 and encrypted PKCS#8 forms).
import { createPrivateKey } from "node:crypto";

import type { ClientIdentityFiles, ClientIdentityName, ClientKeyName } from "../conformance/harness/description.js";
import { buildPkcs12 } from "./pkcs12.js";
import { CLIENT_AUTH, type IssueOptions, type Issued, issue } from "./pki.js";

/** Of every encrypted key and PKCS#12 file; distinctive, so that a scenario can look for it in messages. */
const PASSPHRASE = "client-passphrase-9c41e7";

const KEY_TYPES: Record<ClientKeyName, { algorithm: IssueOptions["algorithm"]; legacy?: "pkcs1" | "sec1" }> = {
  rsa2048: { algorithm: "RSA-2048", legacy: "pkcs1" },
  rsa4096: { algorithm: "RSA-4096", legacy: "pkcs1" },
  p256: { algorithm: "P-256", legacy: "sec1" },
  p384: { algorithm: "P-384", legacy: "sec1" },
  ed25519: { algorithm: "Ed25519" },
};

export interface ClientPki {
  /** PEM of the CA the client-auth servers accept. */
  ca: string;
  /**
   * An identity, made at its first call (RSA 4096 keys take seconds to generate, which the fixture's start
   * should not wait for) and the same one afterwards.
   */
  identity(name: ClientIdentityName): Promise<ClientIdentityFiles>;
}

export async function createClientPki(): Promise<ClientPki> {
  const ca = await issue({ commonName: "pinned-fetch Test Client CA", ca: true });
  const intermediate = await issue({ commonName: "pinned-fetch Test Client Intermediate CA", ca: true, issuer: ca });
  const otherCa = await issue({ commonName: "Impostor Client CA", ca: true });
  const client = (commonName: string, issuer: Issued, algorithm?: IssueOptions["algorithm"]) =>
    issue({ commonName, issuer, extendedKeyUsage: [CLIENT_AUTH], ...(algorithm && { algorithm }) });
  const make = (name: ClientIdentityName): Promise<ClientIdentityFiles> => {
    if (name === "chained") {
      return client("pinned-fetch client under an intermediate", intermediate).then((leaf) =>
        files(leaf, [intermediate]),
      );
    }
    if (name === "other") return client("pinned-fetch client of another CA", otherCa).then((leaf) => files(leaf, []));
    const { algorithm, legacy } = KEY_TYPES[name];
    return client(`pinned-fetch client ${algorithm}`, ca, algorithm).then((leaf) => files(leaf, [], legacy));
  };
  const made = new Map<ClientIdentityName, Promise<ClientIdentityFiles>>();
  return {
    ca: ca.certPem,
    identity(name) {
      if (!made.has(name)) made.set(name, make(name));
      return made.get(name)!;
    },
  };
}

async function files(leaf: Issued, intermediates: Issued[], legacy?: "pkcs1" | "sec1"): Promise<ClientIdentityFiles> {
  const key = createPrivateKey(leaf.keyPem);
  const chain = [leaf, ...intermediates];
  const pfx = await buildPkcs12({
    keyPkcs8Der: key.export({ type: "pkcs8", format: "der" }),
    certificateDers: chain.map((certificate) => certificate.der),
    password: PASSPHRASE,
  });
  return {
    subject: leaf.subject,
    cert: chain.map((certificate) => certificate.certPem).join(""),
    keys: {
      pkcs8: leaf.keyPem,
      ...(legacy && { [legacy]: key.export({ type: legacy, format: "pem" }) as string }),
      encryptedPkcs8: key.export({
        type: "pkcs8",
        format: "pem",
        cipher: "aes-256-cbc",
        passphrase: PASSPHRASE,
      }) as string,
    },
    pfx: Buffer.from(pfx).toString("base64"),
    passphrase: PASSPHRASE,
  };
}
