import { PinnedFetchError } from "../errors.js";

const EMPTY = new Uint8Array(0);

/** Where the bytes come from: the next piece, or null at the end (a TLS connection is one). */
export interface ByteSource {
  read(): Promise<Uint8Array | null>;
}

/**
 * Reads an HTTP/1.1 byte stream: delimited sections (head, chunk-size lines)
 * with a size limit, and body bytes handed on without copying.
 */
export class ByteReader {
  readonly #source: ByteSource;
  /** Bytes that arrived and were not asked for yet. */
  #buffer: Uint8Array = EMPTY;
  /** Where #buffer grows in place while a section arrives in pieces (it never moves what was handed out). */
  #storage: Uint8Array = EMPTY;
  #received = 0;
  /** The read under way, shared by whoever waits for bytes: one read of the source at a time. */
  #filling: Promise<boolean> | null = null;

  constructor(source: ByteSource) {
    this.#source = source;
  }

  /** Bytes that have arrived, in all. */
  get received(): number {
    return this.#received;
  }

  /** Whether bytes have arrived that nobody asked for yet. */
  get buffered(): boolean {
    return this.#buffer.length > 0;
  }

  /** Starts reading ahead, so that bytes arriving while nobody asks show in `buffered` (and a failure in the source). */
  readAhead(): void {
    this.#fill().catch(() => {});
  }

  /** Reads the next piece into the buffer; false at the end of the source. */
  #fill(): Promise<boolean> {
    this.#filling ??= this.#source.read().then(
      (value) => {
        this.#filling = null;
        if (value === null) return false;
        this.#received += value.length;
        this.#append(value);
        return true;
      },
      (error: unknown) => {
        this.#filling = null;
        throw error;
      },
    );
    return this.#filling;
  }

  /**
   * Reads through the first `delimiter`, returning what precedes it; null at
   * a clean end before any byte. More than `limit` bytes before it fail with
   * ERR_HTTP and the message `tooLong`.
   */
  async readUntil(delimiter: Uint8Array, limit: number, tooLong: string): Promise<Uint8Array | null> {
    let searchFrom = 0;
    for (;;) {
      const at = indexOf(this.#buffer, delimiter, searchFrom);
      if (at > limit) throw new PinnedFetchError("ERR_HTTP", tooLong);
      if (at !== -1) {
        const section = this.#buffer.subarray(0, at);
        this.#buffer = this.#buffer.subarray(at + delimiter.length);
        return section;
      }
      if (this.#buffer.length > limit + delimiter.length) throw new PinnedFetchError("ERR_HTTP", tooLong);
      searchFrom = Math.max(0, this.#buffer.length - delimiter.length + 1);
      if (!(await this.#fill())) {
        if (this.#buffer.length === 0) return null;
        throw new PinnedFetchError("ERR_HTTP", "The connection ended in the middle of the response.");
      }
    }
  }

  /**
   * Adds `value` after #buffer. Growing the storage by doubling keeps a
   * section that arrives a byte per record linear in time, not quadratic.
   */
  #append(value: Uint8Array): void {
    const buffer = this.#buffer;
    if (buffer.length === 0) {
      this.#buffer = value;
      return;
    }
    const length = buffer.length + value.length;
    const inStorage = buffer.buffer === this.#storage.buffer;
    const start = inStorage ? buffer.byteOffset - this.#storage.byteOffset : 0;
    if (!inStorage || start + length > this.#storage.length) {
      const storage = new Uint8Array(Math.max(2 * length, 4096));
      storage.set(buffer);
      this.#storage = storage;
      this.#buffer = storage.subarray(0, buffer.length);
      return this.#append(value);
    }
    this.#storage.set(value, start + buffer.length);
    this.#buffer = this.#storage.subarray(start, start + length);
  }

  /** The next `length` bytes if all of them have arrived, or null: reads nothing. */
  takeWhole(length: number): Uint8Array | null {
    return this.#buffer.length >= length ? this.take(length) : null;
  }

  /** Up to `max` bytes that have arrived already, or null if none have: reads nothing. */
  take(max: number): Uint8Array | null {
    if (this.#buffer.length === 0) return null;
    const bytes = this.#buffer.subarray(0, max);
    this.#buffer = this.#buffer.subarray(bytes.length);
    return bytes;
  }

  /** Up to `max` bytes, or null at the end of the source. */
  async read(max: number): Promise<Uint8Array | null> {
    if (this.#buffer.length === 0 && !(await this.#fill())) return null;
    return this.take(max);
  }
}

function indexOf(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0]!;
  for (
    let at = haystack.indexOf(first, from);
    at !== -1 && at + needle.length <= haystack.length;
    at = haystack.indexOf(first, at + 1)
  ) {
    let matched = 1;
    while (matched < needle.length && haystack[at + matched] === needle[matched]) matched++;
    if (matched === needle.length) return at;
  }
  return -1;
}
