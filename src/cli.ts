#!/usr/bin/env node
// The pinned-fetch command: see the pins of what a server presents, and fetch with pins.
// It runs unchanged on Node, Deno and Bun: files go through the runtime adapters, and
// beyond them it uses only `process` and `console`, which all three provide.
import { type CertificateSummary, PinnedFetchError, shownUrl } from "./errors.js";
import { type PinnedFetch, observedPinnedFetch } from "./fetch.js";
import type { TlsConnection } from "./tls/connection.js";
import type { ClientCertificate } from "./tls/client-certificates.js";
import { type AnchorInfo, type CertificateInfo, inspectServer } from "./get-pins.js";
import { toBase64 } from "./encoding.js";
import { canonicalHost } from "./host.js";
import { MAX_REDIRECTS, redirectLocation } from "./http/redirects.js";
import { requestUrl } from "./request.js";
import { hostRuntime } from "./runtime/index.js";

const USAGE = `pinned-fetch: the certificates an HTTPS server presents, with their pins, and fetches pinned to them.

Usage:
  pinned-fetch pins <url> [--ca FILE] [--resolve HOST:ADDRESS] [--no-post-quantum] [--json]
  pinned-fetch get <url> --pin PIN [--pin PIN ...] [--pin-host HOST:PIN ...] [--ca FILE]
                   [--resolve HOST:ADDRESS] [--cert FILE [--key FILE] [--pass PHRASE]
                   [--cert-type PEM|P12]] [--no-post-quantum] [-v] [-o FILE]

Commands:
  pins  Print the TLS version and key exchange agreed, then the certificates the server
        sends, leaf first: subject, issuer, validity, pin
        (sha256/...) and SHA-256 fingerprint, and whether each is on the verified path; then
        the path's trust anchor (from --ca, or a built-in root) if the server did not send it.
        Then a pins snippet for createPinnedFetch: the leaf's pin, and as a backup the
        intermediate CA's, or the root's where the path has no intermediate; with --ca, the
        snippet passes the file as ca.
  get   Fetch the URL, accepting the server only if a certificate on its verified path has
        one of the pins, and write the body to stdout (or to FILE). Redirects are followed
        to the URL's host and to hosts pinned with --pin-host; a redirect to any other host
        fails, since that host would not be pinned.

Options:
  --pin PIN               A pin for the URL's host; repeat it for backup pins. sha256/<base64>,
                          sha1/<base64>, or a fingerprint as openssl prints it (AB:CD:...).
  --pin-host HOST:PIN     A pin for another host, which a redirect may then lead to; repeat it
                          for backup pins and more hosts. An IPv6 address goes in brackets.
  --ca FILE               PEM CA certificates to trust instead of the Mozilla roots (for a
                          server with a private CA).
  --resolve HOST:ADDRESS  Connect to ADDRESS for HOST, like curl's --resolve; the name sent and
                          verified is still HOST. An IPv6 address goes in brackets
                          (localhost:[::1]). curl's HOST:PORT:ADDRESS works too.
  --cert FILE[:PHRASE]    get: a client certificate for the URL's host, if it asks for one:
                          PEM (the certificate, then any intermediates; the key too, unless
                          --key names it), or PKCS#12 with --cert-type P12 or a .p12/.pfx name.
                          It is sent only after the server's certificate and pins passed, and
                          never to a host a redirect leads to.
  --key FILE              get: the PEM private key of --cert (PKCS#8, PKCS#1, SEC1, or
                          encrypted PKCS#8 with --pass).
  --pass PHRASE           get: the passphrase of an encrypted key or of a PKCS#12 file (or, as
                          in curl, after --cert's colon; write a colon in a file name as \\:).
  --cert-type TYPE        get: PEM (default) or P12.
  --no-post-quantum       Offer the classical key exchanges alone (X25519, P-256, P-384), not
                          the post-quantum X25519MLKEM768 first: for a middlebox that breaks
                          on the larger ClientHello.
  -v, --verbose           get: print each connection's TLS version and key exchange on stderr.
  --json                  pins: print JSON (DER as base64, dates in ISO 8601).
  -o FILE                 get: write the body to FILE instead of stdout.
  -h, --help              Print this help.

A URL without a scheme means https://; pinned-fetch never speaks plain HTTP.

Exit status: 0 success (whatever the HTTP status; one other than 2xx is noted on stderr),
1 a pin, certificate or connection failure, a redirect to a host not pinned, or a file that
cannot be written or that Deno may not read, 2 a mistake in the command line.

Examples:
  pinned-fetch pins https://example.com
  pinned-fetch pins https://localhost:8443 --ca ca.pem
  pinned-fetch get https://example.com/ --pin sha256/... --pin sha256/... -o page.html
  pinned-fetch get https://example.com/download --pin sha256/... --pin-host cdn.example.com:sha256/...`;

