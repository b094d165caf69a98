// The figures BENCHMARKS.md recorded for the targets that say "do not grow":
// the engine's WebAssembly memory per idle pooled connection (the highest
// pinned-fetch row of a memory table) and its gzip size (an engine size line),
// with the heading of the entry each came from. They come from the entry the
// file names in a line `Baseline of the targets that say "do not grow": <heading>`
// (the figures an issue's targets were set against), or else from the newest:
// were they always the newest, a growth once recorded would be the next run's
// baseline.
import { readFileSync } from "node:fs";

export interface Recorded {
  engineKiB?: { value: number; entry: string };
  gzipBytes?: { value: number; entry: string };
}

const ENGINE_COLUMN = "engine (wasm) KiB/conn";
const cells = (line: string) =>
  line
    .split("|")
    .slice(1, -1)
    .map((cell) => cell.trim());

const BASELINE = /^Baseline of the targets that say "do not grow": (.+)$/m;

export function recorded(file: URL): Recorded {
  const text = readFileSync(file, "utf8");
  const baseline = BASELINE.exec(text)?.[1]?.trim();
  const found: Recorded = {};
  let entry = "";
  /** In the memory table read: the engine column's index. */
  let engineAt = -1;
  for (const line of text.split("\n")) {
    if (line.startsWith("## ")) entry = line.slice(3);
    if (baseline !== undefined && entry !== baseline) continue;
    const row = line.startsWith("|") ? cells(line) : undefined;
    if (!found.engineKiB && row?.includes(ENGINE_COLUMN)) engineAt = row.indexOf(ENGINE_COLUMN);
    else if (!row) engineAt = -1;
    else if (engineAt !== -1 && row?.[1] === "pinned-fetch") {
      const value = Number(row[engineAt]);
      if (Number.isFinite(value) && value > (found.engineKiB?.value ?? -Infinity)) found.engineKiB = { value, entry };
    }
    const gzip = /^wasm\/pinned_fetch\.wasm [0-9a-f]+: \d+ bytes, (\d+) gzip/.exec(line);
    if (gzip && !found.gzipBytes) found.gzipBytes = { value: Number(gzip[1]), entry };
  }
  return found;
}
