// The pinned-fetch command, run as a subprocess the way people run it: in
// Node (from source, through tsx), in Deno and in Bun, against TLS servers
// on 127.0.0.1 with the test PKI. Pins and fingerprints are checked against
// node:crypto, independently of the code under test.
import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createPinnedFetch, type PinnedFetchOptions } from "../src/index.js";
import { type GoTlsServer, startGoTlsServer } from "./support/go-tls-server.js";
import { buildPkcs12 } from "./support/pkcs12.js";
import { CLIENT_AUTH, createPki, issue, type Issued, type Pki } from "./support/pki.js";
import { BUN, CHILD_ENV, DENO, ROOT, denoRun } from "./support/runtimes.js";
import { pinOf, startClientAuthServer, startHttpsServer, type TestServer } from "./support/servers.js";
import { HELLO } from "./support/content.js";

const CLI = join(ROOT, "src", "cli.ts");
/** tsx's loader by absolute URL, so that Node finds it from any working directory. */
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
/** A child that runs longer has hung. */
const CHILD_TIMEOUT = 30_000;
const TEST_TIMEOUT = 60_000;
const BODY = HELLO;

interface Outcome {
  status: number;
  stdout: string;
  stderr: string;
}

let pki: Pki;
let good: TestServer;
let appended: TestServer;
let rootIssued: TestServer;
let withRoot: TestServer;
let selfSigned: TestServer;
let notCa: TestServer;
/** Requires a client certificate from the test PKI's root. */
let clientAuth: TestServer;
/** Go's crypto/tls, accepting X25519MLKEM768 alone. */
let hybridOnly: GoTlsServer;
/** The client certificate's files: PEM certificate, PEM key, and both in PKCS#12 under P12_PASSWORD. */
let clientFiles: { cert: string; key: string; p12: string };
const P12_PASSWORD = "cli-p12-passphrase";
let workspace: string;
let caFile: string;
let selfSignedFile: string;
/** Outside every folder Deno is allowed to read. */
let unreadable: string;

beforeAll(async () => {
  pki = await createPki();
  // A leaf the root issued directly: a verified path with no intermediate.
  const directLeaf = await issue({ commonName: "localhost", dnsNames: ["localhost"], issuer: pki.root });
  // Classical groups named, as the key-exchange tests expect X25519 of it whatever OpenSSL runs the tests.
  good = await startHttpsServer({
    chain: [pki.leaf, pki.intermediate],
    key: pki.leaf,
    ecdhCurve: "X25519:P-256:P-384",
  });
  appended = await startHttpsServer({ chain: [pki.leaf, pki.intermediate, pki.otherRoot], key: pki.leaf });
  rootIssued = await startHttpsServer({ chain: [directLeaf], key: directLeaf });
  withRoot = await startHttpsServer({ chain: [pki.leaf, pki.intermediate, pki.root], key: pki.leaf });
  const selfSignedLeaf = await issue({ commonName: "localhost", ca: true, dnsNames: ["localhost"] });
  selfSigned = await startHttpsServer({ chain: [selfSignedLeaf], key: selfSignedLeaf });
  // A chain whose intermediate is marked CA:FALSE: no other CA makes it acceptable.
  const falseCa = await issue({ commonName: "pinned-fetch Test CA:FALSE", ca: false, issuer: pki.root });
  const underFalseCa = await issue({ commonName: "localhost", dnsNames: ["localhost"], issuer: falseCa });
  notCa = await startHttpsServer({ chain: [underFalseCa, falseCa], key: underFalseCa });
  clientAuth = await startClientAuthServer({
    chain: [pki.leaf, pki.intermediate],
    key: pki.leaf,
    clientCa: pki.root.certPem,
    require: true,
  });
  hybridOnly = await startGoTlsServer({
    chain: [pki.leaf, pki.intermediate],
    key: pki.leaf,
    groups: ["X25519MLKEM768"],
  });
  const client = await issue({ commonName: "cli client", issuer: pki.root, extendedKeyUsage: [CLIENT_AUTH] });
  workspace = await mkdtemp(join(tmpdir(), "pinned-fetch-cli-"));
  clientFiles = {
    cert: join(workspace, "client.pem"),
    key: join(workspace, "client-key.pem"),
    p12: join(workspace, "client.p12"),
  };
  await writeFile(clientFiles.cert, client.certPem);
  await writeFile(clientFiles.key, client.keyPem);
  const keyPkcs8Der = new Uint8Array(await crypto.subtle.exportKey("pkcs8", client.key.privateKey));
  await writeFile(
    clientFiles.p12,
    await buildPkcs12({ keyPkcs8Der, certificateDers: [client.der], password: P12_PASSWORD }),
  );
  caFile = join(workspace, "root.pem");
  await writeFile(caFile, pki.root.certPem);
  selfSignedFile = join(workspace, "self-signed.pem");
  await writeFile(selfSignedFile, selfSignedLeaf.certPem);
  unreadable = await mkdtemp(join(tmpdir(), "pinned-fetch-cli-unreadable-"));
  await writeFile(join(unreadable, "root.pem"), pki.root.certPem);
  // The first start builds the Go server (within 180 s), which takes about half a minute on a fresh machine.
}, 200_000);
afterAll(async () => {
  await Promise.all(
    [good, appended, rootIssued, withRoot, selfSigned, notCa, clientAuth, hybridOnly].map((server) => server?.close()),
  );
  await Promise.all([workspace, unreadable].map((folder) => folder && rm(folder, { recursive: true, force: true })));
});

