// The runtime adapters: detected and overridable, and each runtime's socket
// keeping one contract (src/runtime/types.ts) — pulled reads, half-close,
// write backpressure, close and abort.
import { createPinnedFetch, type Runtime } from "../../src/index.js";
import { selectRuntime } from "../../src/runtime/index.js";
import { aeadCipher, aeadSupported } from "../../src/tls/native/aead.js";
import { verifySignature } from "../../src/tls/native/signatures.js";
import { x25519Agree, x25519KeyPair, x25519Works } from "../../src/tls/native/x25519.js";
import { type Group, HELLO, assert, delay, eventually, local, withFetch } from "./harness/check.js";
import type { Fixture, ServerName } from "./harness/description.js";

const connect = async (fixture: Fixture, server: ServerName) =>
  (await selectRuntime(undefined)).connect({ host: "127.0.0.1", port: fixture.ports[server] });

const settled = (promise: Promise<unknown>) => {
  const state = { settled: false };
  promise.then(
    () => (state.settled = true),
    () => (state.settled = true),
  );
  return state;
};

/**
 * Reads `server`'s pattern (byte n is n % sourcePeriod) to its end, `bytes` long, holding a chunk across a wait of
 * `hold.ms` on every `hold.every` reads, and checks every byte of every chunk after that wait.
 */
async function readsStayWhole(
  fixture: Fixture,
  server: "source" | "rhythm",
  bytes: number,
  hold: { every: number; ms: number },
): Promise<void> {
  const socket = await connect(fixture, server);
  const period = fixture.sourcePeriod;
  const misplaced = (chunk: Uint8Array, from: number) => {
    for (let at = 0, expected = from % period; at < chunk.length; at++) {
      if (chunk[at] !== expected) return at;
      if (++expected === period) expected = 0;
    }
    return -1;
  };
  let total = 0;
  for (let chunk = await socket.read(), reads = 1; chunk; chunk = await socket.read(), reads++) {
    // The wait lets the socket receive meanwhile, and a buffer it reuses change.
    if (reads % hold.every === 0) await delay(hold.ms);
    const at = misplaced(chunk, total);
    assert.equal(at, -1, `${server}: byte ${total + at} changed before the next read`);
    total += chunk.length;
  }
  assert.equal(total, bytes, `${server}: bytes read`);
  socket.close();
}

