// The pinned WebSocket against other implementations of the protocol:
// `Deno.serve` with `Deno.upgradeWebSocket` and `Bun.serve` with its
// `websocket` handler (each the runtime's own server, in a child process),
// and two libraries that take a WebSocket class, end to end: graphql-ws
// (against its own server on `ws`) and partysocket (against a `ws` echo).
// The servers are in test/support/websocket-libraries.ts; each starts at its
// first use.
import { createClient, type Client } from "graphql-ws";
import { WebSocket as ReconnectingWebSocket } from "partysocket";

import { type PinnedFetch, PinnedFetchError, type PinnedFetchOptions } from "../../src/index.js";
import { type Group, type Scenario, assert, delay, eventually, local, withFetch } from "./harness/check.js";
import type { Fixture, WebSocketServerName, WebSocketServerStats } from "./harness/description.js";

type RuntimeServer = "denoServe" | "bunServe";
type PinnedWebSocket = InstanceType<PinnedFetch["WebSocket"]>;

/** Bounds a scenario that starts Deno or Bun first (child-server.ts bounds the start to 60 s). */
const START_BOUND = 90_000;
/** Bounds each wait for an event. */
const WAIT = 15_000;
const MiB = 1024 * 1024;
/** What Bun.serve answers to the default offer (`permessage-deflate; client_max_window_bits`). */
const BUN_DEFLATE = "permessage-deflate; client_no_context_takeover; server_no_context_takeover";

/** Pins the test intermediate and root: the servers' own chain. */
const pinned = (fixture: Fixture): PinnedFetchOptions => local(fixture, [fixture.pins.intermediate, fixture.pins.root]);
/** Pins the other CA: the servers' chain is trusted, but misses these pins. */
const wrongPins = (fixture: Fixture): PinnedFetchOptions =>
  local(fixture, [fixture.pins.otherIntermediate, fixture.pins.otherRoot]);

/** The URL of `path` on a server (started if it is not yet), for a connection the server reports on as `id`. */
async function urlOf(fixture: Fixture, name: WebSocketServerName, path: string, id = ""): Promise<string> {
  const { port } = await fixture.websocketServer(name);
  return `wss://localhost:${port}${path}${path.includes("?") ? "&" : "?"}id=${id}`;
}

/** Everything a WebSocket (or a wrapper of one) dispatched, in order, and bounded waits for what is still to come. */
class Events {
  readonly seen: Event[] = [];
  #wake: (() => void) | undefined;

  constructor(target: EventTarget) {
    for (const type of ["open", "message", "error", "close"]) {
      target.addEventListener(type, (event) => {
        this.seen.push(event);
        this.#wake?.();
      });
    }
  }

  get types(): string[] {
    return this.seen.map((event) => event.type);
  }

  of(type: string): Event[] {
    return this.seen.filter((event) => event.type === type);
  }

  /** Waits, at most WAIT ms, until `find` returns something other than undefined. */
  async until<T>(find: () => T | undefined, what: string): Promise<T> {
    const deadline = Date.now() + WAIT;
    for (;;) {
      const found = find();
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0) assert.fail(`${what}: not within ${WAIT / 1000} s (events so far: ${this.describe()})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Waits for the `count`-th open event; fails at once if a close comes first. */
  opened(count = 1): Promise<true> {
    return this.until(() => {
      if (this.of("open").length >= count) return true;
      if (this.of("close").length >= count) assert.fail(`closed instead of opening: ${this.describe()}`);
      return undefined;
    }, "open");
  }

  /** The data of the message at `index` (from 0), once it came; fails at once if the socket closed before it. */
  message(index: number): Promise<unknown> {
    return this.until(
      () => {
        const messages = this.of("message");
        if (messages.length > index) return (messages[index] as MessageEvent).data;
        if (this.seen.at(-1)?.type === "close") assert.fail(`closed before message ${index + 1}: ${this.describe()}`);
        return undefined;
      },
      `message ${index + 1}`,
    );
  }

  closed(): Promise<CloseEvent> {
    return this.until(() => this.of("close")[0] as CloseEvent | undefined, "close");
  }

  describe(): string {
    return this.seen
      .map((event) => {
        const { code, reason, wasClean, error } = event as Partial<CloseEvent> & { error?: unknown };
        if (event.type === "close") return `close ${code} ${JSON.stringify(reason)} wasClean=${wasClean}`;
        if (event.type === "error") return `error ${String((error as Error | undefined)?.message ?? error)}`;
        return event.type;
      })
      .join(", ");
  }
}

/** The PinnedFetchError that an error event carries. */
function errorOf(event: unknown): PinnedFetchError {
  const error = (event as { error?: unknown } | undefined)?.error;
  assert.ok(error instanceof PinnedFetchError, `expected an error event with a PinnedFetchError, got ${String(error)}`);
  return error;
}

/** Settles as `promise` does, or fails after WAIT ms. */
async function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${WAIT / 1000} s`)), WAIT);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function bytesOf(data: unknown): Promise<Uint8Array> {
  if (data instanceof Blob) return new Uint8Array(await data.arrayBuffer());
  assert.ok(data instanceof ArrayBuffer, `expected binary data, got ${String(data)}`);
  return new Uint8Array(data);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, index) => byte === b[index]);
}

