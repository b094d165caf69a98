// What keeps a process alive, in one runtime: a new user's script against the
// origin that keeps idle connections open for a minute (servers.ts).
//   <runtime> test/endurance/lifetime.ts '<EnduranceTarget JSON>' <case>
// Prints one line, and never calls fetch.close() or process.exit(): whether
// the process ends by itself is what endurance.test.ts checks.
import { createPinnedFetch } from "../../src/index.js";
import type { EnduranceTarget } from "./servers.js";

const target = JSON.parse(process.argv[2]!) as EnduranceTarget;
const pinned = createPinnedFetch({
  ca: target.ca,
  pins: { localhost: target.pins },
  resolve: { localhost: "127.0.0.1" },
});
const url = (path: string) => `https://localhost:${target.lingering}${path}`;
const LARGE = 4 * 1024 * 1024;

switch (process.argv[3]) {
  case "unread": // the README's one-liner: the body is never read
    console.log((await pinned(url("/id"))).status);
    break;
  case "unread-large": // more body than every buffer on the way takes, unread
    console.log((await pinned(url(`/bytes?size=${LARGE}`))).status);
    break;
  case "idle": // the body read: the connection waits in the pool
    console.log((await (await pinned(url(`/bytes?size=${LARGE}`))).arrayBuffer()).byteLength);
    break;
  // A request waiting for its head, or a read waiting for the body, keeps the process alive. Without a top-level
  // await: Deno and Bun stay alive while one is pending, whatever the sockets do.
  case "late-head":
    void pinned(url("/late-head"))
      .then((response) => response.text())
      .then((text) => console.log(text));
    break;
  case "late-body":
    void pinned(url("/late-body"))
      .then((response) => response.text())
      .then((text) => console.log(text));
    break;
  default:
    throw new Error(`no such case: ${process.argv[3]}`);
}
