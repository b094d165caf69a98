// How users get pinned-fetch: `npm pack`, installed into an empty project
// elsewhere, imported by name, making a pinned request.
import { execFile } from "node:child_process";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { afterAll, beforeAll, expect, it } from "vitest";

import { createPki, type Pki } from "./support/pki.js";
import { pinOf, startHttpsServer, type TestServer } from "./support/servers.js";

const run = promisify(execFile);
const root = fileURLToPath(new URL("..", import.meta.url));
let pki: Pki;
let server: TestServer;
let project: string;

beforeAll(async () => {
  pki = await createPki();
  server = await startHttpsServer({ chain: [pki.leaf, pki.intermediate], key: pki.leaf });
  project = await mkdtemp(join(tmpdir(), "pinned-fetch-package-"));
});
afterAll(async () => {
  await server.close();
  await rm(project, { recursive: true, force: true });
});

it("works when installed from the packed tarball", { timeout: 180_000 }, async () => {
  await run("npm", ["pack", "--silent", "--pack-destination", project], { cwd: root });
  const [tarball] = (await readdir(project)).filter((name) => name.endsWith(".tgz"));
  expect(tarball).toMatch(/^pinned-fetch-.*\.tgz$/);
  await writeFile(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  await run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", `./${tarball}`], { cwd: project });

  await writeFile(
    join(project, "check.mjs"),
    `import { createPinnedFetch, PinnedFetchError } from "pinned-fetch";
const { PORT, CA, PIN } = process.env;
const fetch = createPinnedFetch({ pins: { localhost: [PIN] }, ca: CA, resolve: { localhost: "127.0.0.1" } });
const response = await fetch(\`https://localhost:\${PORT}/hello\`);
console.log(JSON.stringify({ status: response.status, body: await response.text(), error: typeof PinnedFetchError }));
await fetch.close();
`,
  );
  const env = { ...process.env, PORT: String(server.port), CA: pki.root.certPem, PIN: pinOf(pki.intermediate) };
  const { stdout } = await run("node", ["check.mjs"], { cwd: project, env });
  expect(JSON.parse(stdout)).toEqual({ status: 200, body: "hello, pinned world", error: "function" });
});