/** Each command's options: whether it takes a value. */
const COMMANDS = {
  pins: { "--ca": true, "--resolve": true, "--no-post-quantum": false, "--json": false },
  get: {
    "--pin": true,
    "--pin-host": true,
    "--ca": true,
    "--resolve": true,
    "--cert": true,
    "--key": true,
    "--pass": true,
    "--cert-type": true,
    "--no-post-quantum": false,
    "-v": false,
    "--verbose": false,
    "-o": true,
  },
} as const;

type Command = keyof typeof COMMANDS;

interface Invocation {
  command: Command;
  url: URL;
  host: string;
  /** Pins by canonical host: the URL's host's from --pin, and others' from --pin-host. */
  pins: Record<string, string[]>;
  caFile: string | undefined;
  clientCertificate: ClientCertificateFiles | undefined;
  resolve: Record<string, string> | undefined;
  postQuantum: boolean;
  verbose: boolean;
  json: boolean;
  output: string | undefined;
}

/** Where --cert, --key and --pass put the client certificate. */
interface ClientCertificateFiles {
  cert: string;
  /** Absent: the key is in the --cert file (PEM), or the file is PKCS#12. */
  key: string | undefined;
  pkcs12: boolean;
  passphrase: string | undefined;
}

/** A mistake in the command line: exit status 2. */
class UsageError extends Error {}

/** A failure of the command's own (the body could not be written, a redirect led to a host not pinned): exit status 1. */
class Failure extends Error {}