/** Runs a command to its end; rejects only if it could not run or hung. */
function run(command: string, args: string[], cwd: string): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, env: CHILD_ENV, timeout: CHILD_TIMEOUT }, (error, stdout, stderr) => {
      if (error && typeof error.code !== "number")
        reject(new Error(`${command} did not finish: ${error.message}\n${stderr}`));
      else resolve({ status: error ? (error.code as number) : 0, stdout, stderr });
    });
  });
}

/** The CLI in each runtime, with what Deno must be allowed: loopback, and the workspace for the files the CLI reads and writes. */
const RUNTIMES: Record<string, (args: string[], cwd?: string) => Promise<Outcome>> = {
  node: (args, cwd = ROOT) => run(process.execPath, ["--import", TSX, CLI, ...args], cwd),
  deno: (args, cwd = ROOT) =>
    run(
      DENO,
      [
        ...denoRun(["127.0.0.1", "localhost"], `--allow-read=${workspace}`),
        `--allow-write=${workspace}`,
        "--unstable-sloppy-imports",
        CLI,
        ...args,
      ],
      cwd,
    ),
  bun: (args, cwd = ROOT) => run(BUN, [CLI, ...args], cwd),
};

const url = (server: { port: number }, path = "/hello") => `https://localhost:${server.port}${path}`;
const trusted = () => ["--ca", caFile, "--resolve", "localhost:127.0.0.1"];
const fingerprintOf = (certificate: Issued) => new X509Certificate(certificate.certPem).fingerprint256;

/** The text from the snippet's start to its end. */
function snippetOf(stdout: string): string {
  const start = stdout.indexOf("createPinnedFetch({");
  expect(start).toBeGreaterThan(-1);
  return stdout.slice(start);
}

/** The options of the snippet, evaluated as pasted into a module that imports createPinnedFetch and readFileSync. */
function pastedOptions(stdout: string): PinnedFetchOptions {
  const code = snippetOf(stdout);
  return new Function("createPinnedFetch", "readFileSync", `return ${code}`)(
    (options: PinnedFetchOptions) => options,
    readFileSync,
  );
}