function randomBytes(size: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size);
  // getRandomValues fills at most 64 KiB at a time.
  for (let offset = 0; offset < size; offset += 65_536) crypto.getRandomValues(bytes.subarray(offset, offset + 65_536));
  return bytes;
}

/** Text of 1 MiB (in UTF-8) and a little more, with 2-, 3- and 4-byte characters throughout, which compresses well. */
const TEXT_UNIT = "pinned wss: grüße ✓ 🔒 ";
const BIG_TEXT = TEXT_UNIT.repeat(Math.ceil(MiB / new TextEncoder().encode(TEXT_UNIT).length));

/** What the server saw of connection `id`, once it saw it close. */
function closedReport(fixture: Fixture, name: RuntimeServer, id: string) {
  return eventually(
    () => fixture.websocketReport(name, id),
    (report) => report.closed !== null,
    `${name}'s report of ${id}`,
  );
}

/** Opens `url` with `fetch.WebSocket`, waits for open, and runs `use` with the socket and its events. */
async function withSocket(
  fetch: PinnedFetch,
  url: string,
  use: (ws: PinnedWebSocket, events: Events) => Promise<void>,
  protocols?: string | string[],
): Promise<void> {
  const ws = new fetch.WebSocket(url, protocols);
  const events = new Events(ws);
  try {
    await events.opened();
    await use(ws, events);
  } finally {
    ws.close();
  }
}

