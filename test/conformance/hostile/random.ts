// A tiny seeded generator (mulberry32): the same seed gives the same cases in
// Node, Deno and Bun.

export class Random {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A whole number in [0, 2^32). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** A whole number in [min, max]. */
  int(min: number, max: number): number {
    return min + (this.next() % (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[this.next() % items.length]!;
  }

  chance(probability: number): boolean {
    return this.next() / 2 ** 32 < probability;
  }

  bytes(count: number): Uint8Array {
    return Uint8Array.from({ length: count }, () => this.next() & 0xff);
  }
}

/** The generator of one case, from the run's seed, its family and its number. */
export function caseRandom(seed: number, family: string, index: number): Random {
  let hash = 0x811c9dc5; // FNV-1a over the family's name, then the numbers
  for (const code of `${family}:${seed}:${index}`) hash = Math.imul(hash ^ code.charCodeAt(0), 0x01000193);
  return new Random(hash);
}

/** 0 … count-1 in an order that depends only on `seed`: a prefix of it is an even sample. */
export function shuffled(count: number, random: Random): number[] {
  const order = Array.from({ length: count }, (_, index) => index);
  for (let at = count - 1; at > 0; at--) {
    const other = random.next() % (at + 1);
    [order[at], order[other]] = [order[other]!, order[at]!];
  }
  return order;
}

export function hex(bytes: Uint8Array | readonly number[]): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}