async function main(args: readonly string[]): Promise<number> {
  if (args.length === 0) {
    console.error(USAGE);
    return 2;
  }
  if (args.includes("--help") || args.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  let invocation: Invocation | undefined;
  try {
    invocation = parse(args);
    await (invocation.command === "pins" ? showPins : get)(invocation);
    return 0;
  } catch (error) {
    return report(error, invocation);
  }
}

function parse([command = "", ...rest]: readonly string[]): Invocation {
  if (!Object.hasOwn(COMMANDS, command)) {
    throw new UsageError(`Unknown command ${JSON.stringify(command)}: the commands are pins and get.`);
  }
  const options: Record<string, boolean> = COMMANDS[command as Command];
  const values = new Map<string, string[]>();
  const positional: string[] = [];
  for (let index = 0; index < rest.length; index++) {
    const argument = rest[index]!;
    if (!argument.startsWith("-")) {
      positional.push(argument);
      continue;
    }
    const [name, inline] =
      argument.startsWith("--") && argument.includes("=")
        ? [argument.slice(0, argument.indexOf("=")), argument.slice(argument.indexOf("=") + 1)]
        : [argument, undefined];
    if (!Object.hasOwn(options, name)) throw new UsageError(`${command} has no option ${name}.`);
    const value = options[name] ? (inline ?? rest[++index]) : "";
    if (value === undefined) throw new UsageError(`${name} needs a value.`);
    if (!options[name] && inline !== undefined) throw new UsageError(`${name} takes no value.`);
    if (values.has(name) && name !== "--pin" && name !== "--pin-host") throw new UsageError(`${name} is given twice.`);
    values.set(name, [...(values.get(name) ?? []), value]);
  }
  if (positional.length !== 1) {
    throw new UsageError(
      positional.length === 0 ? `${command} needs a URL.` : `${command} takes one URL, not ${positional.join(" ")}.`,
    );
  }
  const url = parseUrl(positional[0]!);
  const host = canonicalHost(url.hostname);
  if (host === null) throw new UsageError(`${JSON.stringify(url.hostname)} is not a valid host name.`);
  const pins: Record<string, string[]> = { [host]: values.get("--pin") ?? [] };
  for (const value of values.get("--pin-host") ?? []) {
    const [other, pin] = parsePinHost(value);
    (pins[other] ??= []).push(pin);
  }
  if (command === "get" && pins[host]!.length === 0) {
    throw new UsageError(`get needs at least one --pin. To see the server's pins: pinned-fetch pins ${url.origin}`);
  }
  const resolve = values.get("--resolve")?.[0];
  return {
    command: command as Command,
    url,
    host,
    pins,
    caFile: values.get("--ca")?.[0],
    clientCertificate: clientCertificateFiles(values),
    resolve: resolve === undefined ? undefined : parseResolve(resolve, url),
    postQuantum: !values.has("--no-post-quantum"),
    verbose: values.has("-v") || values.has("--verbose"),
    json: values.has("--json"),
    output: values.get("-o")?.[0],
  };
}

/** curl's --cert, --key, --pass and --cert-type; undefined without --cert. */
function clientCertificateFiles(values: Map<string, string[]>): ClientCertificateFiles | undefined {
  const [given, key, pass, type] = ["--cert", "--key", "--pass", "--cert-type"].map((name) => values.get(name)?.[0]);
  if (given === undefined) {
    const stray = ["--key", "--pass", "--cert-type"].find((name) => values.has(name));
    if (stray) throw new UsageError(`${stray} goes with --cert, which names the client certificate.`);
    return undefined;
  }
  // curl's FILE:PASSPHRASE, with `\:` for a colon in the file's name (and a Windows drive's colon left alone).
  const split = /^((?:[a-z]:[\\/])?(?:[^:\\]|\\.)*):(.*)$/is.exec(given);
  const cert = (split ? split[1]! : given).replace(/\\:/g, ":");
  if (split && pass !== undefined) {
    throw new UsageError(`give the passphrase in --pass or after --cert's colon, not both.`);
  }
  const passphrase = split ? split[2]! : pass;
  if (type !== undefined && !/^(pem|p12)$/i.test(type)) {
    throw new UsageError(`--cert-type takes PEM or P12, not ${JSON.stringify(type)}.`);
  }
  const pkcs12 = type === undefined ? /\.(p12|pfx)$/i.test(cert) : type.toUpperCase() === "P12";
  if (pkcs12 && key !== undefined) {
    throw new UsageError(`--key does not go with a PKCS#12 --cert, which holds the key itself.`);
  }
  return { cert, key, pkcs12, passphrase };
}

function parseUrl(text: string): URL {
  // A bare host (example.com, example.com:8443/path) can only mean https.
  const withScheme = /^[a-z][a-z\d+.-]*:\/\//i.test(text) ? text : `https://${text}`;
  if (!URL.canParse(withScheme)) throw new UsageError(`${JSON.stringify(text)} is not a URL.`);
  const url = new URL(withScheme);
  if (url.protocol !== "https:") {
    throw new UsageError(
      `pinned-fetch only speaks HTTPS, so it cannot pin ${url.protocol}//${url.host}; give an https:// URL.`,
    );
  }
  return url;
}

/** `HOST:PIN`, as curl writes a value for a host (`--resolve HOST:PORT:ADDRESS`); an IPv6 address in brackets. */
function parsePinHost(text: string): [string, string] {
  const match = /^(\[[^\]]+\]|[^:[\]]+):(.+)$/.exec(text);
  const host = match && canonicalHost(match[1]!);
  if (!host) {
    throw new UsageError(
      `--pin-host takes HOST:PIN, with an IPv6 address in brackets, such as cdn.example.com:sha256/...; not ${JSON.stringify(text)}.`,
    );
  }
  return [host, match[2]!];
}