/** The scenarios run against Deno.serve and Bun.serve alike. */
function runtimeServer(name: RuntimeServer, label: string): Scenario[] {
  return [
    {
      name: `${label}: text and binary echo (a Blob by default, an ArrayBuffer when asked), the subprotocol the server chose, the request's headers`,
      timeout: () => START_BOUND,
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          const id = crypto.randomUUID();
          const url = await urlOf(fixture, name, "/echo", id);
          const ws = new fetch.WebSocket(url, ["unknown", "echo.v1", "echo.v2"], {
            headers: { "x-pinned-test": "from the client" },
          });
          const events = new Events(ws);
          assert.equal(ws.readyState, ws.CONNECTING);
          await events.opened();
          assert.equal(ws.readyState, ws.OPEN);
          assert.equal(ws.url, url);
          assert.equal(ws.protocol, "echo.v2", "the server's first choice, not the client's");
          assert.equal(ws.binaryType, "blob");
          ws.send("héllo, wörld ✓ 🔒");
          assert.equal(await events.message(0), "héllo, wörld ✓ 🔒");
          ws.send(new Uint8Array([0, 1, 2, 254, 255]));
          const blob = await events.message(1);
          assert.ok(blob instanceof Blob, `a Blob by default, got ${String(blob)}`);
          assert.deepEqual(await bytesOf(blob), new Uint8Array([0, 1, 2, 254, 255]));
          ws.binaryType = "arraybuffer";
          ws.send(new Uint8Array([9, 8, 7, 6, 5]).subarray(1, 4));
          ws.send(new Blob(["a blob"]));
          ws.send(new ArrayBuffer(0));
          ws.send("");
          const view = await events.message(2);
          assert.ok(view instanceof ArrayBuffer, `an ArrayBuffer once asked, got ${String(view)}`);
          assert.deepEqual(new Uint8Array(view), new Uint8Array([8, 7, 6]), "only the view's bytes");
          assert.equal(new TextDecoder().decode(await bytesOf(await events.message(3))), "a blob");
          assert.equal((await bytesOf(await events.message(4))).length, 0);
          assert.equal(await events.message(5), "");
          ws.close(1000, "done");
          assert.equal(ws.readyState, ws.CLOSING);
          const close = await events.closed();
          assert.deepEqual([close.code, close.reason, close.wasClean], [1000, "done", true]);
          assert.equal(ws.readyState, ws.CLOSED);
          assert.deepEqual(events.types, ["open", ...Array<string>(6).fill("message"), "close"]);
          const report = await closedReport(fixture, name, id);
          assert.deepEqual(
            report.offeredProtocols?.split(",").map((protocol) => protocol.trim()),
            ["unknown", "echo.v1", "echo.v2"],
          );
          assert.equal(report.protocol, "echo.v2");
          assert.equal(report.testHeader, "from the client");
          assert.equal(report.messages, 6);
          assert.deepEqual(report.closed, { code: 1000, reason: "done" });
        }),
    },
    {
      name: `${label}: offered subprotocols the server does not speak open with protocol "", one given as a string is offered alone, none offers none`,
      timeout: () => START_BOUND,
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          // The handler names no subprotocol here: Deno then answers none, and Bun the first one offered.
          const cases: [string | string[] | undefined, string | null, string][] = [
            [["unknown", "other"], "unknown, other", name === "bunServe" ? "unknown" : ""],
            ["echo.v1", "echo.v1", "echo.v1"],
            [undefined, null, ""],
          ];
          for (const [protocols, offered, chosen] of cases) {
            const id = crypto.randomUUID();
            await withSocket(
              fetch,
              await urlOf(fixture, name, "/echo", id),
              async (ws) => assert.equal(ws.protocol, chosen),
              protocols,
            );
            const report = await closedReport(fixture, name, id);
            assert.equal(report.offeredProtocols?.replace(/,\s*/g, ", ") ?? null, offered);
          }
        }),
    },
    {
      name: `${label}: a 1 MiB binary message and a 1 MiB text message come back whole`,
      timeout: () => START_BOUND,
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          await withSocket(fetch, await urlOf(fixture, name, "/echo"), async (ws, events) => {
            ws.binaryType = "arraybuffer";
            const bytes = randomBytes(MiB);
            const started = performance.now();
            ws.send(bytes);
            ws.send(BIG_TEXT);
            const binary = await events.message(0);
            assert.ok(binary instanceof ArrayBuffer);
            assert.equal(binary.byteLength, MiB);
            assert.ok(sameBytes(new Uint8Array(binary), bytes), "the binary message's bytes");
            const text = await events.message(1);
            assert.equal(typeof text, "string");
            assert.equal((text as string).length, BIG_TEXT.length);
            assert.ok(text === BIG_TEXT, "the text message's characters");
            console.log(`      (2 MiB each way with ${label} in ${Math.round(performance.now() - started)} ms)`);
          });
        }),
    },
    {
      name: `${label}: close from the client with a code and a reason, and with neither: the server sees each, and the close is clean`,
      timeout: () => START_BOUND,
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          const cases: [[number?, string?], { code: number; reason: string }][] = [
            [[4000, "client says bye"], { code: 4000, reason: "client says bye" }],
            [[], { code: 1005, reason: "" }],
          ];
          for (const [args, seen] of cases) {
            const id = crypto.randomUUID();
            const ws = new fetch.WebSocket(await urlOf(fixture, name, "/echo", id));
            const events = new Events(ws);
            await events.opened();
            ws.close(...args);
            const close = await events.closed();
            assert.equal(close.wasClean, true, events.describe());
            // The server answers with the code it got (none to none, which the client reports as 1005).
            assert.equal(close.code, seen.code);
            assert.deepEqual(events.types, ["open", "close"]);
            assert.deepEqual((await closedReport(fixture, name, id)).closed, seen);
          }
        }),
    },
    {
      name: `${label}: close from the server with a code and a reason: a clean close with both, no error`,
      timeout: () => START_BOUND,
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          const id = crypto.randomUUID();
          const ws = new fetch.WebSocket(await urlOf(fixture, name, "/close?code=4002&reason=server%20says%20bye", id));
          const events = new Events(ws);
          const close = await events.closed();
          assert.deepEqual([close.code, close.reason, close.wasClean], [4002, "server says bye", true]);
          assert.deepEqual(events.types, ["open", "close"]);
          assert.equal(ws.readyState, ws.CLOSED);
          // The client's answering close frame carries the same code back.
          assert.equal((await closedReport(fixture, name, id)).closed?.code, 4002);
        }),
    },
  ];
}

