// WebSocket: fetch.WebSocket against the `ws` package's server (permessage-
// deflate on and off) and a raw TLS server that answers with scripted bytes,
// asserting the events in order, the close codes on both sides and what the
// server received.
import { createPinnedFetch, type PinnedFetch, PinnedFetchError, type PinnedFetchOptions } from "../../src/index.js";
import {
  FRAGMENTED_BINARY,
  FRAGMENTED_TEXT,
  FRAGMENTS_PING,
  PING_PAYLOAD,
  RAW_BIG_MESSAGE,
} from "../support/content.js";
import type { WebSocketRecord } from "../support/websocket-servers.js";
import { type Group, assert, delay, eventually, local, withFetch } from "./harness/check.js";
import type { Fixture, ServerName } from "./harness/description.js";

type PinnedWebSocket = InstanceType<PinnedFetch["WebSocket"]>;
type WebSocketServerName = Extract<ServerName, "websocket" | "websocketPlain" | "websocketRaw">;

/** What each event carried, in the order they fired. */
type Logged =
  | { type: "open" }
  | { type: "message"; data: unknown }
  | { type: "error"; error: unknown; message: unknown }
  | { type: "close"; code: number; reason: string; wasClean: boolean };
type Of<T extends Logged["type"]> = Extract<Logged, { type: T }>;

/** A WebSocket and the log of its events. */
class Watched {
  readonly log: Logged[] = [];

  constructor(readonly socket: PinnedWebSocket) {
    socket.addEventListener("open", () => this.log.push({ type: "open" }));
    socket.addEventListener("message", (event) =>
      this.log.push({ type: "message", data: (event as MessageEvent).data }),
    );
    socket.addEventListener("error", (event) => {
      const { error, message } = event as Event & { error?: unknown; message?: unknown };
      this.log.push({ type: "error", error, message });
    });
    socket.addEventListener("close", (event) => {
      const { code, reason, wasClean } = event as Event & { code: number; reason: string; wasClean: boolean };
      this.log.push({ type: "close", code, reason, wasClean });
    });
  }

  types(): string[] {
    return this.log.map((event) => event.type);
  }

  /** The `count`th event of `type`, waiting for it for at most `ms`. */
  async next<T extends Logged["type"]>(type: T, count = 1, ms = 10_000): Promise<Of<T>> {
    const all = () => this.log.filter((event): event is Of<T> => event.type === type);
    await within(ms, () => all().length >= count || this.log.some((event) => event.type === "close"), `${type} event`);
    const found = all()[count - 1];
    assert.ok(found, `no ${type} event #${count}; the events: ${JSON.stringify(this.types())}`);
    return found;
  }

  /** The data of every message so far, once there are `count`. */
  async messages(count: number, ms = 10_000): Promise<unknown[]> {
    await this.next("message", count, ms);
    return this.log.filter((event) => event.type === "message").map((event) => (event as Of<"message">).data);
  }

  /** The close event, once it fired. */
  closed(ms = 10_000): Promise<Of<"close">> {
    return this.next("close", 1, ms);
  }
}

/** Polls `done` every 5 ms until it holds, failing after `ms`. */
async function within(ms: number, done: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    assert.ok(Date.now() < deadline, `no ${what} within ${ms / 1000} s`);
    await delay(5);
  }
}

let connections = 0;
/** A fresh id for a connection's URL, by which its server's record is found. */
const newId = () => `${Date.now().toString(36)}-${++connections}`;

/** The wss: URL of `path` on a WebSocket server, with an `id` to find its record by. */
function urlOf(fixture: Fixture, server: WebSocketServerName, path: string, id = newId()): string {
  return `wss://localhost:${fixture.ports[server]}${path}?id=${id}`;
}

/** Opens a watched WebSocket to `path` on `server`; its id finds the server's record. */
function open(
  fetch: PinnedFetch,
  fixture: Fixture,
  server: WebSocketServerName,
  path: string,
  protocols?: string | string[],
  init?: { headers?: HeadersInit },
) {
  const id = newId();
  const socket = new fetch.WebSocket(urlOf(fixture, server, path, id), protocols, init);
  return { socket, watched: new Watched(socket), id };
}

/** The server's record of connection `id`, once `accept` holds for it (a bounded wait). */
async function recordOf(
  fixture: Fixture,
  server: WebSocketServerName,
  id: string,
  accept: (record: WebSocketRecord) => boolean = () => true,
  what = "the server's record",
): Promise<WebSocketRecord> {
  const found = await eventually(
    async () => (await fixture.stats(server)).websockets?.find((record) => record.id === id),
    (record) => record !== undefined && accept(record),
    what,
  );
  return found!;
}

