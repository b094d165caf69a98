// How users get pinned-fetch: `npm pack`, installed into an empty project
// elsewhere, imported by name and making a pinned request — in Node (the one
// running the tests, and Node 24 LTS), in Deno (through node_modules, and
// through an `npm:` specifier) and in Bun — and type-checked in a TypeScript
// project. The dependencies come from a loopback registry, so nothing leaves
// the machine, except to fetch Node 24 and the oldest TypeScript supported
// into npm's cache on first use.
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, sep } from "node:path";
import { promisify } from "node:util";

import { afterAll, beforeAll, expect, it } from "vitest";

import { createPki } from "./support/pki.js";
import { type Registry, startRegistry } from "./support/registry.js";
import { BUN, CHILD_ENV, DENO, denoRun, nodeLts, ROOT } from "./support/runtimes.js";
import { pinOf, startHttpsServer, type TestServer } from "./support/servers.js";
import { HELLO } from "./support/content.js";

const execute = promisify(execFile);
/** Every tool the test starts, bounded. */
const run = (command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }) =>
  execute(command, args, { env: CHILD_ENV, timeout: 120_000, ...options });
let server: TestServer;
let registry: Registry;
let workspace: string;
let target: string;
let caPem: string;
let chainPins: string[];

/** A user's script: one request with the right pin, one with another CA's. */
const check = (specifier: string) => `import { createPinnedFetch } from "${specifier}";
const { port, ca, pin, otherPin } = JSON.parse(process.argv[2]);
const options = (pins) => ({ pins: { localhost: pins }, ca, resolve: { localhost: "127.0.0.1" } });
const fetch = createPinnedFetch(options([pin]));
const response = await fetch(\`https://localhost:\${port}/hello\`);
const outcome = { status: response.status, body: await response.text() };
await fetch.close();
const impostor = createPinnedFetch(options([otherPin]));
outcome.mismatch = await impostor(\`https://localhost:\${port}/hello\`).then(() => "accepted", (error) => error.code);
console.log(JSON.stringify(outcome));
`;
const EXPECTED = { status: 200, body: HELLO, mismatch: "ERR_PIN_MISMATCH" };

beforeAll(async () => {
  const pki = await createPki();
  server = await startHttpsServer({ chain: [pki.leaf, pki.intermediate], key: pki.leaf });
  workspace = await mkdtemp(join(tmpdir(), "pinned-fetch-package-"));
  registry = await startRegistry(workspace, ["@types/node"]);
  target = JSON.stringify({
    port: server.port,
    ca: pki.root.certPem,
    pin: pinOf(pki.intermediate),
    otherPin: pinOf(pki.otherRoot),
  });
  caPem = pki.root.certPem;
  chainPins = [pinOf(pki.leaf), pinOf(pki.intermediate)];
}, 120_000);
afterAll(async () => {
  await Promise.all([server?.close(), registry?.close()]);
  await rm(workspace, { recursive: true, force: true });
});

/** npm's flags for installing from the loopback registry, with a cache of its own. */
const npmFlags = () => [
  "--no-audit",
  "--no-fund",
  `--registry=${registry.url}`,
  `--cache=${join(workspace, "npm-cache")}`,
];

