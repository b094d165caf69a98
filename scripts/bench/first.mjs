// How Node runs first.ts. Under `node --import tsx`, tsx's hooks would take
// every module the process loads, each of the built package's files among
// them, which a user's program does not pay (Node 24: about 200 ms of CPU to
// import the package under tsx, 110 without; BENCHMARKS.md). So the package
// is imported first, natively, and tsx is loaded only then, to compile the
// bench's own TypeScript, as it does for every client alike.
//   node scripts/bench/first.mjs pinned-fetch|<baseline>|none '<target json>'
const built = process.argv[2] === "pinned-fetch" ? await import("../../dist/index.js") : undefined;
const { tsImport } = await import("tsx/esm/api");
const { firstRequest } = await tsImport("./first.ts", import.meta.url);
await firstRequest(built);