/** The record once the client's close frame (or the connection's end, 1006) reached the server. */
const closedRecord = (fixture: Fixture, server: WebSocketServerName, id: string) =>
  recordOf(fixture, server, id, (record) => record.closeCode !== null, "the close at the server");

const pinned = (fixture: Fixture, options: PinnedFetchOptions = {}): PinnedFetchOptions => ({
  ...local(fixture, [fixture.pins.intermediate, fixture.pins.root]),
  ...options,
});

/** `size` bytes of a pattern that is not periodic at any power of two. */
function patterned(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let index = 0; index < size; index++) bytes[index] = (index * 31 + (index >> 11)) & 0xff;
  return bytes;
}

function sameBytes(actual: ArrayBuffer | Uint8Array, expected: Uint8Array, what: string): void {
  const bytes = actual instanceof Uint8Array ? actual : new Uint8Array(actual);
  assert.equal(bytes.length, expected.length, `${what}: length`);
  for (let index = 0; index < bytes.length; index++) {
    if (bytes[index] !== expected[index]) assert.fail(`${what}: byte ${index} differs`);
  }
}

function asArrayBuffer(data: unknown, what: string): ArrayBuffer {
  assert.ok(data instanceof ArrayBuffer, `${what}: expected an ArrayBuffer, got ${String(data)}`);
  return data;
}

async function blobBytes(data: unknown, what: string): Promise<Uint8Array> {
  assert.ok(data instanceof Blob, `${what}: expected a Blob, got ${String(data)}`);
  return new Uint8Array(await data.arrayBuffer());
}

/** Asserts a failure before open: exactly `error` (with `code`) then `close` 1006, not clean. */
async function failedBeforeOpen(watched: Watched, code: string, message?: RegExp): Promise<PinnedFetchError> {
  const close = await watched.closed();
  assert.deepEqual(watched.types(), ["error", "close"]);
  const error = errorOf(watched.log[0] as Of<"error">, code);
  if (message) assert.match(error.message, message);
  assert.deepEqual({ code: close.code, wasClean: close.wasClean }, { code: 1006, wasClean: false });
  assert.equal(watched.socket.readyState, 3);
  return error;
}

/** Asserts that the connection opened, then failed with `error` (`code`) and `close` of `closeCode`, not clean. */
async function failedAfterOpen(watched: Watched, code: string, closeCode: number): Promise<PinnedFetchError> {
  const close = await watched.closed();
  const types = watched.types().filter((type) => type !== "message");
  assert.deepEqual(types, ["open", "error", "close"]);
  const error = errorOf(watched.log.find((event) => event.type === "error") as Of<"error">, code);
  assert.deepEqual({ code: close.code, wasClean: close.wasClean }, { code: closeCode, wasClean: false });
  assert.equal(watched.socket.readyState, 3);
  return error;
}

/** The PinnedFetchError of an error event, which must have `code`, and a `message` that is its message. */
function errorOf(event: Of<"error">, code: string): PinnedFetchError {
  assert.ok(event.error instanceof PinnedFetchError, `the error event's error: ${String(event.error)}`);
  assert.equal(event.error.code, code, event.error.message);
  assert.equal(event.message, event.error.message);
  return event.error;
}

/** Asserts that `run` throws a DOMException named `name`. */
function throwsDomException(run: () => unknown, name: string, message?: RegExp): void {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof DOMException, `expected a DOMException, got ${String(error)}`);
    assert.equal(error.name, name, error.message);
    if (message) assert.match(error.message, message);
    return;
  }
  assert.fail(`expected a DOMException named ${name}`);
}

/** Closes with 1000 and "done", and asserts a clean close that the server saw. */
async function closeCleanly(fixture: Fixture, server: WebSocketServerName, watched: Watched, id: string) {
  watched.socket.close(1000, "done");
  assert.equal(watched.socket.readyState, 2);
  const close = await watched.closed();
  assert.deepEqual(
    { code: close.code, reason: close.reason, wasClean: close.wasClean },
    { code: 1000, reason: "done", wasClean: true },
  );
  assert.equal(watched.socket.readyState, 3);
  const record = await closedRecord(fixture, server, id);
  assert.deepEqual({ code: record.closeCode, reason: record.closeReason }, { code: 1000, reason: "done" });
  return record;
}

const MiB = 1024 * 1024;
const ERR_WEBSOCKET = "ERR_WEBSOCKET";

