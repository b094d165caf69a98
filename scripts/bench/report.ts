// The bench's Markdown tables: one per measure, each figure of pinned-fetch
// with its ratio to the native pin-capable client of the same runtime and
// run, and the target for it, met or missed, where it sets one.
import type { ClientResult, ColdSamples } from "./client.js";
import {
  CLASSICAL,
  PINNED_H2,
  PINNED_HTTP1,
  WEBSOCKET_DEFLATE,
  WEBSOCKET_MEASURES,
  type WebSocketMeasure,
} from "./common.js";
import type { ConcurrentResult } from "./concurrent.js";
import type { MemoryResult } from "./memory.js";
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

const LABEL = { node: "Node", deno: "Deno", bun: "Bun" } as Record<string, string>;
const COLD_TARGET: Record<string, number> = { node: 1.0, deno: 1.2, bun: 1.5 };
const KEEP_ALIVE_TARGET = 1.0;
const BULK_TARGET = 0.5;
/** Issue 20: pinned-fetch over h2 at least 0.9x of itself over HTTP/1.1 in keep-alive and bulk. */
const H2_TARGET = 0.9;
/** Issue 20: pinned-fetch over h2 at least 1.0x of the runtime's own client, 100 requests in flight. */
const CONCURRENT_TARGET = 1.0;
/** Issue 19: pinned-fetch's WebSocket at least 0.8x of the runtime's own, in round trips and in throughput. */
const WEBSOCKET_TARGET = 0.8;
const FIRST_TARGET = 1.5;
const ENGINE_KIB_PER_CONNECTION = 64;
const ENGINE_GZIP_BYTES = 250_000;

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