/** permessage-deflate as the server does it: `extensions` says what it answered, and the wire shows what it did. */
async function deflate(fixture: Fixture, name: RuntimeServer, options: PinnedFetchOptions, expected: string) {
  const compressed = expected !== "";
  await withFetch(options, async (fetch) => {
    const id = crypto.randomUUID();
    await withSocket(fetch, await urlOf(fixture, name, "/echo", id), async (ws, events) => {
      assert.equal(ws.extensions, expected);
      const before = await fixture.websocketServer(name);
      ws.send(BIG_TEXT);
      assert.ok((await events.message(0)) === BIG_TEXT, "the text came back whole");
      const after = await fixture.websocketServer(name);
      const sent = after.receivedBytes - before.receivedBytes;
      const received = after.sentBytes - before.sentBytes;
      console.log(`      (1 MiB of text, ${name}, ${expected || "no extension"}: ${sent} B out, ${received} B in)`);
      // 1 MiB of repeated text deflates to a few KiB; a message sent as it is takes 1 MiB and more.
      for (const [bytes, way] of [
        [sent, "to the server"],
        [received, "to the client"],
      ] as const) {
        assert.ok(compressed ? bytes < 64 * 1024 : bytes >= MiB, `${bytes} bytes on the wire ${way}`);
      }
    });
    const report = await closedReport(fixture, name, id);
    const offered = options.perMessageDeflate === false ? null : "permessage-deflate; client_max_window_bits";
    assert.equal(report.offeredExtensions, offered);
  });
}

/** What the server counted, once `accept` holds (bounded). */
function nodeWsStats(fixture: Fixture, accept: (stats: WebSocketServerStats) => boolean = () => true) {
  return eventually(() => fixture.websocketServer("nodeWs"), accept, "the ws server's counters");
}

/** Asserts that between `before` and `after` the ws server refused `handshakes` handshakes and received nothing. */
function assertNothingReceived(before: WebSocketServerStats, after: WebSocketServerStats, handshakes: number) {
  assert.equal(after.handshakeFailures, before.handshakeFailures! + handshakes, "handshakes refused");
  assert.equal(after.connections, before.connections, "no handshake completed");
  assert.equal(after.receivedBytes, before.receivedBytes, "no byte reached the server");
  assert.deepEqual(after.upgrades, before.upgrades, "no upgrade request reached the server");
}

const QUERY = 'query { hello(name: "pinned") }';
const SUBSCRIPTION = "subscription { count(to: 3) }";

/** Every result of a graphql-ws operation, until it completes. */
async function results(client: Client, query: string): Promise<unknown[]> {
  const all: unknown[] = [];
  for await (const result of client.iterate({ query })) all.push(result);
  return all;
}