/** curl's `HOST:ADDRESS`, or `HOST:PORT:ADDRESS` with the URL's port; an IPv6 address in brackets. */
function parseResolve(text: string, url: URL): Record<string, string> {
  const match = /^([^:[\]]+):(?:(\d+):)?(\[[^\]]+\]|[^:]+)$/.exec(text);
  const host = match && canonicalHost(match[1]!);
  const address = match && canonicalHost(match[3]!);
  if (!host || !address) {
    throw new UsageError(
      `--resolve takes HOST:ADDRESS (or curl's HOST:PORT:ADDRESS), with an IPv6 address in brackets, ` +
        `such as localhost:127.0.0.1 or localhost:[::1]; not ${JSON.stringify(text)}.`,
    );
  }
  if (host !== canonicalHost(url.hostname)) {
    throw new UsageError(`--resolve ${text} is for ${host}, but the URL's host is ${url.hostname}.`);
  }
  const port = url.port || "443";
  if (match[2] !== undefined && Number(match[2]) !== Number(port)) {
    throw new UsageError(`--resolve ${text} is for port ${match[2]}, but the URL's port is ${port}.`);
  }
  return { [host]: address };
}

async function showPins(invocation: Invocation): Promise<void> {
  const { url, host, json, caFile } = invocation;
  const options = { ca: await readCa(caFile), resolve: invocation.resolve, postQuantum: invocation.postQuantum };
  let certificates: CertificateInfo[];
  let anchor: AnchorInfo | undefined;
  let tls: Pick<TlsConnection, "protocol" | "keyExchange">;
  try {
    ({ certificates, anchor, tls } = await inspectServer(url, options));
  } catch (error) {
    if (!(error instanceof PinnedFetchError)) throw error;
    // getPins puts what the server sent, as CertificateInfo, in the error's chain.
    const sent = (error.chain ?? []) as CertificateInfo[];
    if (json) {
      const { code, message } = error;
      console.log(
        JSON.stringify(
          { url: shownUrl(url), certificates: sent.map(certificateJson), error: { code, message } },
          null,
          2,
        ),
      );
    } else if (sent.length > 0) {
      console.log(
        `${url.host} sent these certificates, which could NOT be verified (do not pin them):\n\n${listCertificates(sent)}\n`,
      );
    }
    throw error;
  }
  // The verified path, leaf first and anchor last, whether or not the server sent the anchor.
  const path = [...certificates.filter((certificate) => certificate.onVerifiedPath), ...(anchor ? [anchor] : [])];
  const leaf = certificates[0]!;
  const backup = intermediateOf(path) ?? path[1];
  if (json) {
    const pins = { [host]: [leaf.pin, ...(backup ? [backup.pin] : [])] };
    const anchorJson = anchor && { ...anchor, ...(anchor.der && { der: toBase64(anchor.der) }) };
    console.log(
      JSON.stringify(
        { url: shownUrl(url), tls, certificates: certificates.map(certificateJson), anchor: anchorJson, pins },
        null,
        2,
      ),
    );
  } else {
    const listed =
      listCertificates(certificates) + (anchor ? `\n\n${describeAnchor(anchor, certificates.length + 1, caFile)}` : "");
    console.log(
      `${url.host}: ${describeTls(tls)}\n\n${url.host} sent these certificates:\n\n${listed}\n\n` +
        pinsSnippet(host, leaf, backup, caFile),
    );
  }
}

