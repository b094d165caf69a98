// Go's crypto/tls as a test and benchmark server (go-tls-server/main.go): the one
// server on a fresh machine that can be limited to X25519MLKEM768 and says which
// group each connection negotiated. Built once per version of its source into the
// temporary directory (the first build compiles Go's standard library: about 25 s).
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { type ChildServer, startChildServer } from "./child-server.js";
import type { Issued } from "./pki.js";

const SOURCE = fileURLToPath(new URL("go-tls-server/main.go", import.meta.url));
/** Bounds the build, which is slow only the first time on a machine. */
const BUILD_TIMEOUT = 180_000;

/** The groups by pinned-fetch's names for them (`TlsConnection.keyExchange`). */
export type GoGroup = "X25519MLKEM768" | "X25519" | "secp256r1" | "secp384r1";

export type GoTlsServer = ChildServer;

export interface GoTlsServerOptions {
  /** The leaf first, then what else the server sends. */
  chain: readonly Issued[];
  key: Issued;
  /** The only groups the server accepts, its preferred first. */
  groups: readonly GoGroup[];
  /** No session tickets, so that every handshake is a full one (Go resumes through tickets only). */
  noTickets?: boolean;
  /** Offer h2 before http/1.1: net/http's own HTTP/2 server, far cheaper per request than node:http2's. */
  h2?: boolean;
}

let built: Promise<string> | undefined;

/**
 * Starts the server on 127.0.0.1 (port 0). Every response carries the connection's group in `x-key-exchange`;
 * `GET /bytes/N` answers N zero bytes, `GET /counters` the requests and connections counted per `?tag=`, any other
 * path `{ keyExchange, protocol }` as JSON; `x-http-version` says "HTTP/2.0" or "HTTP/1.1".
 */
export async function startGoTlsServer(options: GoTlsServerOptions): Promise<GoTlsServer> {
  const binary = await (built ??= build());
  return startChildServer(binary, [...options.groups], {
    env: {
      CERT_PEM: options.chain.map((issued) => issued.certPem).join(""),
      KEY_PEM: options.key.keyPem,
      NO_TICKETS: options.noTickets ? "1" : "",
      H2: options.h2 ? "1" : "",
    },
  });
}

/** Where the binary for this source is, building it first if no run has. */
async function build(): Promise<string> {
  const source = readFileSync(SOURCE);
  const binary = join(
    tmpdir(),
    `pinned-fetch-go-tls-server-${createHash("sha256").update(source).digest("hex").slice(0, 16)}`,
  );
  if (existsSync(binary)) return binary;
  // Built beside its final name and renamed, so that a process building at the same time never runs half a file.
  const partial = `${binary}.${process.pid}`;
  await promisify(execFile)("go", ["build", "-o", partial, SOURCE], {
    env: { ...process.env, CGO_ENABLED: "0", GOTOOLCHAIN: "local", GOFLAGS: "" },
    timeout: BUILD_TIMEOUT,
  });
  renameSync(partial, binary);
  return binary;
}
