// Keeps timers running while a connection reads as fast as its server sends.
// Deno and Bun can settle socket reads back to back without running due
// timers, so a server that never pauses could hold off every timeout and
// abort. A zero-delay timer shows whether timers had a turn; after
// STARVED_AFTER ms of reading without one, reading waits for it. In Node,
// timers run between reads anyway, so reading never waits.

/** Milliseconds of reading without a timer turn, after which reading waits for one. */
const STARVED_AFTER = 10;
/**
 * The runtime's setTimeout, taken when the module loads: a test's fake timers, installed later, would never fire
 * (the turn here, the held handshake flight in connection.ts).
 */
export const schedule = globalThis.setTimeout;

let turn: Promise<void> | null = null;
let since = 0;

/** A promise that settles once timers have had their overdue turn, or null while reading may go on. */
export function overdueTimerTurn(): Promise<void> | null {
  if (turn === null) {
    since = performance.now();
    turn = new Promise((resolve) =>
      schedule(() => {
        turn = null;
        resolve();
      }, 0),
    );
    return null;
  }
  return performance.now() - since > STARVED_AFTER ? turn : null;
}
