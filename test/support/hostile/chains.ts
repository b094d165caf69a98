// Certificate chains built to make path building work as hard as it can
// (the mazes). webpki tries every certificate whose subject is the name that a
// path's head gives as its issuer, parses every sent certificate again at
// each step, goes up to 6 intermediates deep, and checks signatures once a
// path reaches a trust anchor's name. Same-named intermediates make that
// search explode; certificates named as if a trust anchor issued them make it
// check signatures that fail, which ring, in wasm, checks again at up to 30 ms
// each for a P-384 key. So the mazes are built against a P-384 root of their
// own, which the client trusts. Each is a leaf for localhost and what the
// server sends after it; none leads to that root.
import { type Issued, issue } from "../pki.js";

export const MAZES = ["same-named", "padded", "anchored", "linked", "at the bounds"] as const;
export type MazeName = (typeof MAZES)[number];

interface Maze {
  /** The leaf first. */
  chain: Issued[];
  key: Issued;
  /** What the client's error message must say. */
  says: string;
}

export interface Mazes {
  /** The P-384 root the client trusts, and whose name the anchored mazes use. */
  root: Issued;
  mazes: Record<MazeName, Maze>;
}

const MESH_NAME = "pinned-fetch Maze CA";
const LOCALHOST = { dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] };
/** What one TLS handshake message may carry (64 KiB: rustls refuses larger ones), less room for its framing. */
const CERTIFICATE_MESSAGE_ROOM = 60_000;
/** What the error messages say, for each outcome. */
const NO_PATH = "does not chain to a trusted root";
const TOO_COMPLEX = "too complex to verify";
const BAD_SIGNATURE = "does not verify";

/** `count` CA certificates of one name that sign each other: each is issued by the next, the last by itself. */
async function mesh(count: number): Promise<Issued[]> {
  const certificates: Issued[] = [await issue({ commonName: MESH_NAME, ca: true })];
  while (certificates.length < count)
    certificates.unshift(await issue({ commonName: MESH_NAME, ca: true, issuer: certificates[0] }));
  return certificates;
}

/** `count` CA certificates named as `root` and issued in its name, each signed by a key of its own. */
function impostors(root: Issued, count: number): Promise<Issued[]> {
  return Promise.all(
    Array.from({ length: count }, async () =>
      issue({
        commonName: root.subject,
        ca: true,
        issuer: root,
        signingKey: (await issue({ commonName: "a key" })).key,
      }),
    ),
  );
}

/** `chain`, then unrelated CA certificates, as many as fit in the handshake message: each is parsed. */
async function padded(chain: Issued[]): Promise<Issued[]> {
  let room = CERTIFICATE_MESSAGE_ROOM - chain.reduce((bytes, certificate) => bytes + certificate.der.length + 7, 0);
  const padding: Issued[] = [];
  for (;;) {
    const certificate = await issue({ commonName: `pinned-fetch Padding CA ${padding.length}`, ca: true });
    room -= certificate.der.length + 7;
    if (room < 0) return [...chain, ...padding];
    padding.push(certificate);
  }
}

/**
 * Before path building was bounded, "same-named" (the hostile tester's: 41
 * certificates, 20 KB, every signature valid) took about half a second in
 * one engine call, "padded" about 13 s, and "anchored" and "linked" spent
 * webpki's 100 signature checks, about 3 s. "at the bounds" stays within the
 * bounds of wasm/src/bounds.rs and fails the most signatures it lets fail.
 */
export async function buildMazes(): Promise<Mazes> {
  const root = await issue({ commonName: "pinned-fetch Maze Root CA", ca: true, algorithm: "P-384" });
  const leaf = (issuer: Issued, signingKey?: CryptoKeyPair) =>
    issue({ commonName: "localhost", ...LOCALHOST, issuer, ...(signingKey && { signingKey }) });
  const forged = async () => leaf(root, (await issue({ commonName: "a key" })).key);

  const forty = await mesh(40);
  // Nine same-named intermediates are enough to exhaust webpki's 200,000 steps; the padding makes each step dearer.
  const nine = await mesh(9);
  // The same, with one more of that name issued in the root's name: every certificate now lies on a chain of names to it.
  const bridge = await issue({ commonName: MESH_NAME, ca: true, issuer: root, signingKey: nine[8]!.key });
  const chains: Record<MazeName, [Issued[], string]> = {
    "same-named": [[await leaf(forty[0]!), ...forty], NO_PATH],
    padded: [await padded([await leaf(nine[0]!), ...nine]), NO_PATH],
    anchored: [[await forged(), ...(await impostors(root, 40))], TOO_COMPLEX],
    linked: [[await leaf(nine[0]!), bridge, ...nine], TOO_COMPLEX],
    // Two impostors: 5 partial paths reach the root's name, within the bound of 8.
    "at the bounds": [await padded([await forged(), ...(await impostors(root, 2))]), BAD_SIGNATURE],
  };
  const mazes = Object.fromEntries(
    Object.entries(chains).map(([name, [chain, says]]) => [name, { chain, key: chain[0]!, says }]),
  ) as Record<MazeName, Maze>;
  return { root, mazes };
}