async function get(invocation: Invocation): Promise<void> {
  const { pins, output, host } = invocation;
  const clientCertificate = await readClientCertificate(invocation.clientCertificate);
  const onConnection = (tls: TlsConnection, connected: string, port: number) =>
    console.error(
      `pinned-fetch: connected to ${bracketed(connected)}:${port}: ${describeTls(tls)}, ${tls.alpn === "h2" ? "HTTP/2" : "HTTP/1.1"}`,
    );
  const fetch = observedPinnedFetch(
    {
      pins,
      // For the URL's host alone: a client certificate names its owner, and a redirect may lead elsewhere.
      ...(clientCertificate && { clientCertificates: { [host]: clientCertificate } }),
      ca: await readCa(invocation.caFile),
      resolve: invocation.resolve,
      postQuantum: invocation.postQuantum,
      // One run cannot lock itself out, so the advice to add a backup pin would only be noise here.
      onWarning: () => {},
    },
    invocation.verbose ? onConnection : undefined,
  );
  try {
    const response = await followPinned(fetch, invocation);
    // The whole body first, so that a body cut short leaves neither partial output nor a partial file.
    const body = new Uint8Array(await response.arrayBuffer());
    await writeBody(output, body);
    if (!response.ok) {
      console.error(
        `pinned-fetch: ${shownUrl(new URL(response.url))} answered ${response.status} ${response.statusText}`.trimEnd(),
      );
    }
  } finally {
    await fetch.close();
  }
}

/**
 * The response at the end of the URL's redirects, each checked as fetch
 * checks it. fetch would follow one to a host without pins unpinned; here it
 * fails, as `curl -L --pinnedpubkey` fails a redirect to a host with other keys.
 */
async function followPinned(fetch: PinnedFetch, { url, pins }: Invocation): Promise<Response> {
  let current = url;
  for (let redirects = 0; ; redirects++) {
    const response = await fetch(current, { redirect: "manual" });
    const location = redirectLocation(response.status, response.headers, "follow");
    // fetch gives a response under redirect: "manual" the URL it answered.
    if (location === null) return response;
    await response.body?.cancel();
    if (redirects === MAX_REDIRECTS) {
      throw new PinnedFetchError(
        "ERR_HTTP",
        `More than ${MAX_REDIRECTS} redirects, the last from ${shownUrl(current)}: a redirect loop?`,
      );
    }
    const next = requestUrl(location, current);
    if (!Object.hasOwn(pins, next.host)) {
      throw new Failure(
        `${shownUrl(current)} redirected (${response.status}) to ${shownUrl(next.url)}, but the command line pins no key of ` +
          `${next.host}, so it was not followed. To follow it, pin that host too: --pin-host ${bracketed(next.host)}:PIN ` +
          `(pinned-fetch pins ${next.url.origin} shows its pins).`,
      );
    }
    current = next.url;
  }
}

/** The TLS version and key exchange a connection agreed, as `pins` and `get -v` print them. */
function describeTls({ protocol, keyExchange }: Pick<TlsConnection, "protocol" | "keyExchange">): string {
  const exchange = keyExchange ?? "none (a resumed session)";
  return `${protocol}, key exchange ${exchange}${keyExchange === "X25519MLKEM768" ? " (post-quantum)" : ""}`;
}

/** Tells what went wrong and what to do next; returns the exit status. */
function report(error: unknown, invocation: Invocation | undefined): number {
  // A malformed pin or CA file is a mistake in the command line too.
  if (error instanceof UsageError || (error instanceof PinnedFetchError && error.code === "ERR_CONFIG")) {
    console.error(`pinned-fetch: ${error.message}\nRun pinned-fetch --help for usage.`);
    return 2;
  }
  if (error instanceof Failure) {
    console.error(`pinned-fetch: ${error.message}`);
    return 1;
  }
  if (!(error instanceof PinnedFetchError)) {
    console.error(`pinned-fetch: unexpected failure (please report it):`, error);
    return 1;
  }
  // The message quotes the server's certificate names.
  console.error(`pinned-fetch: ${error.message.split("\n").map(printable).join("\n")}`);
  const next = invocation && nextStep(error, invocation);
  if (next) console.error(`\nWhat to do: ${next}`);
  return 1;
}

