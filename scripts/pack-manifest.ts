// The package.json that `npm pack` and `npm publish` ship: the repository's,
// without its `prepare` script.
//
// `prepare` builds dist when npm installs pinned-fetch from a git URL: npm
// runs it in its clone of the repository, and runs no `prepack` there
// (npm/cli#1865). In a tarball, dist is built already and `prepare` has
// nothing left to do, yet npm 11 lists it to everyone who installs the
// tarball as an install script to review. So `prepack` takes it out of
// package.json (`strip`), and `postpack` puts the file back byte for byte
// (`restore`).
import { existsSync } from "node:fs";
import { copyFile, readFile, rename, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

const MANIFEST = fileURLToPath(new URL("../package.json", import.meta.url));
const KEPT = `${MANIFEST}.unpacked`;

function fail(message: string): never {
  console.error(`pack-manifest: ${message}`);
  process.exit(1);
}

const step = process.argv[2];
if (step === "strip") {
  if (existsSync(KEPT))
    fail(`${KEPT} is left from a pack that did not finish: move it back to package.json, then pack again`);
  const manifest = JSON.parse(await readFile(MANIFEST, "utf8")) as { scripts: Record<string, string> };
  delete manifest.scripts.prepare;
  await copyFile(MANIFEST, KEPT);
  await writeFile(MANIFEST, `${JSON.stringify(manifest, null, 2)}\n`);
} else if (step === "restore") {
  await rename(KEPT, MANIFEST);
} else {
  fail("usage: tsx scripts/pack-manifest.ts strip|restore");
}
