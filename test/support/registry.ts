// A loopback npm registry for the packaging test: it serves the packed
// pinned-fetch and its dependencies (and any other packages asked for),
// packed from this checkout's node_modules, so installing "from the
// registry" never leaves the machine.
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";

import { CHILD_ENV, ROOT } from "./runtimes.js";

const run = promisify(execFile);

interface Packed {
  name: string;
  version: string;
  filename: string;
  integrity: string;
  shasum: string;
  files: { path: string }[];
}

export interface Registry {
  url: string;
  /** The packed pinned-fetch tarball. */
  tarball: string;
  /** The paths in that tarball, as npm pack lists them. */
  files: string[];
  /** The packages whose metadata was asked for. */
  served: Set<string>;
  close(): Promise<void>;
}

/**
 * Packs pinned-fetch (running its build), its dependencies and the installed
 * packages `alsoServe` (with theirs) into `directory`, and serves them.
 */
export async function startRegistry(directory: string, alsoServe: readonly string[] = []): Promise<Registry> {
  const lock = JSON.parse(await readFile(join(ROOT, "package-lock.json"), "utf8")) as {
    packages: Record<string, { dependencies?: Record<string, string> }>;
  };
  const dependencies = new Set<string>();
  const collect = (names: Iterable<string>) => {
    for (const name of names) {
      if (dependencies.has(name)) continue;
      if (!lock.packages[`node_modules/${name}`])
        throw new Error(`${name} is not installed at the top of node_modules`);
      dependencies.add(name);
      collect(Object.keys(lock.packages[`node_modules/${name}`]!.dependencies ?? {}));
    }
  };
  collect([...Object.keys(lock.packages[""]!.dependencies ?? {}), ...alsoServe]);
  const sources = [ROOT, ...[...dependencies].map((name) => join(ROOT, "node_modules", name))];

  const pack = async (folders: string[], scripts: boolean) => {
    const flags = ["pack", "--json", "--pack-destination", directory, ...(scripts ? [] : ["--ignore-scripts"])];
    const { stdout } = await run("npm", [...flags, ...folders], { cwd: ROOT, env: CHILD_ENV, timeout: 120_000 });
    // npm may print the build's output first; the JSON report is the last thing it prints.
    return JSON.parse(stdout.slice(stdout.lastIndexOf("\n[") + 1)) as Packed[];
  };
  const packed = [...(await pack([ROOT], true)), ...(await pack(sources.slice(1), false))];

  const manifests = new Map<string, { packed: Packed; manifest: Record<string, unknown> }>();
  for (const [index, item] of packed.entries()) {
    const manifest = JSON.parse(await readFile(join(sources[index]!, "package.json"), "utf8")) as Record<
      string,
      unknown
    >;
    manifests.set(item.name, { packed: item, manifest });
  }

  const served = new Set<string>();
  const server = createServer(async (request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? "/", "http://registry").pathname.slice(1));
    const entry = manifests.get(path);
    if (entry) {
      served.add(path);
      const { packed: item, manifest } = entry;
      const dist = { tarball: `${url}/${item.filename}`, integrity: item.integrity, shasum: item.shasum };
      const { scripts: _, devDependencies: __, ...published } = manifest;
      const packument = {
        name: item.name,
        "dist-tags": { latest: item.version },
        versions: { [item.version]: { ...published, dist } },
      };
      return response.setHeader("content-type", "application/json").end(JSON.stringify(packument));
    }
    const tarball = packed.find((item) => item.filename === path);
    if (!tarball) return response.writeHead(404).end();
    response
      .setHeader("content-type", "application/octet-stream")
      .end(await readFile(join(directory, tarball.filename)));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    tarball: join(directory, packed[0]!.filename),
    files: packed[0]!.files.map((file) => file.path),
    served,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