/** An empty project in the workspace, ready for `npm install`. */
async function emptyProject(name: string): Promise<string> {
  const project = join(workspace, name);
  await mkdir(project);
  await writeFile(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  return project;
}

/**
 * What the package ships besides dist, which holds each module of src as
 * JavaScript and declarations. Keep it in step with "files" in package.json
 * (npm adds package.json, README.md and LICENSE by itself).
 */
const SHIPPED = ["LICENSE", "README.md", "package.json", "wasm/engine-base64.d.ts", "wasm/engine-base64.js"];

it("ships dist's JavaScript and declarations of each module of src, and nothing else", async () => {
  const sources = await readdir(join(ROOT, "src"), { recursive: true });
  const modules = sources
    .filter((path) => path.endsWith(".ts"))
    .map((path) => path.slice(0, -".ts".length).split(sep).join("/"));
  const expected = [...SHIPPED, ...modules.flatMap((module) => [`dist/${module}.js`, `dist/${module}.d.ts`])];
  expect([...registry.files].sort()).toEqual(expected.sort());
});

/** Runs `args` in `cwd` and returns the outcome the script printed. */
async function outcome(command: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  const { stdout } = await run(command, [...args, target], { cwd, env: { ...CHILD_ENV, ...env } });
  return JSON.parse(stdout) as unknown;
}

/** The scripts npm runs, or lists for review, when it installs a package from a tarball or a git URL. */
const INSTALL_SCRIPTS = ["preinstall", "install", "postinstall", "prepare"];

it("installs from the packed tarball and works in Node, Node 24, Deno and Bun", { timeout: 480_000 }, async () => {
  const node24 = nodeLts();
  const project = await emptyProject("project");
  const { stderr } = await run("npm", ["install", ...npmFlags(), registry.tarball], { cwd: project });
  expect([...registry.served].sort()).toEqual([
    "@noble/ciphers",
    "@noble/hashes",
    "@peculiar/utils",
    "asn1js",
    "bytestreamjs",
    "pkijs",
  ]);
  // Nothing for the user to review: npm 11 warns of install scripts under "install-scripts".
  const installed = JSON.parse(
    await readFile(join(project, "node_modules", "pinned-fetch", "package.json"), "utf8"),
  ) as {
    scripts?: Record<string, string>;
  };
  expect(INSTALL_SCRIPTS.filter((name) => installed.scripts?.[name] !== undefined)).toEqual([]);
  expect(stderr).not.toContain("install-scripts");
  await writeFile(join(project, "check.mjs"), check("pinned-fetch"));

  expect(await outcome("node", ["check.mjs"], project)).toEqual(EXPECTED);
  expect(await outcome(node24, ["check.mjs"], project)).toEqual(EXPECTED);
  // V8 compiling every function of the engine up front: the first request waits longer for the compile, which
  // Node does not count as keeping the process alive; the request must, or the script exits before its answer.
  expect(await outcome(node24, ["--no-wasm-lazy-compilation", "check.mjs"], project)).toEqual(EXPECTED);
  expect(await outcome(DENO, [...denoRun(["127.0.0.1", "localhost"]), "check.mjs"], project)).toEqual(EXPECTED);
  expect(await outcome(BUN, ["check.mjs"], project)).toEqual(EXPECTED);

  // The installed command, as `npx pinned-fetch` and `bun node_modules/.bin/pinned-fetch` run it.
  await writeFile(join(project, "ca.pem"), caPem);
  const command = join(project, "node_modules", ".bin", "pinned-fetch");
  expect(await chainOf(command, [], project)).toEqual(chainPins);
  expect(await chainOf(node24, [command], project)).toEqual(chainPins);
  expect(await chainOf(BUN, [command], project)).toEqual(chainPins);
});

/** The pins `pinned-fetch pins --json` reports for the test server, run as `binary ...prefix`. */
async function chainOf(binary: string, prefix: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<string[]> {
  const args = [
    "pins",
    `https://localhost:${server.port}/`,
    "--ca",
    "ca.pem",
    "--resolve",
    "localhost:127.0.0.1",
    "--json",
  ];
  const { stdout } = await run(binary, [...prefix, ...args], { cwd, env: { ...CHILD_ENV, ...env } });
  return (JSON.parse(stdout) as { certificates: { pin: string }[] }).certificates.map((certificate) => certificate.pin);
}

it("works in Deno through an npm: specifier", { timeout: 180_000 }, async () => {
  // No package.json here: Deno fetches npm:pinned-fetch from the registry into its own cache.
  const script = join(workspace, "deno-npm");
  const cache = join(workspace, "deno-cache");
  await mkdir(script);
  await writeFile(join(script, "check.mjs"), check("npm:pinned-fetch@0.1.0"));
  const env = { NPM_CONFIG_REGISTRY: `${registry.url}/`, DENO_DIR: cache };
  registry.served.clear();
  expect(await outcome(DENO, [...denoRun(["127.0.0.1", "localhost"]), "check.mjs"], script, env)).toEqual(EXPECTED);
  expect(registry.served).toContain("pinned-fetch");

  // The command, through the same specifier.
  await writeFile(join(script, "ca.pem"), caPem);
  const deno = [...denoRun(["127.0.0.1", "localhost"], `--allow-read=${script}`), "npm:pinned-fetch@0.1.0"];
  expect(await chainOf(DENO, deno, script, env)).toEqual(chainPins);
});

/**
 * The oldest TypeScript the declarations support: they use
 * `Uint8Array<ArrayBuffer>`, and Uint8Array takes a type argument from 5.7.
 * Fetched into npm's cache on first use, not a dev dependency: its `tsc`
 * would shadow the repository's.
 */
const OLDEST_TYPESCRIPT = "5.7.3";

/** A user's TypeScript: the public API in use, checked against the package's declarations. */
const TYPED = `import {
  connectTls,
  createPinnedFetch,
  getPins,
  PinnedFetchError,
  type CertificateInfo,
  type PinFailureReport,
  type PinnedFetch,
  type PinnedFetchErrorCode,
  type PinnedFetchOptions,
  type Runtime,
  type TlsConnection,
} from "pinned-fetch";

const options: PinnedFetchOptions = {
  pins: { "api.example.com": ["sha256/a", "sha256/b"], "*.example.org": { pins: ["sha256/c"], expires: "2027-06-30" } },
  reportOnly: true,
  onPinFailure: (report: PinFailureReport) => console.log(report.host, report.chain.map((certificate) => certificate.pin)),
};
const pinned: PinnedFetch = createPinnedFetch(options);

export async function use(runtime: Runtime): Promise<PinnedFetchErrorCode | number> {
  try {
    const response: Response = await pinned(new URL("https://api.example.com/"), { headers: { accept: "text/plain" } });
    const connection: TlsConnection = await connectTls({ hostname: "api.example.com", port: 443, alpn: ["http/1.1"], runtime });
    const { value } = await connection.readable.getReader().read();
    const received: Uint8Array | undefined = value;
    await connection.close();
    const certificates: CertificateInfo[] = await getPins("https://api.example.com/", { signal: AbortSignal.timeout(1000) });
    return response.status + certificates.length + (received?.length ?? 0);
  } catch (error) {
    if (error instanceof PinnedFetchError) return error.code;
    throw error;
  } finally {
    await pinned.close();
  }
}

// @ts-expect-error: pins are per host, not a list
createPinnedFetch({ pins: ["sha256/a"] });
`;

/** The consumer's compiler options besides module resolution: strict, every declaration checked, no DOM lib. */
const COMPILER_OPTIONS = {
  strict: true,
  skipLibCheck: false,
  noEmit: true,
  target: "es2022",
  lib: ["es2022"],
  types: ["node"],
};
const RESOLUTIONS = {
  nodenext: { module: "nodenext", moduleResolution: "nodenext" },
  bundler: { module: "preserve", moduleResolution: "bundler" },
};

it(
  `type-checks, strict and without the DOM lib, with TypeScript ${OLDEST_TYPESCRIPT} and the current one`,
  { timeout: 600_000 },
  async () => {
    const project = await emptyProject("typed");
    await run("npm", ["install", ...npmFlags(), registry.tarball, "@types/node"], { cwd: project });
    await writeFile(join(project, "use.ts"), TYPED);
    for (const [name, resolution] of Object.entries(RESOLUTIONS)) {
      const tsconfig = { compilerOptions: { ...COMPILER_OPTIONS, ...resolution }, files: ["use.ts"] };
      await writeFile(join(project, `tsconfig.${name}.json`), JSON.stringify(tsconfig));
    }

    const current = JSON.parse(await readFile(join(ROOT, "node_modules", "typescript", "package.json"), "utf8")) as {
      version: string;
    };
    const compilers: Record<string, [string, string[]]> = {
      [OLDEST_TYPESCRIPT]: ["npm", ["exec", "--yes", `--package=typescript@${OLDEST_TYPESCRIPT}`, "--", "tsc"]],
      [current.version]: [process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc")]],
    };
    // The two compilers at once, each checking one resolution after the other.
    const failures = await Promise.all(
      Object.entries(compilers).map(async ([version, [command, prefix]]) => {
        const tsc = (args: string[]) =>
          execute(command, [...prefix, ...args], { cwd: project, env: CHILD_ENV, timeout: 300_000 });
        expect((await tsc(["--version"])).stdout.trim()).toBe(`Version ${version}`);
        const errors: string[] = [];
        for (const name of Object.keys(RESOLUTIONS)) {
          await tsc(["-p", `tsconfig.${name}.json`]).catch((error: { stdout?: string; message: string }) => {
            errors.push(`TypeScript ${version}, ${name}:\n${error.stdout || error.message}`);
          });
        }
        return errors;
      }),
    );
    expect(failures.flat()).toEqual([]);
  },
);