function graphqlWs(): Scenario[] {
  return [
    {
      name: "graphql-ws: createClient with webSocketImpl: fetch.WebSocket runs a query and a subscription of 3 values to completion, on one connection",
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          const url = `wss://localhost:${(await fixture.websocketServer("nodeWs")).port}/graphql`;
          const before = await nodeWsStats(fixture);
          const sockets: PinnedWebSocket[] = [];
          const closes: CloseEvent[] = [];
          const client = createClient({
            url,
            webSocketImpl: fetch.WebSocket,
            retryAttempts: 0,
            lazy: true,
            on: {
              connected: (socket) => void sockets.push(socket as PinnedWebSocket),
              closed: (event) => void closes.push(event as CloseEvent),
            },
          });
          try {
            const [query, counts] = await within(
              Promise.all([results(client, QUERY), results(client, SUBSCRIPTION)]),
              "the query and the subscription",
            );
            assert.deepEqual(query, [{ data: { hello: "hello, pinned" } }]);
            assert.deepEqual(counts, [{ data: { count: 1 } }, { data: { count: 2 } }, { data: { count: 3 } }]);
          } finally {
            await client.dispose();
          }
          assert.equal(sockets.length, 1);
          assert.equal(sockets[0]!.protocol, "graphql-transport-ws");
          // Once nothing is subscribed, a lazy client closes its socket with 1000.
          const close = await eventually(
            async () => closes[0],
            (event) => event !== undefined,
            "graphql-ws's closed event",
          );
          assert.deepEqual([close.code, close.wasClean], [1000, true]);
          const after = await nodeWsStats(fixture, (stats) => stats.open === before.open);
          assert.equal(after.upgrades?.["/graphql"], (before.upgrades?.["/graphql"] ?? 0) + 1);
          assert.ok(after.receivedBytes > before.receivedBytes);
        }),
    },
    {
      name: "graphql-ws with wrong pins: its error listener, onNonLazyError (lazy: false) and a subscription's sink (lazy: true) get the error event of ERR_PIN_MISMATCH, then closed gets 1006; the server got 0 bytes",
      run: async (fixture) => {
        const url = `wss://localhost:${(await fixture.websocketServer("nodeWs")).port}/graphql`;
        const before = await nodeWsStats(fixture);
        await withFetch(wrongPins(fixture), async (fetch) => {
          for (const lazy of [false, true]) {
            const errors: unknown[] = [];
            const closes: CloseEvent[] = [];
            let client: Client | undefined;
            // What ends the connection: onNonLazyError gets it when lazy is false, the subscription's sink when true.
            const surfaced = new Promise<unknown>((resolve) => {
              client = createClient({
                url,
                webSocketImpl: fetch.WebSocket,
                retryAttempts: 0,
                lazy,
                onNonLazyError: resolve,
                on: {
                  error: (error) => void errors.push(error),
                  closed: (event) => void closes.push(event as CloseEvent),
                },
              });
              if (lazy) {
                client.subscribe(
                  { query: SUBSCRIPTION },
                  { next: () => resolve("a result"), error: resolve, complete: () => resolve("completion") },
                );
              }
            });
            try {
              const error = await within(surfaced, `graphql-ws's error (lazy: ${lazy})`);
              assert.equal(errorOf(error).code, "ERR_PIN_MISMATCH");
              assert.match(errorOf(error).message, /pin/i);
              assert.ok(errorOf(error).chain && errorOf(error).chain!.length > 0, "the error names the chain");
              assert.deepEqual(errors, [error], "the error listener got the same event, once");
              const close = await eventually(
                async () => closes[0],
                (event) => event !== undefined,
                "graphql-ws's closed event",
              );
              assert.deepEqual([close.code, close.wasClean], [1006, false]);
            } finally {
              await client?.dispose();
            }
          }
        });
        assertNothingReceived(
          before,
          await nodeWsStats(fixture, (stats) => stats.handshakeFailures! >= before.handshakeFailures! + 2),
          2,
        );
      },
    },
  ];
}

/** partysocket's options: quick retries, and a connect timeout that a loaded machine's handshake stays within. */
const RETRIES = { minReconnectionDelay: 10, maxReconnectionDelay: 50, connectionTimeout: 10_000 };

