// connectTls: the pinned TLS layer on its own, for protocols other than HTTP.
import { type Group, assert, connectLocal, rejection } from "./harness/check.js";

export const tls: Group = {
  name: "connectTls",
  scenarios: [
    {
      name: "handshakes that complete together each report their own version and ALPN",
      run: async (fixture) => {
        // The engine's result of a call is shared by all sessions; each connection must read its own.
        const open = (index: number) => {
          const tls13 = index % 2 === 0;
          return connectLocal(fixture, tls13 ? fixture.ports.echo : fixture.ports.tls12, {
            pins: [fixture.pins.intermediate],
            ...(tls13 ? { alpn: ["echo/1"] } : {}),
          }).then((connection) => ({ tls13, connection }));
        };
        const opened = await Promise.all(Array.from({ length: 16 }, (_, index) => open(index)));
        try {
          for (const { tls13, connection } of opened) {
            assert.equal(connection.protocol, tls13 ? "TLSv1.3" : "TLSv1.2");
            assert.equal(connection.alpn, tls13 ? "echo/1" : null);
          }
        } finally {
          await Promise.all(opened.map(({ connection }) => connection.close()));
        }
      },
    },
    {
      name: "round-trips 200 KB through an echo server, with ALPN and the verified path",
      run: async (fixture) => {
        const connection = await connectLocal(fixture, fixture.ports.echo, {
          pins: [fixture.pins.intermediate],
          alpn: ["echo/1"],
        });
        assert.equal(connection.alpn, "echo/1");
        assert.equal(connection.protocol, "TLSv1.3");
        assert.deepEqual(
          connection.peerCertificates.map((certificate) => certificate.pin),
          [fixture.pins.leaf, fixture.pins.intermediate, fixture.pins.root],
        );
        assert.ok(connection.peerCertificates[2]?.notAfter instanceof Date);

        const writer = connection.writable.getWriter();
        const reader = connection.readable.getReader();
        const message = new Uint8Array(200_000).map((_, index) => index % 251);
        const received = new Uint8Array(message.length);
        let length = 0;
        const reading = (async () => {
          while (length < message.length) {
            const { done, value } = await reader.read();
            if (done) break;
            received.set(value, length);
            length += value.length;
          }
        })();
        await writer.write(message);
        await reading;
        assert.equal(length, message.length);
        assert.ok(
          received.every((byte, index) => byte === message[index]),
          "the echo matches what was sent",
        );
        await connection.close();
      },
    },
    {
      name: "a server that speaks first is heard by a client that only reads",
      run: async (fixture) => {
        // The client's Finished waits to leave with its first write; one that never writes sends it all the same.
        const connection = await connectLocal(fixture, fixture.ports.greeting, { pins: [fixture.pins.intermediate] });
        try {
          const { value } = await connection.readable.getReader().read();
          assert.equal(new TextDecoder().decode(value), "hello from the server");
        } finally {
          await connection.close();
        }
      },
    },
    {
      name: "rejects a pin mismatch with the chain",
      run: async (fixture) => {
        const error = await rejection(connectLocal(fixture, fixture.ports.echo, { pins: [fixture.pins.otherRoot] }));
        assert.equal(error.code, "ERR_PIN_MISMATCH");
        assert.equal(error.chain?.length, 3);
      },
    },
    {
      name: "close() returns while the peer reads nothing",
      run: async (fixture) => {
        const connection = await connectLocal(fixture, fixture.ports.stalled);
        const writer = connection.writable.getWriter();
        writer.write(new Uint8Array(8 * 1024 * 1024)).catch(() => {});
        await connection.close();
        assert.equal(
          await writer.closed.then(
            () => "closed",
            () => "errored",
          ),
          "errored",
        );
      },
    },
  ],
};