export const runtime: Group = {
  name: "runtime adapters",
  scenarios: [
    {
      name: "lends the engine native record ciphers that refuse an altered record",
      run: async (fixture) => {
        // AES-128-GCM and AES-256-GCM everywhere; ChaCha20-Poly1305 where node:crypto has it (not Bun 1.4's, where ring's serves).
        const ciphers =
          fixture.runtime === "bun"
            ? ([
                [1, 16],
                [2, 32],
              ] as const)
            : ([
                [1, 16],
                [2, 32],
                [3, 32],
              ] as const);
        assert.equal(aeadSupported(3), fixture.runtime !== "bun");
        for (const [cipher, keyLength] of ciphers) {
          assert.ok(aeadSupported(cipher), `cipher ${cipher}`);
          const aead = aeadCipher(cipher, new Uint8Array(keyLength).fill(3))!;
          const [nonce, aad] = [new Uint8Array(12).fill(4), new Uint8Array([23, 3, 3, 0, 21])];
          const record = new Uint8Array(21).fill(5);
          assert.ok(aead.seal(nonce, aad, record));
          const altered = record.slice();
          altered[0]! ^= 1;
          assert.equal(aead.open(nonce, aad, altered), false);
          assert.ok(aead.open(nonce, aad, record));
          assert.deepEqual([...record.subarray(0, 5)], [5, 5, 5, 5, 5]);
        }
      },
    },
    {
      name: "carries records on both sides of the engine's small-record bound intact, under each TLS 1.3 cipher",
      run: (fixture) =>
        // Records up to the runtime's smallRecordsInEngine (4 KiB in Node and Deno) are sealed and opened by the
        // engine, larger ones by node:crypto: bodies from 3.9 to 4.3 KiB cross the bound each way, in one connection.
        withFetch(local(fixture, [fixture.pins.intermediate]), async (fetch) => {
          for (const server of ["aes128Gcm", "aes256Gcm", "chacha20Poly1305"] as const) {
            for (const size of [1, 1000, ...Array.from({ length: 31 }, (_, step) => 3900 + step * 13), 20_000]) {
              const body = Array.from({ length: size }, (_, at) => String.fromCharCode(97 + ((at * 7) % 26))).join("");
              const response = await fetch(`https://localhost:${fixture.ports[server]}/echo`, { method: "POST", body });
              const echoed = (await response.json()) as { body: string };
              assert.equal(echoed.body, body, `${server}: a body of ${size} bytes`);
            }
          }
        }),
    },
    {
      name: "lends the engine native signature checks that refuse a wrong signature",
      run: async () => {
        const key = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as CryptoKeyPair;
        const spki = new Uint8Array(await crypto.subtle.exportKey("spki", key.publicKey));
        const message = new TextEncoder().encode("signed");
        const signature = new Uint8Array(await crypto.subtle.sign("Ed25519", key.privateKey, message));
        const ED25519 = 5; // wasm/src/signatures.rs
        assert.equal(verifySignature(ED25519, spki, message, signature), true);
        assert.equal(verifySignature(ED25519, spki, new TextEncoder().encode("changed"), signature), false);
        // A key of another kind than the algorithm says is not taken (the engine's ring code judges it).
        assert.equal(verifySignature(1, spki, message, signature), false);
      },
    },
    {
      name: "lends the engine X25519 that gives RFC 7748's answer, agrees between two keys and refuses low-order points",
      run: async () => {
        assert.equal(x25519Works(), true);
        const [alicePublic, bobPublic] = [new Uint8Array(32), new Uint8Array(32)];
        const [alice, bob] = [x25519KeyPair(alicePublic), x25519KeyPair(bobPublic)];
        const [aliceSecret, bobSecret] = [new Uint8Array(32), new Uint8Array(32)];
        assert.equal(x25519Agree(alice, bobPublic, aliceSecret), true);
        assert.equal(x25519Agree(bob, alicePublic, bobSecret), true);
        assert.deepEqual(aliceSecret, bobSecret);
        assert.notDeepEqual(aliceSecret, new Uint8Array(32));
        // u = 0 and u = 1, whose secrets are all zeros: refused, and nothing written.
        for (const point of [new Uint8Array(32), Uint8Array.of(1, ...new Array(31).fill(0))]) {
          const secret = new Uint8Array(32).fill(7);
          assert.equal(x25519Agree(alice, point, secret), false);
          assert.deepEqual(secret, new Uint8Array(32).fill(7));
        }
      },
    },
    {
      name: "detects the runtime it runs in",
      run: async (fixture) => assert.equal((await selectRuntime(undefined)).name, fixture.runtime),
    },
    {
      name: "uses the runtime named in `runtime`",
      run: (fixture) =>
        withFetch({ ...local(fixture, [fixture.pins.intermediate]), runtime: fixture.runtime }, async (fetch) => {
          assert.equal(await (await fetch(`https://localhost:${fixture.ports.tls13}/hello`)).text(), HELLO);
        }),
    },
    {
      name: "uses an adapter of the caller's",
      run: async (fixture) => {
        const native = await selectRuntime(undefined);
        let connects = 0;
        const counting: Runtime = {
          name: "counting",
          connect: (options) => (connects++, native.connect(options)),
          unrefTimer: (timer) => native.unrefTimer(timer),
        };
        const fetch = createPinnedFetch({ ...local(fixture, [fixture.pins.intermediate]), runtime: counting });
        assert.equal(await (await fetch(`https://localhost:${fixture.ports.tls13}/hello`)).text(), HELLO);
        await fetch.close();
        assert.equal(connects, 1);
      },
    },
    {
      name: "the peer's FIN ends reads, and writes still arrive",
      run: async (fixture) => {
        const before = await fixture.stats("halfClose");
        const socket = await connect(fixture, "halfClose");
        let received = "";
        for (let chunk = await socket.read(); chunk; chunk = await socket.read())
          received += new TextDecoder().decode(chunk);
        assert.equal(received, "bye");
        assert.equal(await socket.read(), null);
        // Long enough for a runtime that closes on the peer's FIN to have done so.
        await delay(100);
        await socket.write(new TextEncoder().encode("after"));
        await eventually(
          () => fixture.stats("halfClose"),
          (stats) => stats.receivedBytes === before.receivedBytes + 5,
          "bytes the server received after its FIN",
        );
        socket.close();
      },
    },
    {
      name: "a write waits while the peer reads nothing, and settles when the socket closes",
      run: async (fixture) => {
        const socket = await connect(fixture, "sink");
        // Far more than loopback buffers hold, so it cannot have gone out.
        const write = socket.write(new Uint8Array(64 * 1024 * 1024));
        const state = settled(write);
        await delay(100);
        assert.equal(state.settled, false, "the write resolved while the peer read nothing");
        socket.close();
        await write;
        await socket.write(new Uint8Array(1)).then(
          () => assert.fail("a write after close succeeded"),
          (error: { code?: string }) => assert.equal(error.code, "ERR_CONNECT"),
        );
      },
    },
    {
      name: "bytes read stay as they are until the next read, however long it takes",
      run: async (fixture) => {
        // An adapter that reuses its buffers (Node's) must not fill one again while the bytes it lent are in use:
        // under a flood (source), and through reads of every size, each hold outlasting the server's pause (rhythm).
        await readsStayWhole(fixture, "source", fixture.sourceBytes, { every: 8, ms: 1 });
        await readsStayWhole(fixture, "rhythm", fixture.rhythmBytes, { every: 2, ms: 5 });
      },
    },
    {
      name: "nothing is read from the network while nobody reads",
      run: async (fixture) => {
        const before = await fixture.stats("source");
        const socket = await connect(fixture, "source");
        let total = (await socket.read())?.length ?? 0;
        await delay(100);
        const sent = (await fixture.stats("source")).sentBytes - before.sentBytes;
        assert.ok(sent < fixture.sourceBytes / 2, `the server could send ${sent} bytes while nobody read`);
        for (let chunk = await socket.read(); chunk; chunk = await socket.read()) total += chunk.length;
        assert.equal(total, fixture.sourceBytes);
        socket.close();
      },
    },
    {
      name: "a connect whose signal had aborted rejects with its reason and opens no connection",
      run: async (fixture) => {
        const before = await fixture.stats("silent");
        const reason = new Error("given up");
        const native = await selectRuntime(undefined);
        const connecting = native.connect({
          host: "127.0.0.1",
          port: fixture.ports.silent,
          signal: AbortSignal.abort(reason),
        });
        assert.equal(
          await connecting.then(
            () => "connected",
            (error: unknown) => error,
          ),
          reason,
        );
        // Long enough for a connection that was opened to have been accepted.
        await delay(100);
        assert.equal((await fixture.stats("silent")).connections, before.connections);
      },
    },
    {
      name: "a connect whose signal aborts on the way rejects with its reason and leaves no connection open",
      run: async (fixture) => {
        const before = await fixture.stats("silent");
        const reason = new Error("given up");
        const controller = new AbortController();
        const native = await selectRuntime(undefined);
        const connecting = native.connect({ host: "127.0.0.1", port: fixture.ports.silent, signal: controller.signal });
        controller.abort(reason);
        assert.equal(
          await connecting.then(
            () => "connected",
            (error: unknown) => error,
          ),
          reason,
        );
        await eventually(
          () => fixture.stats("silent"),
          (stats) => stats.open === before.open,
          "the silent server's open connections",
        );
      },
    },
    {
      name: "close() ends a pending read with null",
      run: async (fixture) => {
        const socket = await connect(fixture, "silent");
        const read = socket.read();
        socket.close();
        assert.equal(await read, null);
      },
    },
  ],
};