/** Fetches `url` with the snippet's options (and loopback for localhost): the response's body. */
async function fetchWithPasted(stdout: string, url: string): Promise<string> {
  const fetch = createPinnedFetch({ ...pastedOptions(stdout), resolve: { localhost: "127.0.0.1" } });
  try {
    return await (await fetch(url)).text();
  } finally {
    await fetch.close();
  }
}

/** The listing's entry for the certificate with `subject` (up to the next blank line). */
function entryOf(stdout: string, subject: string): string {
  const start = stdout.indexOf(`. CN=${subject}, `);
  expect(start).toBeGreaterThan(-1);
  return stdout.slice(start, stdout.indexOf("\n\n", start));
}

describe.each(Object.keys(RUNTIMES))("in %s", (runtime) => {
  const cli = (args: string[], cwd?: string) => RUNTIMES[runtime]!(args, cwd);

  it(
    "pins: lists the leaf and the intermediate with their pins and fingerprints, then a snippet with both",
    { timeout: TEST_TIMEOUT },
    async () => {
      const { status, stdout, stderr } = await cli(["pins", url(good), ...trusted()]);
      expect({ status, stderr }).toEqual({ status: 0, stderr: "" });
      for (const certificate of [pki.leaf, pki.intermediate]) {
        const entry = entryOf(stdout, certificate.subject);
        expect(entry).toContain("[on the verified path]");
        expect(entry).toContain(`pin      ${pinOf(certificate)}`);
        expect(entry).toContain(`SHA-256  ${fingerprintOf(certificate)}`);
      }
      const snippet = snippetOf(stdout);
      expect(snippet).toContain(`"localhost": [`);
      expect(snippet).toContain(`"${pinOf(pki.leaf)}", // CN=localhost`);
      expect(snippet).toContain(`"${pinOf(pki.intermediate)}", // CN=pinned-fetch Test Intermediate CA`);
      expect(snippet).toContain(`ca: readFileSync(${JSON.stringify(caFile)}, "utf8"),`);
      expect(pastedOptions(stdout).pins).toEqual({ localhost: [pinOf(pki.leaf), pinOf(pki.intermediate)] });
      expect(await fetchWithPasted(stdout, url(good))).toBe(BODY);
    },
  );

  it(
    "pins --ca: for a server that sends only its leaf, shows the CA from the file and pins it as the backup",
    { timeout: TEST_TIMEOUT },
    async () => {
      const { status, stdout, stderr } = await cli(["pins", url(rootIssued), ...trusted()]);
      expect({ status, stderr }).toEqual({ status: 0, stderr: "" });
      const anchor = entryOf(stdout, pki.root.subject);
      expect(anchor).toContain(`[on the verified path: its trust anchor, from ${caFile}, not sent by the server]`);
      expect(anchor).toContain(`pin      ${pinOf(pki.root)}`);
      expect(anchor).toContain(`SHA-256  ${fingerprintOf(pki.root)}`);
      expect(stdout).not.toContain("openssl");
      const snippet = snippetOf(stdout);
      expect(snippet).toContain(
        `"${pinOf(pki.root)}", // CN=pinned-fetch Test Root CA, O=pinned-fetch tests (root CA, the backup)`,
      );
      // Pasted as printed, the options verify and pin the server; without ca they could not (the test root is no Mozilla root).
      const pasted = pastedOptions(stdout);
      expect(pasted.ca).toBe(pki.root.certPem);
      expect(await fetchWithPasted(stdout, url(rootIssued))).toBe(BODY);
      const json = JSON.parse((await cli(["pins", url(rootIssued), ...trusted(), "--json"])).stdout) as {
        anchor: { pin: string; sha256: string; der: string };
        pins: Record<string, string[]>;
      };
      expect(json.anchor).toMatchObject({
        pin: pinOf(pki.root),
        sha256: fingerprintOf(pki.root),
        der: Buffer.from(pki.root.der).toString("base64"),
      });
      expect(json.pins).toEqual(pasted.pins);
      expect(pasted.pins).toEqual({ localhost: [json.pins.localhost![0], pinOf(pki.root)] });
    },
  );

  it(
    "pins: a root the server sends along that is the trust anchor is on the verified path, and listed once",
    { timeout: TEST_TIMEOUT },
    async () => {
      const { status, stdout } = await cli(["pins", url(withRoot), ...trusted()]);
      expect(status).toBe(0);
      expect(stdout).toContain("\n3. CN=pinned-fetch Test Root CA, O=pinned-fetch tests  [on the verified path]\n");
      expect(stdout).not.toContain("trust anchor");
      const json = JSON.parse((await cli(["pins", url(withRoot), ...trusted(), "--json"])).stdout) as {
        certificates: { pin: string; onVerifiedPath: boolean }[];
        anchor?: unknown;
      };
      expect(json.certificates.map(({ pin, onVerifiedPath }) => [pin, onVerifiedPath])).toEqual(
        [pki.leaf, pki.intermediate, pki.root].map((certificate) => [pinOf(certificate), true]),
      );
      expect(json.anchor).toBeUndefined();
    },
  );

  it(
    "pins --json: the certificates, with DER and ISO dates, and the suggested pins",
    { timeout: TEST_TIMEOUT },
    async () => {
      const { status, stdout } = await cli(["pins", url(good), ...trusted(), "--json"]);
      expect(status).toBe(0);
      const output = JSON.parse(stdout) as {
        certificates: { pin: string; sha256: string; der: string; notAfter: string; onVerifiedPath: boolean }[];
        pins: Record<string, string[]>;
      };
      expect(
        output.certificates.map(({ pin, sha256, der, onVerifiedPath }) => ({ pin, sha256, der, onVerifiedPath })),
      ).toEqual(
        [pki.leaf, pki.intermediate].map((certificate) => ({
          pin: pinOf(certificate),
          sha256: fingerprintOf(certificate),
          der: Buffer.from(certificate.der).toString("base64"),
          onVerifiedPath: true,
        })),
      );
      expect(new Date(output.certificates[0]!.notAfter).toISOString()).toBe(output.certificates[0]!.notAfter);
      expect(output.pins).toEqual({ localhost: [pinOf(pki.leaf), pinOf(pki.intermediate)] });
    },
  );

  it(
    "get: for a chain that no CA makes acceptable, says why and does not tell to pass --ca",
    { timeout: TEST_TIMEOUT },
    async () => {
      const { status, stderr } = await cli(["get", url(notCa), "--pin", pinOf(pki.root), ...trusted()]);
      expect(status).toBe(1);
      expect(stderr).toContain("is not one: it is marked CA:FALSE");
      expect(stderr).not.toContain("--ca");
    },
  );

  it(
    "pins: marks an unrelated certificate the server appends as not on the verified path",
    { timeout: TEST_TIMEOUT },
    async () => {
      const { status, stdout } = await cli(["pins", url(appended), ...trusted()]);
      expect(status).toBe(0);
      const extra = entryOf(stdout, pki.otherRoot.subject);
      expect(extra).toContain("[sent, but NOT on the verified path]");
      expect(extra).toContain(pinOf(pki.otherRoot));
      expect(snippetOf(stdout)).not.toContain(pinOf(pki.otherRoot));
    },
  );

  it(
    "pins: for an untrusted server, shows what it sent, tells to pass --ca, and exits 1",
    { timeout: TEST_TIMEOUT },
    async () => {
      const { status, stdout, stderr } = await cli(["pins", `https://127.0.0.1:${good.port}/`]);
      expect(status).toBe(1);
      expect(stdout).toContain("could NOT be verified");
      for (const certificate of [pki.leaf, pki.intermediate]) {
        expect(entryOf(stdout, certificate.subject)).toContain(pinOf(certificate));
      }
      expect(stdout).not.toContain("createPinnedFetch");
      expect(stderr).toContain("does not chain to a trusted root");
      expect(stderr).toContain("--ca FILE");
    },
  );

  it(
    "pins: prints the key exchange agreed; --no-post-quantum leaves out the group a hybrid-only server needs",
    { timeout: TEST_TIMEOUT },
    async () => {
      const classical = await cli(["pins", url(good), ...trusted()]);
      expect(classical.stdout).toMatch(/^localhost:\d+: TLSv1\.3, key exchange X25519\n/);
      const hybrid = await cli(["pins", url(hybridOnly), ...trusted()]);
      expect(hybrid.status).toBe(0);
      expect(hybrid.stdout).toMatch(/^localhost:\d+: TLSv1\.3, key exchange X25519MLKEM768 \(post-quantum\)\n/);
      const json = JSON.parse((await cli(["pins", url(hybridOnly), ...trusted(), "--json"])).stdout) as {
        tls: unknown;
      };
      expect(json.tls).toEqual({ protocol: "TLSv1.3", keyExchange: "X25519MLKEM768" });
      const refused = await cli(["pins", url(hybridOnly), ...trusted(), "--no-post-quantum"]);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain("X25519MLKEM768");
      expect(refused.stderr).toContain("--no-post-quantum");
    },
  );

  it(
    "get -v: prints each connection's key exchange and HTTP version on stderr, post-quantum unless --no-post-quantum",
    { timeout: TEST_TIMEOUT },
    async () => {
      const args = ["get", url(good), "--pin", pinOf(pki.leaf), ...trusted()];
      const connected = `pinned-fetch: connected to localhost:${good.port}: TLSv1.3, key exchange X25519, HTTP/1.1\n`;
      expect(await cli([...args, "-v"])).toEqual({ status: 0, stdout: BODY, stderr: connected });
      expect(await cli([...args, "--verbose", "--no-post-quantum"])).toEqual({
        status: 0,
        stdout: BODY,
        stderr: connected,
      });
      const hybrid = await cli(["get", url(hybridOnly, "/"), "--pin", pinOf(pki.leaf), ...trusted(), "-v"]);
      expect(hybrid.status).toBe(0);
      expect(JSON.parse(hybrid.stdout)).toEqual({ keyExchange: "X25519MLKEM768", protocol: "TLSv1.3" });
      expect(hybrid.stderr).toBe(
        `pinned-fetch: connected to localhost:${hybridOnly.port}: TLSv1.3, key exchange X25519MLKEM768 (post-quantum), HTTP/1.1\n`,
      );
    },
  );

  it("get: with a right pin, writes the body to stdout", { timeout: TEST_TIMEOUT }, async () => {
    const outcome = await cli(["get", url(good), "--pin", pinOf(pki.intermediate), ...trusted()]);
    expect(outcome).toEqual({ status: 0, stdout: BODY, stderr: "" });
  });

  it(
    "get -o: writes the body to a file named relative to the working directory",
    { timeout: TEST_TIMEOUT },
    async () => {
      const directory = join(workspace, runtime);
      await mkdir(directory);
      // `#` and `%` would be URL syntax if the path were not escaped.
      const name = "body #1 100%.txt";
      const outcome = await cli(["get", url(good), "--pin", pinOf(pki.leaf), ...trusted(), "-o", name], directory);
      expect(outcome).toEqual({ status: 0, stdout: "", stderr: "" });
      expect(await readFile(join(directory, name), "utf8")).toBe(BODY);
    },
  );

  it(
    "get: with a wrong pin, prints the pins the server has and what to do, once, and exits 1",
    { timeout: TEST_TIMEOUT },
    async () => {
      const { status, stdout, stderr } = await cli(["get", url(good), "--pin", pinOf(pki.otherRoot), ...trusted()]);
      expect({ status, stdout }).toEqual({ status: 1, stdout: "" });
      expect(stderr).toContain("pin mismatch");
      expect(stderr).toContain(pinOf(pki.leaf));
      expect(stderr).toContain(pinOf(pki.intermediate));
      const flat = stderr.replace(/\s*\n\s*/g, " ");
      for (const advice of ["changed its keys on purpose", "may be intercepted", "makes a good backup"]) {
        expect(flat.split(advice).length - 1, advice).toBe(1);
      }
      expect(stderr).toContain(
        `What to do: on this command line, a new pin of localhost goes in --pin, such as --pin ${pinOf(pki.intermediate)}`,
      );
    },
  );

  it(
    "get: refuses a redirect to a host the command line did not pin, naming it and --pin-host",
    { timeout: TEST_TIMEOUT },
    async () => {
      // 127.0.0.1 is another host, for which the same certificate is valid: only the missing pin stops it.
      const elsewhere = `https://127.0.0.1:${good.port}/hello?api_key=SECRET#frag`;
      const args = [
        "get",
        url(good, `/redirect/302?to=${encodeURIComponent(elsewhere)}`),
        "--pin",
        pinOf(pki.intermediate),
        ...trusted(),
      ];
      const { status, stdout, stderr } = await cli(args);
      expect({ status, stdout }).toEqual({ status: 1, stdout: "" });
      expect(stderr).toContain(
        `redirected (302) to https://127.0.0.1:${good.port}/hello, but the command line pins no key of 127.0.0.1`,
      );
      expect(stderr).toContain("--pin-host 127.0.0.1:PIN");
      expect(stderr).not.toContain("SECRET");
    },
  );

  it(
    "get --pin-host: follows a redirect to the host it pins, and refuses it there on a wrong pin",
    { timeout: TEST_TIMEOUT },
    async () => {
      const to = encodeURIComponent(`https://127.0.0.1:${good.port}/hello`);
      const args = ["get", url(good, `/redirect/302?to=${to}`), "--pin", pinOf(pki.intermediate), ...trusted()];
      expect(await cli([...args, "--pin-host", `127.0.0.1:${pinOf(pki.leaf)}`])).toEqual({
        status: 0,
        stdout: BODY,
        stderr: "",
      });
      const wrong = await cli([...args, "--pin-host", `127.0.0.1:${pinOf(pki.otherRoot)}`]);
      expect({ status: wrong.status, stdout: wrong.stdout }).toEqual({ status: 1, stdout: "" });
      expect(wrong.stderr).toContain("pin mismatch for 127.0.0.1");
      expect(wrong.stderr).toContain(
        `What to do: on this command line, a new pin of 127.0.0.1 goes in --pin-host, such as --pin-host 127.0.0.1:`,
      );
    },
  );

  it(
    "get --cert: presents the client certificate, from PEM files or PKCS#12, and without one says how to give it",
    { timeout: TEST_TIMEOUT },
    async () => {
      const args = ["get", url(clientAuth, "/"), "--pin", pinOf(pki.intermediate), ...trusted()];
      const subjectOf = ({ status, stdout, stderr }: Outcome) => {
        expect({ status, stderr }).toEqual({ status: 0, stderr: "" });
        return (JSON.parse(stdout) as { subject: string }).subject;
      };
      expect(subjectOf(await cli([...args, "--cert", clientFiles.cert, "--key", clientFiles.key]))).toBe("cli client");
      expect(subjectOf(await cli([...args, "--cert", clientFiles.p12, "--pass", P12_PASSWORD]))).toBe("cli client");
      // curl's FILE:PASSPHRASE form.
      expect(subjectOf(await cli([...args, "--cert", `${clientFiles.p12}:${P12_PASSWORD}`]))).toBe("cli client");
      const without = await cli(args);
      expect({ status: without.status, stdout: without.stdout }).toEqual({ status: 1, stdout: "" });
      expect(without.stderr).toContain("asked for a client certificate, and none is configured for it");
      expect(without.stderr).toContain("What to do: pass the client certificate the server expects with --cert FILE");
      const wrong = await cli([...args, "--cert", clientFiles.p12, "--pass", "not-the-passphrase"]);
      expect(wrong.status).toBe(2);
      expect(wrong.stderr).toContain("wrong");
      expect(wrong.stderr).not.toContain("not-the-passphrase");
    },
  );

  it("exits 2 for a usage error", { timeout: TEST_TIMEOUT }, async () => {
    const { status, stderr } = await cli(["pins"]);
    expect(status).toBe(2);
    expect(stderr).toContain("pins needs a URL.");
  });
});

