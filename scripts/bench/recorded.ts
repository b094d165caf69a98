// The last figures BENCHMARKS.md recorded for the targets that say "do not
// grow": the engine's WebAssembly memory per idle pooled connection (the
// highest pinned-fetch row of the newest memory table) and its gzip size (the
// newest engine size line), with the heading of the entry each came from.
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

export function recorded(file: URL): Recorded {
  const found: Recorded = {};
  let entry = "";
  /** In the newest memory table: the engine column's index. */
  let engineAt = -1;
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (line.startsWith("## ")) entry = line.slice(3);
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
