// The bench's Markdown tables: one per measure, every client's row, each
// figure with its ratio to the base of its runtime and measure, the best of the
// runtime's pin-capable clients in that measure and run (marked "(base)"),
// and issue 21's target for pinned-fetch, met or missed, where it sets one.
import type { ClientResult, ColdSamples } from "./client.js";
import {
  BASELINE_SHOWN,
  CLASSICAL,
  PINNED_H2,
  PINNED_HTTP1,
  UNPINNED,
  WEBSOCKET_DEFLATE,
  WEBSOCKET_MEASURES,
  type WebSocketMeasure,
} from "./common.js";
import type { ConcurrentResult, ConcurrentSamples } from "./concurrent.js";
import type { MemoryResult } from "./memory.js";
import type { Recorded } from "./recorded.js";
import type { Counter } from "./server.js";
import type { WebSocketResult } from "./websocket.js";

export interface RuntimeResult extends ClientResult {
  concurrent: ConcurrentResult;
  webSocket: WebSocketResult;
  /** Milliseconds from spawn to the printed line, per client (`none`: no request, the runtime's start alone). */
  first: Record<string, number[]>;
  memory: Record<string, MemoryResult>;
  /** The server's counters for this runtime, by `<measure>/<client>`. */
  server: Record<string, Counter>;
}

export interface Engine {
  sha256: string;
  bytes: number;
  gzipBytes: number;
}

const LABEL: Record<string, string> = { node: "Node", node24: "Node", deno: "Deno", bun: "Bun" };
// Issue 21's targets, the same in every runtime: ratios to the best pin-capable client of the runtime.
const COLD_TARGET = 1.0;
const KEEP_ALIVE_TARGET = 1.0;
const CONCURRENT_TARGET = 1.0;
const BULK_TARGET = 0.9;
const FIRST_TARGET = 1.2;
const WASM_PAGE_KIB = 64;
/** Issue 19: pinned-fetch's WebSocket at least 0.8x of the runtime's own, in round trips and in throughput. */
const WEBSOCKET_TARGET = 0.8;

const sorted = (values: number[]) => [...values].sort((a, b) => a - b);
export const median = (values: number[]) => {
  const list = sorted(values);
  const middle = Math.floor(list.length / 2);
  return list.length % 2 ? list[middle]! : (list[middle - 1]! + list[middle]!) / 2;
};
/** Nearest rank: the smallest sample that at least 99 % of the samples do not exceed. */
export const p99 = (values: number[]) => sorted(values)[Math.max(0, Math.ceil(values.length * 0.99) - 1)]!;

const fixed = (value: number, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : "—");
const ratio = (value: number, base: number) => (Number.isFinite(value / base) ? `${(value / base).toFixed(2)}x` : "—");
const verdict = (met: boolean) => (met ? "pass" : "**miss**");
const atMost = (value: number, limit: number) => `<= ${limit.toFixed(1)}x: ${verdict(value <= limit)}`;
const atLeast = (value: number, limit: number) => `>= ${limit.toFixed(1)}x: ${verdict(value >= limit)}`;

function table(head: string[], rows: string[][]): string {
  return [head, head.map(() => "---"), ...rows].map((cells) => `| ${cells.join(" | ")} |`).join("\n");
}

/** The clients of a runtime in table order, with their names as shown; the base's marked. */
function clients(result: RuntimeResult, names: string[], base?: string): [string, string][] {
  const shown: Record<string, string> = {
    "pinned-fetch": "pinned-fetch",
    [CLASSICAL]: "pinned-fetch, postQuantum: false",
    ...BASELINE_SHOWN,
    subtls: `subtls ${result.subtls} (reference)`,
    none: "(no request: process start alone)",
    native: result.webSocket.native,
    ws: "ws + checkServerIdentity",
    [WEBSOCKET_DEFLATE]: "pinned-fetch, permessage-deflate",
    [PINNED_H2]: "pinned-fetch over h2 (node:http2's server)",
    [PINNED_HTTP1]: "pinned-fetch, http2: false",
  };
  return names.map((name) => [name, name === base ? `${shown[name]} (base)` : shown[name]!]);
}