/** The advice of the library's message, in terms of this command's options. */
function nextStep(error: PinnedFetchError, { url, host, caFile, clientCertificate }: Invocation): string | undefined {
  switch (error.code) {
    case "ERR_PIN_MISMATCH": {
      // The message already says what to do; this says how on this command line. The failing host may be one a
      // redirect led to, pinned with --pin-host.
      const failing = error.host ?? host;
      const option = failing === host ? "--pin" : "--pin-host";
      const value = (pin: string) => (failing === host ? pin : `${bracketed(failing)}:${pin}`);
      const candidate = intermediateOf(error.chain ?? []) ?? error.chain?.[0];
      return (
        `on this command line, a new pin of ${failing} goes in ${option}` +
        (candidate ? `, such as ${option} ${value(candidate.pin)} (${printable(candidate.subject)})` : "") +
        (failing === host ? `; pinned-fetch pins ${url.origin} lists every certificate.` : ".")
      );
    }
    case "ERR_CERT_UNTRUSTED":
      // Another CA helps only a chain that leads to no trusted root; for any other cause the message says what is wrong.
      if (!error.message.includes("does not chain to a trusted root")) return undefined;
      return caFile === undefined
        ? `if the server uses a private CA, pass that CA's PEM certificate with --ca FILE.`
        : `${caFile} does not hold the CA that issued this chain; pass that CA's certificate with --ca.`;
    case "ERR_CERT_HOSTNAME":
      return `use the name the certificate was issued for in the URL; --resolve NAME:ADDRESS connects to another address under that name.`;
    case "ERR_CLIENT_CERT":
      return clientCertificate === undefined
        ? `pass the client certificate the server expects with --cert FILE (and its key with --key FILE).`
        : undefined;
    default:
      return undefined;
  }
}

/** A host as the command line writes it: an IPv6 address in brackets. */
function bracketed(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

/** The first CA on a verified path below its root: the backup pin that survives leaf renewals. */
function intermediateOf(path: readonly CertificateSummary[]): CertificateSummary | undefined {
  return path.slice(1).find((certificate) => certificate.subject !== certificate.issuer);
}

function listCertificates(certificates: readonly CertificateInfo[]): string {
  const verified = certificates.some((certificate) => certificate.onVerifiedPath);
  return certificates
    .map((certificate, index) => {
      const status = certificate.onVerifiedPath
        ? "on the verified path"
        : verified
          ? "sent, but NOT on the verified path"
          : "not verified";
      return describeCertificate(certificate, index + 1, status);
    })
    .join("\n\n");
}

/** The anchor the verified path ends at, which the server did not send: from the --ca file, or a built-in root. */
function describeAnchor(anchor: AnchorInfo, number: number, caFile: string | undefined): string {
  const from = caFile === undefined ? "a built-in root" : `from ${caFile}`;
  return describeCertificate(anchor, number, `on the verified path: its trust anchor, ${from}, not sent by the server`);
}

function describeCertificate(certificate: AnchorInfo, number: number, status: string): string {
  return [
    `${number}. ${printable(certificate.subject)}  [${status}]`,
    `   issuer   ${printable(certificate.issuer)}`,
    ...(certificate.notBefore
      ? [`   valid    ${isoDate(certificate.notBefore)} to ${isoDate(certificate.notAfter)}`]
      : []),
    `   pin      ${certificate.pin}`,
    ...(certificate.sha256 ? [`   SHA-256  ${certificate.sha256}`] : []),
  ].join("\n");
}

function pinsSnippet(
  host: string,
  leaf: CertificateInfo,
  backup: CertificateSummary | undefined,
  caFile: string | undefined,
): string {
  const entry = (certificate: CertificateSummary, role: string) =>
    `        "${certificate.pin}", // ${printable(certificate.subject)} (${role})`;
  const role = backup && (backup.subject === backup.issuer ? "root CA" : "intermediate CA");
  const backupLines = backup
    ? [entry(backup, `${role}, the backup`)]
    : [
        `        // Only the leaf is on the verified path: it is trusted by itself. Add a backup pin before you`,
        `        // rely on this one: the key of its next certificate, made ahead.`,
      ];
  return [
    `To pin ${host}, pass this to createPinnedFetch: the leaf's key` +
      (backup ? `, and the ${role}'s as a backup that survives leaf renewals.` : `.`) +
      (caFile === undefined ? `` : `\nIt passes ${caFile} as ca: the CA certificates that verified ${host} here.`),
    ``,
    ...(caFile === undefined ? [] : [`  // import { readFileSync } from "node:fs";`]),
    `  createPinnedFetch({`,
    ...(caFile === undefined ? [] : [`    ca: readFileSync(${JSON.stringify(caFile)}, "utf8"),`]),
    `    pins: {`,
    `      ${JSON.stringify(host)}: [`,
    entry(leaf, "leaf"),
    ...backupLines,
    `      ],`,
    `    },`,
    `  });`,
  ].join("\n");
}

function certificateJson(certificate: CertificateInfo) {
  return { ...certificate, der: toBase64(certificate.der) };
}

function isoDate(date: Date | undefined): string {
  return date ? date.toISOString().replace(/\.000Z$/, "Z") : "unknown";
}

/** Names as the server wrote them, minus control characters that could rewrite the terminal or the pasted snippet. */
function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, "\uFFFD");
}