describe("in deno", () => {
  it(
    "pins --ca without --allow-read for the file: says which permission to add, and exits 1, not as a usage error",
    { timeout: TEST_TIMEOUT },
    async () => {
      const file = join(unreadable, "root.pem");
      const args = [
        ...denoRun(["127.0.0.1", "localhost"]),
        "--unstable-sloppy-imports",
        CLI,
        "pins",
        url(good),
        "--ca",
        file,
      ];
      const { status, stdout, stderr } = await run(DENO, [...args, "--resolve", "localhost:127.0.0.1"], ROOT);
      expect({ status, stdout }).toEqual({ status: 1, stdout: "" });
      expect(stderr).toContain(`Cannot read the CA file ${file}: Deno did not let pinned-fetch read ${file}`);
      expect(stderr).toContain(`Run it with --allow-read=${file}.`);
      expect(stderr).not.toContain("--help");
    },
  );
});

describe("in node", () => {
  const cli = RUNTIMES.node!;

  it("--help prints the usage and exits 0", { timeout: TEST_TIMEOUT }, async () => {
    const { status, stdout } = await cli(["--help"]);
    expect(status).toBe(0);
    expect(stdout).toContain(
      "pinned-fetch pins <url> [--ca FILE] [--resolve HOST:ADDRESS] [--no-post-quantum] [--json]",
    );
    expect(stdout).toContain("pinned-fetch get <url> --pin PIN");
  });

  it.each([
    { args: [], message: "Usage:" },
    { args: ["fetch", "https://localhost/"], message: 'Unknown command "fetch"' },
    { args: ["pins", "https://localhost/", "--pin", "sha256/x"], message: "pins has no option --pin." },
    { args: ["get", "https://localhost/", "--json"], message: "get has no option --json." },
    { args: ["pins", "https://localhost/", "-v"], message: "pins has no option -v." },
    { args: ["get", "https://localhost/"], message: "get needs at least one --pin." },
    { args: ["pins", "https://localhost/", "https://example.com/"], message: "pins takes one URL" },
    { args: ["pins", "http://localhost/"], message: "only speaks HTTPS" },
    { args: ["pins", "https://localhost/", "--resolve"], message: "--resolve needs a value." },
    { args: ["pins", "https://localhost/", "--resolve", "localhost"], message: "--resolve takes HOST:ADDRESS" },
    { args: ["pins", "https://localhost/", "--resolve", "localhost:::1"], message: "with an IPv6 address in brackets" },
    {
      args: ["pins", "https://localhost/", "--resolve", "example.com:127.0.0.1"],
      message: "but the URL's host is localhost",
    },
    {
      args: ["pins", "https://localhost/", "--resolve", "localhost:8443:127.0.0.1"],
      message: "but the URL's port is 443",
    },
    { args: ["get", "https://localhost/", "--pin", "sha256/not-a-pin"], message: "Malformed pin for localhost" },
    {
      args: ["get", "https://localhost/", "--pin", "sha256/x", "--pin-host", "cdn.example"],
      message: "--pin-host takes HOST:PIN",
    },
    {
      args: ["get", "https://localhost/", "--pin-host", "cdn.example:sha256/x"],
      message: "get needs at least one --pin.",
    },
    {
      args: ["get", "https://user:SECRET@localhost/", "--pin", `sha256/${"A".repeat(43)}=`],
      message: "includes credentials (https://localhost/)",
    },
    {
      args: ["pins", "https://localhost/", "--ca", "no-such-ca.pem"],
      message: "Cannot read the CA file no-such-ca.pem",
    },
    {
      args: ["get", "https://localhost/", "--pin", "sha256/x", "--key", "client-key.pem"],
      message: "--key goes with --cert",
    },
    {
      args: ["get", "https://localhost/", "--pin", "sha256/x", "--cert", "a.pem", "--cert-type", "DER"],
      message: "--cert-type takes PEM or P12",
    },
    {
      args: ["get", "https://localhost/", "--pin", "sha256/x", "--cert", "a.p12", "--key", "a.pem"],
      message: "--key does not go with a PKCS#12 --cert",
    },
    {
      args: ["get", "https://localhost/", "--pin", "sha256/x", "--cert", "no-such-client.pem"],
      message: "Cannot read the client certificate no-such-client.pem",
    },
  ])("exits 2 and says $message", { timeout: TEST_TIMEOUT }, async ({ args, message }) => {
    const { status, stdout, stderr } = await cli(args);
    expect({ status, stdout }).toEqual({ status: 2, stdout: "" });
    expect(stderr).toContain(message);
  });

  it("exits 2 for a CA file that holds no certificate", { timeout: TEST_TIMEOUT }, async () => {
    const notPem = join(workspace, "not-a-certificate.pem");
    await writeFile(notPem, "not a certificate\n");
    const { status, stderr } = await cli(["pins", url(good), "--ca", notPem, "--resolve", "localhost:127.0.0.1"]);
    expect(status).toBe(2);
    expect(stderr).toContain("holds no PEM certificate");
  });

  it(
    "pins: for a leaf trusted by itself, says that only the leaf is on the path and how to get a backup",
    { timeout: TEST_TIMEOUT },
    async () => {
      const { status, stdout } = await cli([
        "pins",
        url(selfSigned),
        "--ca",
        selfSignedFile,
        "--resolve",
        "localhost:127.0.0.1",
      ]);
      expect(status).toBe(0);
      const snippet = snippetOf(stdout);
      expect(snippet).toContain(`// CN=localhost, O=pinned-fetch tests (leaf)`);
      expect(snippet).toContain("Only the leaf is on the verified path: it is trusted by itself.");
      expect(stdout).not.toContain("trust anchor");
      expect(await fetchWithPasted(stdout, url(selfSigned))).toBe(BODY);
    },
  );

  it("takes curl's HOST:PORT:ADDRESS and an absolute -o path", { timeout: TEST_TIMEOUT }, async () => {
    const output = join(workspace, "absolute.txt");
    const args = [
      "get",
      url(good),
      "--pin",
      pinOf(pki.leaf),
      "--ca",
      caFile,
      "--resolve",
      `localhost:${good.port}:127.0.0.1`,
    ];
    expect(await cli([...args, "-o", output])).toEqual({ status: 0, stdout: "", stderr: "" });
    expect(await readFile(output, "utf8")).toBe(BODY);
  });

  it("connects to an IPv6 address given in brackets", { timeout: TEST_TIMEOUT }, async () => {
    // Nothing listens on [::1] (the servers are on 127.0.0.1): the failure names the address it tried.
    const { status, stderr } = await cli(["pins", url(good), "--ca", caFile, "--resolve", "localhost:[::1]"]);
    expect(status).toBe(1);
    expect(stderr).toContain(`Connection to ::1:${good.port} failed`);
  });

  it(
    "notes an HTTP error status on stderr, without the URL's query or fragment, and still exits 0",
    { timeout: TEST_TIMEOUT },
    async () => {
      const outcome = await cli([
        "get",
        url(good, "/missing?api_key=SECRET#frag"),
        "--pin",
        pinOf(pki.leaf),
        ...trusted(),
      ]);
      expect(outcome).toEqual({
        status: 0,
        stdout: "not found",
        stderr: `pinned-fetch: ${url(good, "/missing")} answered 404 Not Found\n`,
      });
    },
  );
});
