// The package as JSR would take it: `deno publish --dry-run` checks the types
// of every export, including JSR's "slow types" rule (exports need explicit
// types), and lists the files it would upload. Nothing is uploaded.
import { execFile } from "node:child_process";
import { promisify } from "node:util";

import { expect, it } from "vitest";

import { CHILD_ENV, DENO, ROOT } from "./support/runtimes.js";

const execute = promisify(execFile);

it(
  "passes deno publish --dry-run without a warning, with the files JSR needs and no others",
  { timeout: 120_000 },
  async () => {
    // --allow-dirty: a work tree with uncommitted changes is checked as it is. --sloppy-imports:
    // the sources import "./x.js" as tsc wants; publishing rewrites those to the ".ts" files.
    const { stdout, stderr } = await execute(DENO, ["publish", "--dry-run", "--allow-dirty", "--sloppy-imports"], {
      cwd: ROOT,
      env: CHILD_ENV,
      timeout: 120_000,
    });
    const output = `${stdout}\n${stderr}`;
    expect(output).toContain("Dry run complete");
    expect(output).not.toMatch(/\b(warning|error)(\[|:)/i);
    const files = [...output.matchAll(/file:\/\/\S*?\/((?:src|wasm)\/\S+|README\.md|LICENSE|jsr\.json) \(/g)].map(
      (match) => match[1],
    );
    const outside = files.filter(
      (file) => !/^(src\/.+\.ts|wasm\/engine-base64\.(js|d\.ts)|README\.md|LICENSE|jsr\.json)$/.test(file!),
    );
    expect(outside).toEqual([]);
    expect(files).toEqual(
      expect.arrayContaining([
        "src/index.ts",
        "src/cli.ts",
        "wasm/engine-base64.js",
        "wasm/engine-base64.d.ts",
        "README.md",
        "jsr.json",
      ]),
    );
  },
);