/**
 * The base of a measure: the runtime's pin-capable client (among `candidates`, all of them by default) with the
 * best figure, the highest where `higher` is better, else the lowest.
 */
function best(
  result: RuntimeResult,
  figure: (name: string) => number,
  higher: boolean,
  candidates = result.baselines,
): string | undefined {
  let found: string | undefined;
  for (const name of candidates) {
    const value = figure(name);
    if (!Number.isFinite(value)) continue;
    if (found === undefined || (higher ? value > figure(found) : value < figure(found))) found = name;
  }
  return found;
}

/** What the server saw of one measure's client: TLS connections / requests. */
function seen(result: RuntimeResult, measure: string, name: string): string {
  const counter = result.server[`${measure}/${name}`];
  return counter ? `${counter.connections} / ${counter.requests}` : "—";
}

/** As `seen`, with how many of the connections were h2 sessions: TLS connections (h2) / requests. */
function seenWithH2(result: RuntimeResult, measure: string, name: string): string {
  const counter = result.server[`${measure}/${name}`];
  return counter ? `${counter.connections} (${counter.h2}) / ${counter.requests}` : "—";
}

/** The protocol the server saw `name` speak in `measure`: h2, HTTP/1.1, or both. */
function protocol(result: RuntimeResult, measure: string, name: string): string {
  const counter = result.server[`${measure}/${name}`];
  if (!counter?.connections) return "—";
  return counter.h2 === counter.connections ? "h2" : counter.h2 ? "h2 and HTTP/1.1" : "HTTP/1.1";
}

const perRequest = ({ cpuMs, ms }: ColdSamples) => cpuMs / ms.length;

/** The ratios of a cold measure's median, p99 and CPU per request to `base`'s. */
const coldRatios = (samples: ColdSamples, base: ColdSamples) =>
  `${ratio(median(samples.ms), median(base.ms))} / ${ratio(p99(samples.ms), p99(base.ms))} / ` +
  ratio(perRequest(samples), perRequest(base));

/** A cold measure's figures for one client: median, p99, CPU per request, and their ratios to `base`'s. */
function coldFigures(samples: ColdSamples, base: ColdSamples | undefined): string[] {
  const figures = [fixed(median(samples.ms)), fixed(p99(samples.ms)), fixed(perRequest(samples))];
  return [...figures, base ? coldRatios(samples, base) : "—"];
}

const COLD_HEAD = ["median ms", "p99 ms", "client CPU ms/req", "ratio to base: median / p99 / CPU"];