async function readCa(path: string | undefined): Promise<string | undefined> {
  return path === undefined ? undefined : new TextDecoder().decode(await readFileArgument(path, "the CA file"));
}

async function readClientCertificate(
  files: ClientCertificateFiles | undefined,
): Promise<ClientCertificate | undefined> {
  if (files === undefined) return undefined;
  const { cert, key, pkcs12, passphrase } = files;
  const certificate = await readFileArgument(cert, "the client certificate");
  if (pkcs12) return { pfx: certificate, ...(passphrase !== undefined && { passphrase }) };
  return {
    cert: certificate,
    key: key === undefined ? certificate : await readFileArgument(key, "the client key"),
    ...(passphrase !== undefined && { passphrase }),
  };
}

async function readFileArgument(path: string, what: string): Promise<Uint8Array<ArrayBuffer>> {
  try {
    return await (await hostRuntime()).readFile(fileUrl(path));
  } catch (error) {
    // A runtime's refusal (Deno without --allow-read) is no mistake in the command line.
    if (error instanceof PinnedFetchError) throw new Failure(`Cannot read ${what} ${path}: ${error.message}`);
    throw new UsageError(`Cannot read ${what} ${path}: ${(error as Error).message}`);
  }
}

/** The file: URL of a path from the command line, relative to the working directory. */
function fileUrl(path: string): URL {
  const windows = process.platform === "win32";
  const slashed = (text: string) => (windows ? text.replaceAll("\\", "/") : text);
  const given = slashed(path);
  const isAbsolute = given.startsWith("/") || (windows && /^[a-z]:\//i.test(given));
  const absolute = isAbsolute ? given : `${slashed(process.cwd()).replace(/\/$/, "")}/${given}`;
  // Escaped, so that `%`, `#`, `?` and (outside Windows) `\` in a name are not read as URL syntax.
  const escaped = absolute.replace(/[%#?\\\t\n\r]/g, encodeURIComponent);
  return new URL(`file://${escaped.startsWith("/") ? "" : "/"}${escaped}`);
}

/** To stdout, or to the file `-o` names. */
async function writeBody(output: string | undefined, body: Uint8Array): Promise<void> {
  try {
    if (output !== undefined) return await (await hostRuntime()).writeFile(fileUrl(output), body);
    await new Promise<void>((resolve, reject) =>
      process.stdout.write(body, (error) => (error ? reject(error) : resolve())),
    );
  } catch (error) {
    throw new Failure(`Cannot write the body to ${output ?? "stdout"}: ${(error as Error).message}`);
  }
}

process.exitCode = await main(process.argv.slice(2));