function partysocket(): Scenario[] {
  return [
    {
      name: "partysocket: messages round trip; the server drops the connection and it reconnects through the pinned WebSocket (two upgrades), and messages flow again",
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          const url = `wss://localhost:${(await fixture.websocketServer("nodeWs")).port}/echo`;
          const before = await nodeWsStats(fixture);
          const socket = new ReconnectingWebSocket(url, undefined, {
            WebSocket: fetch.WebSocket,
            maxRetries: 3,
            ...RETRIES,
          });
          const events = new Events(socket);
          try {
            // Sent before open: partysocket queues it until the pinned WebSocket opens.
            socket.send("queued before open");
            assert.equal(await events.message(0), "queued before open");
            assert.equal(socket.readyState, socket.OPEN);
            socket.send("first connection");
            assert.equal(await events.message(1), "first connection");
            // The echo server ends the connection on "drop", without a close frame.
            socket.send("drop");
            const error = await events.until(() => events.of("error")[0], "the error of the dropped connection");
            assert.equal(errorOf(error).code, "ERR_CONNECT");
            await events.opened(2);
            socket.send("second connection");
            assert.equal(await events.message(2), "second connection");
            assert.equal(events.of("error").length, 1);
          } finally {
            socket.close();
          }
          const after = await nodeWsStats(fixture, (stats) => stats.open === before.open);
          assert.equal(after.upgrades?.["/echo"], (before.upgrades?.["/echo"] ?? 0) + 2, "two connections");
          assert.equal(after.connections, before.connections + 2);
        }),
    },
    {
      name: "partysocket with wrong pins: every attempt fails with ERR_PIN_MISMATCH, none sends a byte, and it stops after maxRetries",
      run: async (fixture) => {
        const url = `wss://localhost:${(await fixture.websocketServer("nodeWs")).port}/echo`;
        const before = await nodeWsStats(fixture);
        await withFetch(wrongPins(fixture), async (fetch) => {
          const socket = new ReconnectingWebSocket(url, undefined, {
            WebSocket: fetch.WebSocket,
            maxRetries: 2,
            ...RETRIES,
          });
          const events = new Events(socket);
          try {
            socket.send("never sent");
            // The first attempt and two retries.
            const errors = await events.until(
              () => (events.of("error").length >= 3 ? events.of("error") : undefined),
              "three failed attempts",
            );
            for (const error of errors) assert.equal(errorOf(error).code, "ERR_PIN_MISMATCH");
            // Well past the delay a fourth attempt would wait (at most 50 ms), there is none.
            await delay(500);
            assert.equal(events.of("error").length, 3);
            assert.equal(events.of("open").length, 0);
            assert.equal(socket.retryCount, 2);
          } finally {
            socket.close();
          }
        });
        assertNothingReceived(
          before,
          await nodeWsStats(fixture, (stats) => stats.handshakeFailures! >= before.handshakeFailures! + 3),
          3,
        );
      },
    },
  ];
}

export const websocketServers: Group = {
  name: "websocket servers and libraries",
  scenarios: [
    ...runtimeServer("denoServe", "Deno.serve"),
    {
      name: "Deno.serve: its pings (idleTimeout) are answered, so it keeps the connection open through several",
      timeout: () => START_BOUND,
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          const id = crypto.randomUUID();
          // With idleTimeout: 1, Deno pings after 0.5 s of silence and closes with 1001 if no pong follows in 0.5 s.
          await withSocket(fetch, await urlOf(fixture, "denoServe", "/echo?idle=1", id), async (ws, events) => {
            await delay(2_500);
            ws.send("still here");
            assert.equal(await events.message(0), "still here");
            assert.deepEqual(events.types, ["open", "message"]);
            ws.close(1000);
          });
          // Not 1001, "No response from ping frame."
          assert.deepEqual((await closedReport(fixture, "denoServe", id)).closed, { code: 1000, reason: "" });
        }),
    },
    {
      name: "Deno.serve: no permessage-deflate, which it does not support: extensions is empty and messages go as they are",
      timeout: () => START_BOUND,
      run: (fixture) => deflate(fixture, "denoServe", pinned(fixture), ""),
    },
    ...runtimeServer("bunServe", "Bun.serve"),
    {
      name: "Bun.serve: its ping is answered with a pong that carries the ping's payload",
      timeout: () => START_BOUND,
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          // "ping:<payload>" makes the server ping; it reports the pong's payload back in a message.
          await withSocket(fetch, await urlOf(fixture, "bunServe", "/echo"), async (ws, events) => {
            ws.send("ping:are you there?");
            assert.equal(await events.message(0), "pong:are you there?");
            ws.send("ping:");
            assert.equal(await events.message(1), "pong:");
          });
        }),
    },
    {
      name: "Bun.serve with perMessageDeflate: the default offer is taken, extensions is the server's answer, and 1 MiB of text goes compressed both ways",
      timeout: () => START_BOUND,
      run: (fixture) => deflate(fixture, "bunServe", pinned(fixture), BUN_DEFLATE),
    },
    {
      name: "Bun.serve with perMessageDeflate: perMessageDeflate: false offers nothing, and messages go as they are",
      timeout: () => START_BOUND,
      run: (fixture) => deflate(fixture, "bunServe", { ...pinned(fixture), perMessageDeflate: false }, ""),
    },
    ...graphqlWs(),
    ...partysocket(),
  ],
};