export const websocket: Group = {
  name: "websocket",
  scenarios: [
    {
      name: "text and binary echo: strings as strings, binary as a Blob by default and an ArrayBuffer when asked",
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          const { socket, watched, id } = open(fetch, fixture, "websocketPlain", "/echo");
          assert.ok(socket instanceof EventTarget);
          for (const [name, value] of Object.entries({ CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 })) {
            assert.equal((fetch.WebSocket as unknown as Record<string, number>)[name], value, name);
            assert.equal((socket as unknown as Record<string, number>)[name], value, name);
          }
          assert.equal(socket.readyState, 0);
          assert.equal(socket.url, urlOf(fixture, "websocketPlain", "/echo", id));
          assert.equal(socket.binaryType, "blob");
          assert.equal(socket.protocol, "");
          assert.equal(socket.bufferedAmount, 0);
          const handled: string[] = [];
          socket.onopen = () => handled.push("open");
          socket.onmessage = () => handled.push("message");
          socket.onclose = () => handled.push("close");
          await watched.next("open");
          assert.equal(socket.readyState, 1);
          assert.equal(socket.extensions, "");
          socket.send("héllo ✓");
          socket.send(new Uint8Array([0, 1, 2, 255]));
          socket.send("");
          const first = await watched.messages(3);
          assert.equal(first[0], "héllo ✓");
          sameBytes(await blobBytes(first[1], "binary as a Blob"), new Uint8Array([0, 1, 2, 255]), "the Blob");
          assert.equal(first[2], "");
          socket.binaryType = "arraybuffer";
          assert.equal(socket.binaryType, "arraybuffer");
          // An enumeration attribute ignores a value outside it.
          (socket as { binaryType: string }).binaryType = "nonsense";
          assert.equal(socket.binaryType, "arraybuffer");
          const buffer = new Uint8Array([9, 8, 7, 6, 5, 4]);
          socket.send(buffer.buffer);
          // A view sends its own bytes only, not the rest of its buffer.
          socket.send(new DataView(buffer.buffer, 1, 3));
          socket.send(new Blob(["a blob"]));
          socket.send(new Uint8Array(0));
          const rest = (await watched.messages(7)).slice(3);
          sameBytes(asArrayBuffer(rest[0], "an ArrayBuffer"), buffer, "the ArrayBuffer");
          sameBytes(asArrayBuffer(rest[1], "a view"), new Uint8Array([8, 7, 6]), "the view");
          sameBytes(asArrayBuffer(rest[2], "a Blob sent"), new TextEncoder().encode("a blob"), "the Blob sent");
          assert.equal(asArrayBuffer(rest[3], "an empty message").byteLength, 0);
          const record = await closeCleanly(fixture, "websocketPlain", watched, id);
          assert.equal(record.messages, 7);
          assert.deepEqual(watched.types(), ["open", ...Array<string>(7).fill("message"), "close"]);
          assert.deepEqual(handled, watched.types());
        }),
    },
    {
      name: "1 MiB and 16 MiB messages go both ways intact, text and binary, and a small one sent after them",
      timeout: () => 90_000,
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          const { socket, watched, id } = open(fetch, fixture, "websocketPlain", "/echo");
          socket.binaryType = "arraybuffer";
          await watched.next("open");
          // Characters of 1 to 4 bytes of UTF-8, so that frames and reads split them.
          const text = "aé✓😀".repeat(MiB / 10);
          const small = patterned(MiB);
          const large = patterned(16 * MiB);
          socket.send(text);
          socket.send(small);
          socket.send(large);
          // Sent while the large one is still being written: it waits its turn, whole.
          socket.send("after");
          const [echoedText, echoedSmall, echoedLarge, echoedAfter] = await watched.messages(4, 60_000);
          assert.equal(typeof echoedText, "string");
          assert.ok(echoedText === text, "the text came back as sent");
          sameBytes(asArrayBuffer(echoedSmall, "1 MiB"), small, "1 MiB");
          sameBytes(asArrayBuffer(echoedLarge, "16 MiB"), large, "16 MiB");
          assert.equal(echoedAfter, "after");
          const record = await closeCleanly(fixture, "websocketPlain", watched, id);
          const sent = new TextEncoder().encode(text).length + small.length + large.length + "after".length;
          assert.equal(record.messages, 4);
          assert.ok(record.receivedBytes > sent, `the server received ${record.receivedBytes} bytes of ${sent}`);
        }),
    },
    {
      name: "a fragmented message arrives whole, and the ping between its fragments is answered",
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          // Without compression, and with it (its first fragment carries RSV1).
          for (const server of ["websocketPlain", "websocket"] as const) {
            const { socket, watched, id } = open(fetch, fixture, server, "/fragments");
            socket.binaryType = "arraybuffer";
            const [text, binary] = await watched.messages(2);
            assert.equal(text, FRAGMENTED_TEXT);
            sameBytes(asArrayBuffer(binary, "the binary message"), FRAGMENTED_BINARY, "the binary message");
            assert.deepEqual(watched.types(), ["open", "message", "message"]);
            await recordOf(fixture, server, id, (record) => record.pongs.length > 0, "the pong");
            const record = await closeCleanly(fixture, server, watched, id);
            assert.deepEqual(record.pongs, [FRAGMENTS_PING]);
            assert.equal(record.extensions, server === "websocket" ? "permessage-deflate" : "");
          }
        }),
    },
    {
      name: "the server's ping gets a pong with its payload, and no event",
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          const { watched, id } = open(fetch, fixture, "websocketPlain", "/ping");
          await watched.next("open");
          await recordOf(fixture, "websocketPlain", id, (record) => record.pongs.length > 0, "the pong");
          const record = await closeCleanly(fixture, "websocketPlain", watched, id);
          assert.deepEqual(record.pongs, [PING_PAYLOAD]);
          assert.deepEqual(watched.types(), ["open", "close"]);
        }),
    },
    {
      name: "close() without a code sends a close frame without one, and the close event has 1005",
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          const { socket, watched, id } = open(fetch, fixture, "websocketPlain", "/echo");
          await watched.next("open");
          socket.close();
          assert.equal(socket.readyState, 2);
          // A second close() while closing does nothing; send() while closing sends nothing, but counts.
          socket.close(3000, "again");
          socket.send("late");
          assert.equal(socket.bufferedAmount, 4);
          const close = await watched.closed();
          assert.deepEqual(
            { code: close.code, reason: close.reason, wasClean: close.wasClean },
            { code: 1005, reason: "", wasClean: true },
          );
          const record = await closedRecord(fixture, "websocketPlain", id);
          assert.deepEqual({ code: record.closeCode, reason: record.closeReason }, { code: 1005, reason: "" });
          assert.equal(record.messages, 0);
          assert.deepEqual(watched.types(), ["open", "close"]);
        }),
    },
    {
      name: "close() with a reason but no code sends 1000 and the reason, as the standard says",
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          const { socket, watched, id } = open(fetch, fixture, "websocketPlain", "/echo");
          await watched.next("open");
          socket.close(undefined, "bye");
          const close = await watched.closed();
          assert.deepEqual(
            { code: close.code, reason: close.reason, wasClean: close.wasClean },
            { code: 1000, reason: "bye", wasClean: true },
          );
          const record = await closedRecord(fixture, "websocketPlain", id);
          assert.deepEqual({ code: record.closeCode, reason: record.closeReason }, { code: 1000, reason: "bye" });
        }),
    },
    {
      name: "the server closes with 4000 and a reason: close is clean, and the client answered with the code",
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          const { socket, watched, id } = open(fetch, fixture, "websocketPlain", "/close-by-server");
          const close = await watched.closed();
          assert.deepEqual(watched.types(), ["open", "close"]);
          assert.deepEqual(
            { code: close.code, reason: close.reason, wasClean: close.wasClean },
            { code: 4000, reason: "bye", wasClean: true },
          );
          assert.equal(socket.readyState, 3);
          const record = await closedRecord(fixture, "websocketPlain", id);
          assert.equal(record.closeCode, 4000);
        }),
    },
    {
      name: "a connection that ends without a close frame is error ERR_CONNECT, then close 1006, not clean",
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          const { watched } = open(fetch, fixture, "websocketPlain", "/abrupt");
          await failedAfterOpen(watched, "ERR_CONNECT", 1006);
          assert.deepEqual(watched.types(), ["open", "message", "error", "close"]);
          assert.equal((watched.log[1] as Of<"message">).data, "going");
        }),
    },
    {
      name: "a server that never answers the close frame: close 1006, not clean, within 5 s",
      timeout: () => 30_000,
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          const { socket, watched, id } = open(fetch, fixture, "websocketRaw", "/silent-close");
          await watched.next("open");
          const started = Date.now();
          socket.close(1000, "bye");
          const close = await watched.closed(15_000);
          console.log(`    (the unanswered close ended after ${Date.now() - started} ms)`);
          assert.deepEqual({ code: close.code, wasClean: close.wasClean }, { code: 1006, wasClean: false });
          assert.deepEqual(watched.types(), ["open", "close"]);
          const record = await closedRecord(fixture, "websocketRaw", id);
          assert.deepEqual({ code: record.closeCode, reason: record.closeReason }, { code: 1000, reason: "bye" });
        }),
    },
    {
      name: "subprotocols: the one the server picks is `protocol`; none offered, none sent and `protocol` is empty",
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          // The server picks the last one offered.
          const cases: [string | string[] | undefined, string | undefined, string][] = [
            [["chat.v1", "chat.v2"], "chat.v1, chat.v2", "chat.v2"],
            ["solo", "solo", "solo"],
            [[], undefined, ""],
            [undefined, undefined, ""],
          ];
          for (const [protocols, offered, chosen] of cases) {
            const { socket, watched, id } = open(fetch, fixture, "websocketPlain", "/echo", protocols);
            await watched.next("open");
            assert.equal(socket.protocol, chosen);
            const record = await closeCleanly(fixture, "websocketPlain", watched, id);
            assert.equal(record.headers["sec-websocket-protocol"], offered);
          }
          const url = urlOf(fixture, "websocketPlain", "/echo");
          throwsDomException(() => new fetch.WebSocket(url, ["same", "same"]), "SyntaxError");
          throwsDomException(() => new fetch.WebSocket(url, "not a token"), "SyntaxError");
        }),
    },
    {
      name: "permessage-deflate is offered and used: messages round-trip, and a compressible one is sent small",
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          const { socket, watched, id } = open(fetch, fixture, "websocket", "/echo");
          socket.binaryType = "arraybuffer";
          await watched.next("open");
          assert.match(socket.extensions, /^permessage-deflate\b/);
          const record = await recordOf(fixture, "websocket", id);
          assert.match(
            record.headers["sec-websocket-extensions"] ?? "",
            /^permessage-deflate; ?client_max_window_bits/,
          );
          assert.equal(record.extensions, "permessage-deflate");
          const text = `${"compressible text, ".repeat(50_000)}✓`;
          // Three times, so that a context taken over from one message to the next is used.
          for (let round = 0; round < 3; round++) socket.send(text);
          socket.send("short");
          socket.send(patterned(64 * 1024));
          const echoed = await watched.messages(5);
          for (const message of echoed.slice(0, 3)) assert.ok(message === text, "the 1 MB text came back");
          assert.equal(echoed[3], "short");
          sameBytes(asArrayBuffer(echoed[4], "binary"), patterned(64 * 1024), "binary");
          const after = await closeCleanly(fixture, "websocket", watched, id);
          // 3 MB of text and 64 KiB of bytes that deflate shrinks little.
          assert.ok(after.receivedBytes < 300_000, `the server received ${after.receivedBytes} bytes: not compressed`);
        }),
    },
    {
      name: "perMessageDeflate: false offers nothing, and sends uncompressed; a server that declines is fine",
      run: async (fixture) => {
        await withFetch(pinned(fixture, { perMessageDeflate: false }), async (fetch) => {
          const { socket, watched, id } = open(fetch, fixture, "websocket", "/echo");
          await watched.next("open");
          assert.equal(socket.extensions, "");
          const text = "compressible text, ".repeat(10_000);
          socket.send(text);
          assert.equal((await watched.messages(1))[0], text);
          const record = await closeCleanly(fixture, "websocket", watched, id);
          assert.equal(record.headers["sec-websocket-extensions"], undefined);
          assert.equal(record.extensions, "");
          assert.ok(record.receivedBytes > text.length, `the server received ${record.receivedBytes} bytes`);
        });
        await withFetch(pinned(fixture), async (fetch) => {
          const { socket, watched, id } = open(fetch, fixture, "websocketPlain", "/echo");
          await watched.next("open");
          assert.equal(socket.extensions, "");
          socket.send("declined");
          assert.equal((await watched.messages(1))[0], "declined");
          const record = await closeCleanly(fixture, "websocketPlain", watched, id);
          assert.match(record.headers["sec-websocket-extensions"] ?? "", /^permessage-deflate/);
        });
      },
    },
    {
      name: "an answer that is not a valid upgrade is error ERR_HTTP, then close 1006, before open",
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          const cases: [WebSocketServerName, string, RegExp, string[]?][] = [
            ["websocketRaw", "/forbidden", /403/],
            ["websocketRaw", "/not-upgraded", /200/],
            ["websocketPlain", "/nowhere", /404/],
            ["websocketRaw", "/wrong-accept", /Sec-WebSocket-Accept/i],
            ["websocketRaw", "/missing-accept", /Sec-WebSocket-Accept/i],
            ["websocketRaw", "/unoffered-protocol", /protocol/i],
            ["websocketRaw", "/unoffered-protocol", /protocol/i, ["graphql-ws"]],
            ["websocketRaw", "/unoffered-extension", /x-webkit-deflate-frame/],
          ];
          for (const [server, path, message, protocols] of cases) {
            const { watched, id } = open(fetch, fixture, server, path, protocols);
            await failedBeforeOpen(watched, "ERR_HTTP", message);
            if (server !== "websocketRaw") continue;
            // The client closed the connection, without a close frame: it never was a WebSocket.
            assert.equal((await closedRecord(fixture, server, id)).closeCode, 1006, path);
          }
        }),
    },
    {
      name: "other failures before open carry their own code: refused, untrusted, no answer within the timeout",
      run: async (fixture) => {
        const before = await fixture.stats("impostor13");
        await withFetch(pinned(fixture, { timeout: 500 }), async (fetch) => {
          const refused = new Watched(new fetch.WebSocket(`wss://localhost:${fixture.ports.refused}/`));
          await failedBeforeOpen(refused, "ERR_CONNECT");
          const impostor = new Watched(new fetch.WebSocket(`wss://localhost:${fixture.ports.impostor13}/`));
          await failedBeforeOpen(impostor, "ERR_CERT_UNTRUSTED");
          const { watched, id } = open(fetch, fixture, "websocketRaw", "/no-answer");
          await failedBeforeOpen(watched, "ERR_TIMEOUT");
          assert.equal((await closedRecord(fixture, "websocketRaw", id)).closeCode, 1006, "the connection was closed");
        });
        assert.equal((await fixture.stats("impostor13")).receivedBytes, before.receivedBytes);
      },
    },
    {
      name: "close() before open abandons the connection: error, then close 1006, and no upgrade reaches the server",
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          const before = await fixture.stats("websocketPlain");
          const { socket, watched } = open(fetch, fixture, "websocketPlain", "/echo");
          socket.close(1000, "never mind");
          // As the standard has it: CLOSING at once, the events later, not inside close().
          assert.equal(socket.readyState, 2);
          assert.deepEqual(watched.types(), []);
          const close = await watched.closed();
          assert.deepEqual(watched.types(), ["error", "close"]);
          assert.ok((watched.log[0] as Of<"error">).error instanceof PinnedFetchError);
          assert.deepEqual({ code: close.code, wasClean: close.wasClean }, { code: 1006, wasClean: false });
          await delay(100);
          const after = await fixture.stats("websocketPlain");
          assert.equal(after.websockets!.length, before.websockets!.length);
          assert.equal(after.receivedBytes, before.receivedBytes);
        }),
    },
    {
      name: "permessage-deflate accepted by a server it was not offered to is ERR_HTTP before open",
      run: (fixture) =>
        withFetch(pinned(fixture, { perMessageDeflate: false }), async (fetch) => {
          const { watched } = open(fetch, fixture, "websocketRaw", "/deflate");
          await failedBeforeOpen(watched, "ERR_HTTP", /permessage-deflate/);
        }),
    },
    {
      name: "a server frame that breaks RFC 6455 gets a close frame with 1002 (1007 for bad UTF-8), error and close",
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          const cases: [string, number][] = [
            ["/invalid-utf8", 1007],
            ["/masked", 1002],
            ["/rsv2", 1002],
            ["/rsv1", 1002],
            ["/unknown-opcode", 1002],
            ["/bad-close-code", 1002],
          ];
          for (const [path, code] of cases) {
            const { watched, id } = open(fetch, fixture, "websocketRaw", path);
            await failedAfterOpen(watched, ERR_WEBSOCKET, code);
            assert.deepEqual(watched.types(), ["open", "error", "close"], path);
            const record = await closedRecord(fixture, "websocketRaw", id);
            assert.equal(record.closeCode, code, `${path}: the close frame's code on the wire`);
          }
        }),
    },
    {
      name: "a message over maxMessageSize, after decompression too, closes with 1009; one at the limit passes",
      run: async (fixture) => {
        await withFetch(pinned(fixture, { maxMessageSize: RAW_BIG_MESSAGE - 1 }), async (fetch) => {
          const { watched, id } = open(fetch, fixture, "websocketRaw", "/big");
          await failedAfterOpen(watched, ERR_WEBSOCKET, 1009);
          assert.equal((await closedRecord(fixture, "websocketRaw", id)).closeCode, 1009);
        });
        await withFetch(pinned(fixture, { maxMessageSize: RAW_BIG_MESSAGE }), async (fetch) => {
          const { socket, watched, id } = open(fetch, fixture, "websocketRaw", "/big");
          socket.binaryType = "arraybuffer";
          const [message] = await watched.messages(1);
          assert.equal(asArrayBuffer(message, "/big").byteLength, RAW_BIG_MESSAGE);
          await closeCleanly(fixture, "websocketRaw", watched, id);
        });
        // 1 MiB of zeros, which the server sends compressed to about a kilobyte.
        await withFetch(pinned(fixture, { maxMessageSize: 64 * 1024 }), async (fetch) => {
          const { socket, watched, id } = open(fetch, fixture, "websocket", "/echo");
          await watched.next("open");
          socket.send(new Uint8Array(MiB));
          await failedAfterOpen(watched, ERR_WEBSOCKET, 1009);
          assert.deepEqual(watched.types(), ["open", "error", "close"]);
          assert.equal((await closedRecord(fixture, "websocket", id)).closeCode, 1009);
        });
      },
    },
    {
      name: "a wrong pin: error ERR_PIN_MISMATCH with the chain, close 1006, and the server received 0 bytes",
      run: async (fixture) => {
        const before = await fixture.stats("websocketPlain");
        await withFetch(local(fixture, [fixture.pins.otherIntermediate]), async (fetch) => {
          const { socket, watched } = open(fetch, fixture, "websocketPlain", "/echo");
          const handled: string[] = [];
          socket.onerror = (event) => handled.push(`${event.type}: ${(event as Event & { message: string }).message}`);
          const error = await failedBeforeOpen(watched, "ERR_PIN_MISMATCH");
          assert.deepEqual(handled, [`error: ${error.message}`]);
          assert.equal(error.host, "localhost");
          assert.deepEqual(
            error.chain?.map((certificate) => certificate.pin),
            [fixture.pins.leaf, fixture.pins.intermediate, fixture.pins.root],
          );
        });
        const after = await eventually(
          () => fixture.stats("websocketPlain"),
          (stats) => stats.handshakeFailures > before.handshakeFailures,
          "the refused handshake at the server",
        );
        assert.equal(after.receivedBytes, before.receivedBytes);
        assert.equal(after.connections, before.connections);
        assert.equal(after.websockets!.length, before.websockets!.length);
      },
    },
    {
      name: "a ws: or http: URL throws a SyntaxError DOMException saying why; an https: URL becomes wss:",
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          const port = fixture.ports.websocketPlain;
          const before = await fixture.stats("websocketPlain");
          for (const url of [`ws://localhost:${port}/echo`, `http://localhost:${port}/echo`]) {
            throwsDomException(() => new fetch.WebSocket(url), "SyntaxError", /plaintext|cannot be pinned/i);
          }
          throwsDomException(() => new fetch.WebSocket("not a URL"), "SyntaxError");
          throwsDomException(() => new fetch.WebSocket(`ftp://localhost:${port}/`), "SyntaxError");
          assert.equal((await fixture.stats("websocketPlain")).connections, before.connections);
          const id = newId();
          const socket = new fetch.WebSocket(new URL(`https://localhost:${port}/echo?id=${id}`));
          assert.equal(socket.url, `wss://localhost:${port}/echo?id=${id}`);
          const watched = new Watched(socket);
          await watched.next("open");
          socket.send("over https:");
          assert.equal((await watched.messages(1))[0], "over https:");
          await closeCleanly(fixture, "websocketPlain", watched, id);
        }),
    },
    {
      name: "headers given in the third argument reach the server with the upgrade request",
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          const headers = new Headers({ authorization: "Bearer s3cret" });
          headers.append("x-trace", "one");
          for (const init of [
            { headers: { Authorization: "Bearer s3cret", "X-Trace": "one" } },
            { headers },
            {
              headers: [
                ["Authorization", "Bearer s3cret"],
                ["X-Trace", "one"],
              ] as [string, string][],
            },
          ]) {
            const { watched, id } = open(fetch, fixture, "websocketPlain", "/echo", undefined, init);
            await watched.next("open");
            const record = await closeCleanly(fixture, "websocketPlain", watched, id);
            assert.equal(record.headers.authorization, "Bearer s3cret");
            assert.equal(record.headers["x-trace"], "one");
            assert.equal(record.headers.upgrade?.toLowerCase(), "websocket");
            assert.equal(record.headers["sec-websocket-version"], "13");
            assert.equal(record.headers.host, `localhost:${fixture.ports.websocketPlain}`);
          }
        }),
    },
    {
      name: "through a proxy's CONNECT tunnel, pinned end to end: an inspecting proxy is refused by the pins",
      run: async (fixture) => {
        const proxy = await fixture.stats("proxy");
        await withFetch(pinned(fixture, { proxy: `http://127.0.0.1:${fixture.ports.proxy}` }), async (fetch) => {
          const { socket, watched, id } = open(fetch, fixture, "websocketPlain", "/echo");
          await watched.next("open");
          socket.send("through the tunnel");
          assert.equal((await watched.messages(1))[0], "through the tunnel");
          await closeCleanly(fixture, "websocketPlain", watched, id);
        });
        const after = await fixture.stats("proxy");
        assert.equal(after.tunnels! - proxy.tunnels!, 1);
        assert.equal(after.lastTarget, `localhost:${fixture.ports.websocketPlain}`);
        const server = await fixture.stats("websocketPlain");
        const inspecting = { proxy: `http://127.0.0.1:${fixture.ports.inspectingProxy}` };
        await withFetch({ ...local(fixture, [fixture.pins.leaf]), ...inspecting }, async (fetch) => {
          const { watched } = open(fetch, fixture, "websocketPlain", "/echo");
          const error = await failedBeforeOpen(watched, "ERR_PIN_MISMATCH");
          assert.match(error.message, /went through the proxy 127\.0\.0\.1:\d+: a proxy that inspects TLS/);
        });
        const stats = await fixture.stats("websocketPlain");
        // The inspecting proxy's own TLS connection reached the server, but no byte of the upgrade did.
        assert.equal(stats.websockets!.length, server.websockets!.length);
        assert.equal(stats.receivedBytes, server.receivedBytes);
      },
    },
    {
      name: "fetch.close() closes an open WebSocket with 1001, which the server sees, and aborts a connecting one",
      run: async (fixture) => {
        const fetch = createPinnedFetch(pinned(fixture));
        const { watched, id } = open(fetch, fixture, "websocketPlain", "/echo");
        await watched.next("open");
        const connecting = open(fetch, fixture, "websocketPlain", "/echo");
        await fetch.close();
        const close = await watched.closed();
        assert.equal(close.code, 1001);
        assert.deepEqual(watched.types(), ["open", "close"]);
        assert.equal((await closedRecord(fixture, "websocketPlain", id)).closeCode, 1001);
        const aborted = await connecting.watched.closed();
        assert.deepEqual({ code: aborted.code, wasClean: aborted.wasClean }, { code: 1006, wasClean: false });
        assert.ok(!connecting.watched.types().includes("open"), "the connecting one never opened");
      },
    },
    {
      name: "bufferedAmount counts what send() has not yet handed to the network, back to 0 once it has",
      timeout: () => 60_000,
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          const { socket, watched, id } = open(fetch, fixture, "websocketPlain", "/echo");
          socket.binaryType = "arraybuffer";
          await watched.next("open");
          const message = patterned(16 * MiB);
          socket.send(message);
          assert.ok(socket.bufferedAmount > 0, "bufferedAmount right after send()");
          assert.ok(socket.bufferedAmount <= message.length, `bufferedAmount ${socket.bufferedAmount}`);
          socket.send("after");
          await within(30_000, () => socket.bufferedAmount === 0, "bufferedAmount back to 0");
          const [echoed, after] = await watched.messages(2, 30_000);
          sameBytes(asArrayBuffer(echoed, "16 MiB"), message, "16 MiB");
          assert.equal(after, "after");
          await closeCleanly(fixture, "websocketPlain", watched, id);
        }),
    },
    {
      name: "send() while connecting throws InvalidStateError; close() checks its code and reason as the standard does",
      run: (fixture) =>
        withFetch(pinned(fixture), async (fetch) => {
          const { socket, watched, id } = open(fetch, fixture, "websocketPlain", "/echo");
          throwsDomException(() => socket.send("too early"), "InvalidStateError");
          await watched.next("open");
          for (const code of [1001, 1005, 2999, 5000, 0]) {
            throwsDomException(() => socket.close(code), "InvalidAccessError");
          }
          throwsDomException(() => socket.close(1000, "é".repeat(62)), "SyntaxError");
          assert.equal(socket.readyState, 1, "a refused close() leaves the socket open");
          socket.send("still open");
          assert.equal((await watched.messages(1))[0], "still open");
          // 123 bytes of UTF-8 is the most a close frame's reason may hold.
          const reason = `${"é".repeat(61)}!`;
          socket.close(4999, reason);
          const close = await watched.closed();
          assert.deepEqual(
            { code: close.code, reason: close.reason, wasClean: close.wasClean },
            { code: 4999, reason, wasClean: true },
          );
          const record = await closedRecord(fixture, "websocketPlain", id);
          assert.deepEqual({ code: record.closeCode, reason: record.closeReason }, { code: 4999, reason });
          assert.equal(record.messages, 1);
        }),
    },
  ],
};
