// The benchmark's smoke run (`npm run bench -- --smoke`): tiny sizes, so it
// only shows that every measure runs to its end in every runtime. Nothing
// here is about speed.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterAll, expect, test } from "vitest";

import { CHILD_ENV, ROOT } from "./support/runtimes.js";

const directory = mkdtempSync(join(tmpdir(), "pinned-fetch-bench-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const MEASURES = [
  "cold",
  "cold against a server that speaks the hybrid",
  "cold with a client certificate",
  "keep-alive",
  "bulk",
  "concurrent",
  "websocket echo",
  "websocket receive",
  "websocket send",
  "first request",
  "memory",
];
/** How each runtime's rows begin: the Node that runs the tests, Node 24 (`node24`), Deno and Bun. */
const RUNTIMES = [`Node ${process.versions.node} `, "Node 24.", "Deno ", "Bun "];

test("npm run bench -- --smoke runs every measure in Node, Node 24, Deno and Bun, prints their tables and writes the JSON", async () => {
  const json = join(directory, "bench.json");
  const output = await new Promise<string>((resolve, reject) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "scripts/bench/run.ts", "--smoke", "--json", json],
      // run.ts kills the processes it started when it is ended.
      { cwd: ROOT, env: CHILD_ENV, timeout: 240_000, killSignal: "SIGTERM", maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout)),
    );
  });

  const sections = output.split(/^### /m).slice(1);
  for (const measure of MEASURES) {
    const section = sections.find((text) => text.startsWith(measure));
    expect(section, `a table for ${measure}`).toBeDefined();
    for (const runtime of RUNTIMES) {
      const rows = section!.split("\n").filter((line) => line.startsWith(`| ${runtime}`));
      expect(
        rows.some((row) => row.includes("| pinned-fetch |")),
        `${measure}: pinned-fetch in ${runtime}`,
      ).toBe(true);
      expect(rows.length, `${measure}: pinned-fetch and a native client in ${runtime}`).toBeGreaterThanOrEqual(2);
    }
  }
  // Each target's base: one of the runtime's pin-capable clients, never pinned-fetch, marked in every runtime.
  for (const measure of ["cold:", "keep-alive", "bulk", "concurrent", "first request"]) {
    const rows = sections.find((text) => text.startsWith(measure))!.split("\n");
    for (const runtime of RUNTIMES) {
      const bases = rows.filter((line) => line.startsWith(`| ${runtime}`) && line.includes(" (base) |"));
      expect(bases.length, `${measure}: one base in ${runtime}`).toBe(1);
      expect(bases[0], `${measure}: the base in ${runtime}`).not.toMatch(/\| pinned-fetch/);
    }
  }
  // The server's column, "conns (with deflate) / messages in": only the deflate row negotiated permessage-deflate.
  for (const measure of ["websocket echo", "websocket receive", "websocket send"]) {
    const rows = sections.find((text) => text.startsWith(measure))!.split("\n");
    for (const row of rows.filter((line) => /^\| (Node|Deno|Bun) /.test(line))) {
      const deflated = Number(/\| \d+ \((\d+)\) \/ \d+ \|$/.exec(row)?.[1]);
      if (row.includes("| pinned-fetch, permessage-deflate |")) expect(deflated, row).toBeGreaterThan(0);
      else expect(deflated, row).toBe(0);
    }
  }
  const share = sections.find((text) => text.startsWith("post-quantum share"));
  for (const runtime of RUNTIMES)
    expect(share?.includes(`\n| ${runtime}`), `post-quantum share: a row for ${runtime}`).toBe(true);
  expect(sections.some((text) => text.startsWith("engine size"))).toBe(true);

  const results = JSON.parse(readFileSync(json, "utf8")) as { results: { runtime: string }[] };
  expect(results.results.map((result) => result.runtime)).toEqual(["node", "node24", "deno", "bun"]);
}, 250_000);
