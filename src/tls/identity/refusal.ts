// Why an identity was refused, in words that are safe to show: the readers
// below throw a Refusal, and readClientIdentity turns it into ERR_CONFIG
// under the identity's label. Anything else they throw (a parser's error,
// which may quote the bytes it choked on) is never shown.

export class Refusal extends Error {}

export function refuse(reason: string): never {
  throw new Refusal(reason);
}

/** Runs `read`, turning any error that is not already a Refusal into one that says `reason`. */
export function readOr<T>(reason: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof Refusal) throw error;
    return refuse(reason);
  }
}