/** The clients of a runtime in table order, with their names as shown. */
function clients(result: RuntimeResult, names: string[]): [string, string][] {
  const shown: Record<string, string> = {
    "pinned-fetch": "pinned-fetch",
    [CLASSICAL]: "pinned-fetch, postQuantum: false",
    native: result.native,
    subtls: `subtls ${result.subtls} (reference)`,
    none: "(no request: process start alone)",
    ws: "ws + checkServerIdentity",
    [WEBSOCKET_DEFLATE]: "pinned-fetch, permessage-deflate",
    [PINNED_H2]: "pinned-fetch over h2 (node:http2's server)",
    [PINNED_HTTP1]: "pinned-fetch, http2: false",
    ...result.concurrent.natives,
  };
  return names.map((name) => [name, shown[name]!]);
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
function coldFigures(samples: ColdSamples, base: ColdSamples): string[] {
  return [fixed(median(samples.ms)), fixed(p99(samples.ms)), fixed(perRequest(samples)), coldRatios(samples, base)];
}

const COLD_HEAD = ["median ms", "p99 ms", "client CPU ms/req", "ratio median / p99 / CPU"];

/** `hybridGroups`: the groups the post-quantum server takes, its preferred first. */
export function report(results: RuntimeResult[], engine: Engine, hybridGroups: readonly string[]): string {
  const label = (result: RuntimeResult) => `${LABEL[result.runtime]} ${result.version}`;
  const sections: string[] = [];

  const coldRows = results.flatMap((result) => {
    const base = result.cold.native!;
    return clients(result, Object.keys(result.cold)).map(([name, shown]) => {
      const { ms } = result.cold[name]!;
      const target = name === "pinned-fetch" ? atMost(median(ms) / median(base.ms), COLD_TARGET[result.runtime]!) : "";
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

  // Against a native client that negotiated another group, a ratio would compare two different key exchanges.
  const hybridRows = results.flatMap((result) => {
    const groups = (name: string) => [...new Set(result.coldHybrid[name]!.keyExchange)].join(", ");
    return clients(result, Object.keys(result.coldHybrid)).map(([name, shown]) => {
      const figures = coldFigures(result.coldHybrid[name]!, result.coldHybrid.native!);
      if (groups(name) !== groups("native"))
        figures[3] = `not compared: ${result.native} negotiated ${groups("native")}`;
      return [label(result), shown, groups(name), ...figures];
    });
  });
  sections.push(
    `### cold against a server that speaks the hybrid: as cold, against Go's crypto/tls taking ` +
      `${hybridGroups.join(", ")} (its preference in that order), no session tickets\n\n` +
      table(["runtime", "client", "group negotiated", ...COLD_HEAD], hybridRows),
  );

  // No target: the issue sets none; the ratio to the native client given the same certificate is the figure.
  const clientCertRows = results.flatMap((result) =>
    Object.entries(result.coldClientCert).flatMap(([keyType, byClient]) =>
      clients(result, Object.keys(byClient)).map(([name, shown]) => [
        label(result),
        keyType,
        shown,
        ...coldFigures(byClient[name]!, byClient.native!),
        seen(result, `cold-client-cert/${keyType}`, name),
      ]),
    ),
  );
  sections.push(
    "### cold with a client certificate: as cold, against a server that requires one (the same certificate and key for both clients)\n\n" +
      table(["runtime", "client key", "client", ...COLD_HEAD, "server: TLS conns / requests"], clientCertRows),
  );

  /** Keep-alive and bulk: each client against the native one; pinned-fetch over h2 also against its HTTP/1.1 row. */
  const sequentialRows = (measure: "keep-alive" | "bulk", target: number) =>
    results.flatMap((result) => {
      const samples = measure === "bulk" ? result.bulk : result.keepAlive;
      return clients(result, Object.keys(samples)).map(([name, shown]) => {
        const value = median(samples[name]!);
        const r = value / median(samples.native!);
        const overHttp1 = value / median(samples["pinned-fetch"]!);
        const goal =
          name === "pinned-fetch"
            ? atLeast(r, target)
            : name === PINNED_H2
              ? `h2 / HTTP/1.1 ${ratio(overHttp1, 1)} ${atLeast(overHttp1, H2_TARGET)}`
              : "";
        return [label(result), shown, fixed(value, 0), ratio(r, 1), goal, seenWithH2(result, measure, name)];
      });
    });
  const sequentialHead = (rate: string) => [
    "runtime",
    "client",
    `${rate} (median of rounds)`,
    "ratio",
    "target",
    "server: TLS conns (h2) / requests",
  ];
  sections.push(
    "### keep-alive: sequential 1 KiB GETs on one kept-alive connection (one instance / one agent)\n\n" +
      table(sequentialHead("req/s"), sequentialRows("keep-alive", KEEP_ALIVE_TARGET)),
  );
  sections.push(
    "### bulk: one streamed download read to the end (MB = 10^6 bytes)\n\n" +
      table(sequentialHead("MB/s"), sequentialRows("bulk", BULK_TARGET)),
  );

  // The base of the ratios: the runtime's first own client (the pinning one, or Deno's fetch, which cannot pin).
  const concurrentRows = results.flatMap((result) => {
    const { measures, natives } = result.concurrent;
    const perRequestUs = ({ cpuMs, requests }: { cpuMs: number; requests: number }) => (cpuMs * 1000) / requests;
    const base = measures[Object.keys(natives)[0]!]!;
    return clients(result, Object.keys(measures)).map(([name, shown]) => {
      const samples = measures[name]!;
      const r = median(samples.perSecond) / median(base.perSecond);
      return [
        label(result),
        shown,
        protocol(result, "concurrent", name),
        fixed(median(samples.perSecond), 0),
        fixed(perRequestUs(samples), 0),
        `${ratio(r, 1)} / ${ratio(perRequestUs(samples), perRequestUs(base))}`,
        name === "pinned-fetch" ? atLeast(r, CONCURRENT_TARGET) : "",
        seenWithH2(result, "concurrent", name),
      ];
    });
  });
  sections.push(
    "### concurrent: requests in flight to one origin (node:http2's server, h2 and HTTP/1.1), each sending its " +
      "next 1 KiB GET once the last body is read; ratios to the runtime's first own client\n\n" +
      table(
        [
          "runtime",
          "client",
          "protocol (as the server saw it)",
          "req/s (median of rounds)",
          "client CPU µs/req",
          "ratio req/s / CPU",
          "target (req/s)",
          "server: TLS conns (h2) / requests",
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
  for (const measure of WEBSOCKET_MEASURES) {
    const rows = results.flatMap((result) => {
      const byClient = result.webSocket.measures[measure];
      const perMessage = ({ cpuMs, messages }: { cpuMs: number; messages: number }) => (cpuMs * 1000) / messages;
      const base = byClient.native!;
      return clients({ ...result, native: result.webSocket.native }, Object.keys(byClient)).map(([name, shown]) => {
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

  const firstRows = results.flatMap((result) =>
    clients(result, Object.keys(result.first)).map(([name, shown]) => {
      const value = median(result.first[name]!);
      const r = value / median(result.first.native!);
      const target = name === "pinned-fetch" ? atMost(r, FIRST_TARGET) : "";
      return [
        label(result),
        shown,
        fixed(value, 0),
        name === "none" ? "" : ratio(r, 1),
        target,
        String(result.first[name]!.length),
      ];
    }),
  );
  sections.push(
    "### first request in a fresh process: spawn to the printed response (engine loading counts)\n\n" +
      table(["runtime", "client", "median ms", "ratio", "target", "processes"], firstRows),
  );

  const memoryRows = results.flatMap((result) => {
    // Per connection the server saw open: none open (a client that kept nothing) gives no figure.
    const rssPer = (memory: MemoryResult) =>
      memory.open ? (memory.rss.after - memory.rss.before) / 1024 / memory.open : NaN;
    return clients(result, Object.keys(result.memory)).map(([name, shown]) => {
      const memory = result.memory[name]!;
      const engineKiB =
        memory.engine && memory.open ? (memory.engine.after - memory.engine.before) / 1024 / memory.open : NaN;
      const target = memory.engine
        ? `<= ${ENGINE_KIB_PER_CONNECTION} KiB: ${verdict(engineKiB <= ENGINE_KIB_PER_CONNECTION)}`
        : "";
      return [
        label(result),
        shown,
        `${memory.open} of ${memory.requests}`,
        String(memory.failed),
        fixed(memory.openMs, 0),
        fixed(engineKiB, 1),
        fixed(rssPer(memory), 1),
        ratio(rssPer(memory), rssPer(result.memory.native!)),
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
          "ratio (RSS)",
          "target (engine)",
        ],
        memoryRows,
      ),
  );

  sections.push(
    `### engine size\n\nwasm/pinned_fetch.wasm ${engine.sha256.slice(0, 12)}: ${engine.bytes} bytes, ${engine.gzipBytes} gzip ` +
      `(target <= ${ENGINE_GZIP_BYTES / 1000} KB gzip: ${verdict(engine.gzipBytes <= ENGINE_GZIP_BYTES)})`,
  );
  return sections.join("\n\n");
}