/** `hybridGroups`: the groups the post-quantum server takes, its preferred first; `baseline`: BENCHMARKS.md's figures. */
export function report(
  results: RuntimeResult[],
  engine: Engine,
  hybridGroups: readonly string[],
  baseline: Recorded,
): string {
  const label = (result: RuntimeResult) => `${LABEL[result.runtime]} ${result.version}`;
  const sections: string[] = [];

  const coldRows = results.flatMap((result) => {
    const baseName = best(result, (name) => median(result.cold[name]!.ms), false);
    const base = baseName ? result.cold[baseName] : undefined;
    return clients(result, Object.keys(result.cold), baseName).map(([name, shown]) => {
      const { ms } = result.cold[name]!;
      const target = name === "pinned-fetch" && base ? atMost(median(ms) / median(base.ms), COLD_TARGET) : "";
      return [label(result), shown, ...coldFigures(result.cold[name]!, base), target, seen(result, "cold", name)];
    });
  });
  sections.push(
    "### cold: a new connection (full handshake, no resumption) + 1 KiB GET, sequential\n\n" +
      table(["runtime", "client", ...COLD_HEAD, "target (median)", "server: TLS conns / requests"], coldRows),
  );

  // The same run's cold rows of pinned-fetch, one against the other: what the X25519MLKEM768 share costs.
  const shareRows = results.map((result) => {
    const [before, after] = [result.cold[CLASSICAL]!, result.cold["pinned-fetch"]!];
    return [
      label(result),
      `${fixed(median(before.ms))} / ${fixed(median(after.ms))}`,
      `${fixed(perRequest(before))} / ${fixed(perRequest(after))}`,
      coldRatios(after, before),
    ];
  });
  sections.push(
    "### post-quantum share: pinned-fetch's cold rows, postQuantum: false (before) against the default (after), " +
      "which also sends an X25519MLKEM768 share; the bench server takes X25519 from both\n\n" +
      table(
        [
          "runtime",
          "median ms before / after",
          "client CPU ms/req before / after",
          "ratio after / before: median / p99 / CPU",
        ],
        shareRows,
      ),
  );

  // The base: the best pin-capable client that negotiated pinned-fetch's group (two key exchanges do not compare).
  const hybridRows = results.flatMap((result) => {
    const groups = (name: string) => [...new Set(result.coldHybrid[name]!.keyExchange)].join(", ");
    const alike = result.baselines.filter((name) => groups(name) === groups("pinned-fetch"));
    const baseName = best(result, (name) => median(result.coldHybrid[name]!.ms), false, alike);
    const base = baseName ? result.coldHybrid[baseName] : undefined;
    return clients(result, Object.keys(result.coldHybrid), baseName).map(([name, shown]) => {
      const figures = coldFigures(result.coldHybrid[name]!, base);
      if (baseName && groups(name) !== groups(baseName)) figures[3] = `not compared: another group than the base's`;
      return [label(result), shown, groups(name), ...figures];
    });
  });
  sections.push(
    `### cold against a server that speaks the hybrid: as cold, against Go's crypto/tls taking ` +
      `${hybridGroups.join(", ")} (its preference in that order), no session tickets; the base is the best ` +
      `pin-capable client that negotiated pinned-fetch's group\n\n` +
      table(["runtime", "client", "group negotiated", ...COLD_HEAD], hybridRows),
  );

  // No target: the issue sets none; the ratio to the best pin-capable client given the same certificate is the figure.
  const clientCertRows = results.flatMap((result) =>
    Object.entries(result.coldClientCert).flatMap(([keyType, byClient]) => {
      const baseName = best(result, (name) => median(byClient[name]!.ms), false);
      return clients(result, Object.keys(byClient), baseName).map(([name, shown]) => [
        label(result),
        keyType,
        shown,
        ...coldFigures(byClient[name]!, baseName ? byClient[baseName] : undefined),
        seen(result, `cold-client-cert/${keyType}`, name),
      ]);
    }),
  );
  sections.push(
    "### cold with a client certificate: as cold, against a server that requires one (the same certificate and key for every client)\n\n" +
      table(["runtime", "client key", "client", ...COLD_HEAD, "server: TLS conns / requests"], clientCertRows),
  );

  /**
   * Keep-alive and bulk: every client against the best pin-capable one; pinned-fetch over h2 also against its own
   * HTTP/1.1 row, and in Bun pinned-fetch also against Bun's fetch without pins (information, no target).
   */
  const sequentialRows = (measure: "keep-alive" | "bulk", target: number) =>
    results.flatMap((result) => {
      const samples = measure === "bulk" ? result.bulk : result.keepAlive;
      const baseName = best(result, (name) => median(samples[name]!), true);
      const base = baseName ? median(samples[baseName]!) : NaN;
      return clients(result, Object.keys(samples), baseName).map(([name, shown]) => {
        const value = median(samples[name]!);
        const r = value / base;
        let goal = "";
        if (name === "pinned-fetch") {
          goal = atLeast(r, target);
          if (samples[UNPINNED]) goal += `; ${ratio(value, median(samples[UNPINNED]))} of fetch without pins`;
        } else if (name === PINNED_H2) goal = `(h2 / HTTP/1.1: ${ratio(value, median(samples["pinned-fetch"]!))})`;
        return [label(result), shown, fixed(value, 0), ratio(r, 1), goal, seenWithH2(result, measure, name)];
      });
    });
  const sequentialHead = (rate: string) => [
    "runtime",
    "client",
    `${rate} (median of rounds)`,
    "ratio to base",
    "target",
    "server: TLS conns (h2) / requests",
  ];
  sections.push(
    "### keep-alive: sequential 1 KiB GETs on one kept-alive connection (one instance / one agent / one connection)\n\n" +
      table(sequentialHead("req/s"), sequentialRows("keep-alive", KEEP_ALIVE_TARGET)),
  );
  sections.push(
    "### bulk: one streamed download read to the end (MB = 10^6 bytes)\n\n" +
      table(sequentialHead("MB/s"), sequentialRows("bulk", BULK_TARGET)),
  );

  const concurrentRows = results.flatMap((result) => {
    const measures = result.concurrent;
    const perRequestUs = ({ cpuMs, requests }: ConcurrentSamples) => (cpuMs * 1000) / requests;
    const baseName = best(result, (name) => median(measures[name]!.perSecond), true);
    const base = baseName ? measures[baseName] : undefined;
    return clients(result, Object.keys(measures), baseName).map(([name, shown]) => {
      const samples = measures[name]!;
      const r = base ? median(samples.perSecond) / median(base.perSecond) : NaN;
      const counter = result.server[`concurrent/${name}`];
      return [
        label(result),
        shown,
        protocol(result, "concurrent", name),
        fixed(median(samples.perSecond), 0),
        fixed(perRequestUs(samples), 0),
        ratio(r, 1),
        base ? ratio(perRequestUs(samples), perRequestUs(base)) : "—",
        name === "pinned-fetch" ? atLeast(r, CONCURRENT_TARGET) : "",
        counter ? `${counter.connections} (${counter.h2}) / ${counter.maxOpen ?? "—"} / ${counter.requests}` : "—",
      ];
    });
  });
  sections.push(
    "### concurrent: requests in flight to one origin, at most 6 connections per client, each sending its next " +
      "1 KiB GET once the last body is read (Go's net/http server, offering h2 and HTTP/1.1)\n\n" +
      table(
        [
          "runtime",
          "client",
          "protocol (as the server saw it)",
          "req/s (median of rounds)",
          "client CPU µs/req",
          "ratio to base: req/s",
          "ratio to base: CPU/req",
          "target (req/s)",
          "server: TLS conns (h2) / most open at once / requests",
        ],
        concurrentRows,
      ),
  );

  const webSocketTitles: Record<WebSocketMeasure, string> = {
    echo: "websocket echo: a 32-byte text message sent and its echo awaited, sequential, on one connection",
    receive:
      "websocket receive: 64 KiB binary messages from the server, as fast as the client takes them (MB = 10^6 bytes)",
    send: "websocket send: 64 KiB binary messages from the client, each acknowledged by the server, 16 in flight at most",
  };
  // Issue 19's measure: the base is the runtime's own WebSocket, which cannot pin.
  for (const measure of WEBSOCKET_MEASURES) {
    const rows = results.flatMap((result) => {
      const byClient = result.webSocket.measures[measure];
      const perMessage = ({ cpuMs, messages }: { cpuMs: number; messages: number }) => (cpuMs * 1000) / messages;
      const base = byClient.native!;
      return clients(result, Object.keys(byClient), "native").map(([name, shown]) => {
        const samples = byClient[name]!;
        const r = median(samples.perSecond) / median(base.perSecond);
        const counter = result.server[`ws-${measure}/${name}`];
        return [
          label(result),
          shown,
          fixed(median(samples.perSecond), 0),
          fixed(perMessage(samples), 1),
          `${ratio(r, 1)} / ${ratio(perMessage(samples), perMessage(base))}`,
          name === "pinned-fetch" ? atLeast(r, WEBSOCKET_TARGET) : "",
          counter ? `${counter.connections} (${counter.deflated ?? 0}) / ${counter.requests}` : "—",
        ];
      });
    });
    const rate = measure === "echo" ? "round trips/s" : "MB/s";
    const cpu = measure === "echo" ? "client CPU µs/round trip" : "client CPU µs/message";
    sections.push(
      `### ${webSocketTitles[measure]}\n\n` +
        table(
          [
            "runtime",
            "client",
            `${rate} (median of rounds)`,
            cpu,
            "ratio rate / CPU",
            "target (rate)",
            "server: conns (with deflate) / messages in",
          ],
          rows,
        ),
    );
  }

  const firstRows = results.flatMap((result) => {
    const baseName = best(result, (name) => median(result.first[name]!), false);
    const base = baseName ? median(result.first[baseName]!) : NaN;
    return clients(result, Object.keys(result.first), baseName).map(([name, shown]) => {
      const value = median(result.first[name]!);
      const target = name === "pinned-fetch" ? atMost(value / base, FIRST_TARGET) : "";
      return [
        label(result),
        shown,
        fixed(value, 0),
        name === "none" ? "" : ratio(value, base),
        target,
        String(result.first[name]!.length),
      ];
    });
  });
  sections.push(
    "### first request in a fresh process: spawn to the printed response (engine loading counts)\n\n" +
      table(["runtime", "client", "median ms", "ratio to base", "target", "processes"], firstRows),
  );

  const baseEngine = baseline.engineKiB;
  const memoryRows = results.flatMap((result) => {
    // Per connection the server saw open: none open (a client that kept nothing) gives no figure.
    const rssPer = (memory: MemoryResult) =>
      memory.open ? (memory.rss.after - memory.rss.before) / 1024 / memory.open : NaN;
    // A client whose RSS did not grow (noise, at small sizes) is no base.
    const baseName = best(result, (name) => Math.max(rssPer(result.memory[name]!), 0) || NaN, false);
    const base = baseName ? rssPer(result.memory[baseName]!) : NaN;
    return clients(result, Object.keys(result.memory), baseName).map(([name, shown]) => {
      const memory = result.memory[name]!;
      const engineKiB =
        memory.engine && memory.open ? (memory.engine.after - memory.engine.before) / 1024 / memory.open : NaN;
      // WebAssembly memory grows by 64 KiB pages: per connection, the figure is known to within one page.
      const grown = engineKiB > (baseEngine?.value ?? NaN) + WASM_PAGE_KIB / memory.open;
      const target =
        memory.engine && baseEngine ? `does not grow (baseline ${baseEngine.value}): ${verdict(!grown)}` : "";
      return [
        label(result),
        shown,
        `${memory.open} of ${memory.requests}`,
        String(memory.failed),
        fixed(memory.openMs, 0),
        fixed(engineKiB, 1),
        fixed(rssPer(memory), 1),
        ratio(rssPer(memory), base),
        target,
      ];
    });
  });
  sections.push(
    "### memory: idle pooled keep-alive connections, all opened at once\n\n" +
      table(
        [
          "runtime",
          "client",
          "open at the server",
          "failed",
          "ms to open all",
          "engine (wasm) KiB/conn",
          "RSS KiB/conn",
          "ratio to base (RSS)",
          "target (engine)",
        ],
        memoryRows,
      ) +
      (baseEngine ? `\n\nBaseline engine KiB/conn: BENCHMARKS.md, "${baseEngine.entry}".` : ""),
  );

  const baseGzip = baseline.gzipBytes;
  sections.push(
    `### engine size\n\nwasm/pinned_fetch.wasm ${engine.sha256.slice(0, 12)}: ${engine.bytes} bytes, ${engine.gzipBytes} gzip ` +
      (baseGzip
        ? `(target: does not grow; baseline ${baseGzip.value} gzip, BENCHMARKS.md, "${baseGzip.entry}": ` +
          `${verdict(engine.gzipBytes <= baseGzip.value)})`
        : "(no figure recorded in BENCHMARKS.md to compare with)"),
  );
  return sections.join("\n\n");
}
