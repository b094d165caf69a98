// A test server in a process of its own (Go's crypto/tls, Deno.serve,
// Bun.serve): it prints its port on its first line of output and exits when
// its stdin closes.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";

export interface ChildServer {
  port: number;
  close(): Promise<void>;
}

/** Bounds the start, past any build: a server that prints no port by then is stopped. */
const START_TIMEOUT = 60_000;
/** How long a server may take to exit once its stdin closes, before it is killed. */
const STOP_TIMEOUT = 5_000;

/** Starts `command` with `args` and `env` (added to nothing else), and waits for the port it prints. */
export async function startChildServer(
  command: string,
  args: readonly string[],
  options: { env: NodeJS.ProcessEnv; cwd?: string },
): Promise<ChildServer> {
  const child = spawn(command, args, { ...options, stdio: ["pipe", "pipe", "inherit"] });
  const exited = once(child, "exit");
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const [line] = (await Promise.race([
      once(createInterface({ input: child.stdout! }), "line"),
      exited.then(([code]) => Promise.reject(new Error(`${command} exited with ${code} before listening`))),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${command} printed no port within ${START_TIMEOUT} ms`)),
          START_TIMEOUT,
        );
      }),
    ])) as [string];
    return { port: Number(line), close: () => stop(child, exited) };
  } catch (error) {
    child.kill();
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

async function stop(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  child.stdin!.end();
  const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}
