// subtls (TLS 1.3 in TypeScript over SubtleCrypto), the portable peer, as a
// reference row of the cold measure in Node: a node:net socket, subtls's
// handshake against the bench CA, the leaf's SPKI checked against the pins,
// then a GET with `connection: close` read to the server's close. It is not
// a dependency of the project: the row appears only where `subtls` is
// installed (npm install --no-save subtls@0.5.0).
import { createHash } from "node:crypto";
import { connect } from "node:net";

import type { Client, Target } from "./common.js";

interface Subtls {
  startTls(
    host: string,
    roots: unknown,
    read: (bytes: number, mode?: unknown) => Promise<Uint8Array | undefined>,
    write: (data: Uint8Array) => void,
  ): Promise<{
    read(): Promise<Uint8Array | undefined>;
    write(data: Uint8Array): Promise<void>;
    userCert: { publicKey: { all: Uint8Array } };
  }>;
  SocketReadQueue: new (socket: ReturnType<typeof connect>) => {
    read(bytes: number, mode?: unknown): Promise<Uint8Array | undefined>;
  };
  TrustedCert: { databaseFromPEM(pem: string): Promise<unknown> };
}

/** The installed subtls's version and a cold client over it, or undefined when it is not installed. */
export async function subtlsClient(target: Target): Promise<{ version: string; client: Client } | undefined> {
  let subtls: Subtls;
  let version: string;
  try {
    const name = "subtls"; // not a dependency: resolved only at run time
    subtls = (await import(`${name}/index.js`)) as Subtls;
    const { createRequire } = await import("node:module");
    version = (createRequire(import.meta.url)(`${name}/package.json`) as { version: string }).version;
  } catch {
    return undefined;
  }
  const roots = await subtls.TrustedCert.databaseFromPEM(target.ca);
  const encoder = new TextEncoder();
  const get = async (path: string): Promise<number> => {
    const socket = connect({ host: "127.0.0.1", port: target.port, noDelay: true });
    try {
      await new Promise((resolve, reject) => socket.once("connect", resolve).once("error", reject));
      const queue = new subtls.SocketReadQueue(socket);
      const tls = await subtls.startTls(
        "localhost",
        roots,
        (bytes, mode) => queue.read(bytes, mode),
        (data) => socket.write(data),
      );
      const pin = `sha256/${createHash("sha256").update(tls.userCert.publicKey.all).digest("base64")}`;
      if (!target.pins.includes(pin)) throw new Error("pin mismatch");
      await tls.write(encoder.encode(`GET ${path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n`));
      const parts: Uint8Array[] = [];
      // Bounded: a 1 KiB answer comes in a record or two.
      for (let records = 0; records < 10_000; records++) {
        const data = await tls.read();
        if (!data) break;
        parts.push(data);
      }
      const answer = Buffer.concat(parts);
      const bodyAt = answer.indexOf("\r\n\r\n");
      if (!answer.subarray(0, 12).toString().startsWith("HTTP/1.1 200") || bodyAt === -1) throw new Error("bad answer");
      return answer.length - bodyAt - 4;
    } finally {
      socket.destroy();
    }
  };
  return { version, client: { get, close: async () => {} } };
}
