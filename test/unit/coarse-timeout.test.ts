// coarseTimeout (src/signals.ts) on vitest's fake clock: a wait fires no sooner than its time and less than two
// ticks later, a cancelled one never fires, and the one timer behind them all stops once nothing waits.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { coarseTimeout } from "../../src/signals.js";

const TICK_MS = 500;
const unrefs: unknown[] = [];
const unref = (timer: unknown) => void unrefs.push(timer);

beforeEach(() => {
  vi.useFakeTimers();
  unrefs.length = 0;
});

afterEach(() => {
  vi.useRealTimers();
});

describe("coarseTimeout", () => {
  it("fires no sooner than its time, and less than two ticks after it, whenever the ticker started", () => {
    for (const ms of [1, 499, 500, 501, 4_000, 300_000]) {
      // Started beside a wait that already ticks, at any moment between two ticks.
      for (const offset of [0, 1, 250, 499]) {
        const fired: number[] = [];
        const stopOther = coarseTimeout(1_000_000, () => {}, unref);
        vi.advanceTimersByTime(offset);
        const start = Date.now();
        coarseTimeout(ms, () => fired.push(Date.now() - start), unref);
        vi.advanceTimersByTime(ms - 1);
        expect(fired).toEqual([]);
        vi.advanceTimersByTime(2 * TICK_MS);
        expect(fired).toHaveLength(1);
        expect(fired[0]).toBeGreaterThanOrEqual(ms);
        expect(fired[0]).toBeLessThan(ms + 2 * TICK_MS);
        stopOther();
        vi.advanceTimersByTime(TICK_MS);
        expect(vi.getTimerCount()).toBe(0);
      }
    }
  });

  it("a cancelled wait never fires, and the ticker stops at the first tick with nothing to wait for", () => {
    let fired = 0;
    const cancel = coarseTimeout(1_000, () => fired++, unref);
    expect(vi.getTimerCount()).toBe(1);
    expect(unrefs).toHaveLength(1);
    cancel();
    vi.advanceTimersByTime(TICK_MS);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(10_000);
    expect(fired).toBe(0);
  });

  it("unrefs every timer of the ticker, not only the first", () => {
    const made = vi.spyOn(globalThis, "setTimeout");
    let fired = 0;
    coarseTimeout(3_000, () => fired++, unref);
    vi.advanceTimersByTime(4_000);
    expect(fired).toBe(1);
    expect(made.mock.calls.length).toBeGreaterThan(5);
    expect(unrefs).toEqual(made.mock.results.map((result) => result.value));
    made.mockRestore();
  });

  it("a callback that throws ends no other wait's timeout, and is reported", () => {
    const reported: unknown[] = [];
    const microtasks = vi.spyOn(globalThis, "queueMicrotask").mockImplementation((task) => {
      try {
        task();
      } catch (error) {
        reported.push(error);
      }
    });
    const order: string[] = [];
    const failure = new Error("thrown by a timeout");
    coarseTimeout(
      1_000,
      () => {
        throw failure;
      },
      unref,
    );
    coarseTimeout(1_000, () => order.push("same tick"), unref);
    coarseTimeout(3_000, () => order.push("later"), unref);
    vi.advanceTimersByTime(4_000);
    expect(order).toEqual(["same tick", "later"]);
    expect(reported).toEqual([failure]);
    microtasks.mockRestore();
  });

  it("keeps one timer however many wait, and a wait set by a firing one is kept", () => {
    const order: string[] = [];
    const cancels = Array.from({ length: 100 }, (_, index) =>
      coarseTimeout(60_000, () => order.push(`${index}`), unref),
    );
    coarseTimeout(
      1_000,
      () => {
        order.push("first");
        coarseTimeout(1_000, () => order.push("set while firing"), unref);
      },
      unref,
    );
    expect(vi.getTimerCount()).toBe(1);
    for (const cancel of cancels) cancel();
    vi.advanceTimersByTime(3_000);
    expect(order).toEqual(["first", "set while firing"]);
    vi.advanceTimersByTime(TICK_MS);
    expect(vi.getTimerCount()).toBe(0);
  });
});
