// HPACK (RFC 7541): the header compression of HTTP/2, with no I/O. The
// decoder reads a server's header blocks in a fixed memory bound; the encoder
// writes the client's. Field names and values are byte strings: one char per
// byte (Latin-1).

import { latin1 } from "../http/message.js";
import { HuffmanError, huffmanDecode, huffmanEncode, huffmanLength } from "./huffman.js";

/** A header block broke RFC 7541; the connection ends with COMPRESSION_ERROR. */
export class HpackError extends Error {
  override readonly name = "HpackError";
}

/** Appendix A: the static table, index 1 first. */
const STATIC_TABLE: readonly (readonly [string, string])[] = [
  [":authority", ""],
  [":method", "GET"],
  [":method", "POST"],
  [":path", "/"],
  [":path", "/index.html"],
  [":scheme", "http"],
  [":scheme", "https"],
  [":status", "200"],
  [":status", "204"],
  [":status", "206"],
  [":status", "304"],
  [":status", "400"],
  [":status", "404"],
  [":status", "500"],
  ["accept-charset", ""],
  ["accept-encoding", "gzip, deflate"],
  ["accept-language", ""],
  ["accept-ranges", ""],
  ["accept", ""],
  ["access-control-allow-origin", ""],
  ["age", ""],
  ["allow", ""],
  ["authorization", ""],
  ["cache-control", ""],
  ["content-disposition", ""],
  ["content-encoding", ""],
  ["content-language", ""],
  ["content-length", ""],
  ["content-location", ""],
  ["content-range", ""],
  ["content-type", ""],
  ["cookie", ""],
  ["date", ""],
  ["etag", ""],
  ["expect", ""],
  ["expires", ""],
  ["from", ""],
  ["host", ""],
  ["if-match", ""],
  ["if-modified-since", ""],
  ["if-none-match", ""],
  ["if-range", ""],
  ["if-unmodified-since", ""],
  ["last-modified", ""],
  ["link", ""],
  ["location", ""],
  ["max-forwards", ""],
  ["proxy-authenticate", ""],
  ["proxy-authorization", ""],
  ["range", ""],
  ["referer", ""],
  ["refresh", ""],
  ["retry-after", ""],
  ["server", ""],
  ["set-cookie", ""],
  ["strict-transport-security", ""],
  ["transfer-encoding", ""],
  ["user-agent", ""],
  ["vary", ""],
  ["via", ""],
  ["www-authenticate", ""],
];
const STATIC_COUNT = STATIC_TABLE.length;
/** RFC 9113 §6.5.2's default SETTINGS_HEADER_TABLE_SIZE, and the most the encoder uses. */
const DEFAULT_TABLE_SIZE = 4096;
/** RFC 7541 §4.1: an entry's size is its name's and value's lengths plus 32. */
const ENTRY_OVERHEAD = 32;
/** The largest integer a block may carry: well beyond any length or index a sane block needs. */
const MAX_INTEGER = 2 ** 31 - 1;
/** The most scratch space (decoded Huffman strings, encoded blocks) kept between blocks. */
const SCRATCH_KEPT = 64 * 1024;

/**
 * The dynamic table (RFC 7541 §2.3.2, §4): a ring of entries, newest at
 * index 1, evicted oldest first when an addition or a smaller maximum needs
 * the room. `onEvict` hears of each evicted entry with the number it was
 * added as (the first entry ever added is 1).
 */
class DynamicTable {
  #names: string[] = new Array<string>(16);
  #values: string[] = new Array<string>(16);
  /** Where the oldest entry sits in the ring. */
  #oldest = 0;
  count = 0;
  /** How many entries were ever added. */
  added = 0;
  size = 0;
  maxSize: number;
  readonly #onEvict: ((name: string, value: string, number: number) => void) | undefined;

  constructor(maxSize: number, onEvict?: (name: string, value: string, number: number) => void) {
    this.maxSize = maxSize;
    this.#onEvict = onEvict;
  }

  /** The name of the entry at dynamic index `index` (1 = newest), which must exist. */
  name(index: number): string {
    return this.#names[(this.#oldest + this.count - index) & (this.#names.length - 1)]!;
  }

  value(index: number): string {
    return this.#values[(this.#oldest + this.count - index) & (this.#names.length - 1)]!;
  }

  setMaxSize(maxSize: number): void {
    this.maxSize = maxSize;
    this.#evictUntil(maxSize);
  }

  clear(): void {
    this.#evictUntil(0);
  }

  /** Adds an entry, evicting what it needs; one bigger than the table empties it instead (§4.4). */
  add(name: string, value: string): void {
    const size = name.length + value.length + ENTRY_OVERHEAD;
    this.#evictUntil(Math.max(this.maxSize - size, 0));
    if (size > this.maxSize) return;
    if (this.count === this.#names.length) this.#grow();
    const slot = (this.#oldest + this.count) & (this.#names.length - 1);
    this.#names[slot] = name;
    this.#values[slot] = value;
    this.count++;
    this.added++;
    this.size += size;
  }

  #evictUntil(size: number): void {
    while (this.size > size) {
      const name = this.#names[this.#oldest]!;
      const value = this.#values[this.#oldest]!;
      this.#names[this.#oldest] = this.#values[this.#oldest] = "";
      this.#oldest = (this.#oldest + 1) & (this.#names.length - 1);
      this.count--;
      this.size -= name.length + value.length + ENTRY_OVERHEAD;
      this.#onEvict?.(name, value, this.added - this.count);
    }
  }

  /** Doubles the ring (its length stays a power of two), the oldest entry moved to the start. */
  #grow(): void {
    const names = new Array<string>(this.#names.length * 2);
    const values = new Array<string>(this.#names.length * 2);
    for (let index = 0; index < this.count; index++) {
      const slot = (this.#oldest + index) & (this.#names.length - 1);
      names[index] = this.#names[slot]!;
      values[index] = this.#values[slot]!;
    }
    this.#names = names;
    this.#values = values;
    this.#oldest = 0;
  }
}

/**
 * Decodes a server's header blocks, keeping its dynamic table in step across
 * blocks. Strings are decoded only when a field is kept (in the list, or in
 * the table), so a block costs time linear in its length and memory bounded
 * by `maxListSize` and the table size, whatever it references.
 */
export class HpackDecoder {
  readonly #table = new DynamicTable(DEFAULT_TABLE_SIZE);
  /** Our SETTINGS_HEADER_TABLE_SIZE: the most a size update may ask for. */
  #maxTableSize = DEFAULT_TABLE_SIZE;
  /** Where Huffman strings are decoded; kept between blocks up to SCRATCH_KEPT. */
  #scratch = new Uint8Array(256);
  #scratchEnd = 0;

  // The block being decoded, and where the next read starts.
  #block: Uint8Array = this.#scratch;
  #at = 0;

  // The last string read by #string: its bytes are #stringSource[#stringStart, + its length).
  #stringSource: Uint8Array = this.#scratch;
  #stringStart = 0;

  /**
   * Our SETTINGS_HEADER_TABLE_SIZE (default 4096), once the server acknowledged
   * the SETTINGS that carry it: size updates above it are errors from then on.
   */
  setMaxTableSize(bytes: number): void {
    this.#maxTableSize = bytes;
  }

  /**
   * The block's fields in order, or null when their size (RFC 9113 §6.5.2:
   * name + value + 32 each) exceeds `maxListSize`; the whole block is
   * decoded either way, so the table stays in step. Throws HpackError for a
   * malformed block, after which the table is out of step: the connection
   * has to end (COMPRESSION_ERROR).
   */
  decode(block: Uint8Array, maxListSize: number): [string, string][] | null {
    this.#block = block;
    this.#at = 0;
    let fields: [string, string][] | null = [];
    let listSize = 0;
    let inFields = false;
    try {
      while (this.#at < block.length) {
        const first = block[this.#at]!;
        if (first & 0x80) {
          // §6.1: an indexed field.
          const index = this.#integer(7);
          const name = this.#name(index);
          const value = index <= STATIC_COUNT ? STATIC_TABLE[index - 1]![1] : this.#table.value(index - STATIC_COUNT);
          listSize += name.length + value.length + ENTRY_OVERHEAD;
          if (listSize > maxListSize) fields = null;
          fields?.push([name, value]);
          inFields = true;
        } else if ((first & 0xe0) === 0x20) {
          // §6.3: a dynamic table size update, only before the first field.
          if (inFields) throw new HpackError("a dynamic table size update follows a header field");
          const size = this.#integer(5);
          if (size > this.#maxTableSize) {
            throw new HpackError(`a dynamic table size update to ${size} exceeds the ${this.#maxTableSize} allowed`);
          }
          this.#table.setMaxSize(size);
        } else {
          // §6.2: a literal field, added to the table (0x40), or not (0x00, 0x10: never indexed).
          const indexed = (first & 0x40) !== 0;
          const nameIndex = this.#integer(indexed ? 6 : 4);
          this.#scratchEnd = 0;
          let name = nameIndex === 0 ? undefined : this.#name(nameIndex);
          const nameLength = name === undefined ? this.#string() : name.length;
          // The name's bytes stay valid while the value is read: the scratch only ever grows into a copy.
          const nameSource = this.#stringSource;
          const nameStart = this.#stringStart;
          const valueLength = this.#string();
          const size = nameLength + valueLength + ENTRY_OVERHEAD;
          listSize += size;
          if (listSize > maxListSize) fields = null;
          const kept = fields !== null || (indexed && size <= this.#table.maxSize);
          if (kept) {
            name ??= latin1(nameSource.subarray(nameStart, nameStart + nameLength));
            const value = latin1(this.#stringSource.subarray(this.#stringStart, this.#stringStart + valueLength));
            if (indexed) this.#table.add(name, value);
            fields?.push([name, value]);
          } else if (indexed) {
            this.#table.clear(); // §4.4: an entry bigger than the table empties it
          }
          inFields = true;
        }
      }
    } finally {
      this.#block = this.#stringSource = this.#scratch;
      if (this.#scratch.length > SCRATCH_KEPT) this.#scratch = new Uint8Array(256);
    }
    return fields;
  }

  /** The name at index `index` of the static and dynamic tables together (§2.3.3). */
  #name(index: number): string {
    if (index === 0) throw new HpackError("a header field refers to index 0");
    if (index <= STATIC_COUNT) return STATIC_TABLE[index - 1]![0];
    if (index - STATIC_COUNT > this.#table.count) {
      throw new HpackError(
        `a header field refers to index ${index}, beyond the ${STATIC_COUNT + this.#table.count} entries`,
      );
    }
    return this.#table.name(index - STATIC_COUNT);
  }

  /** §5.1: an integer with a `prefixBits`-bit prefix, at #at. */
  #integer(prefixBits: number): number {
    const block = this.#block;
    const mask = (1 << prefixBits) - 1;
    let value = block[this.#at++]! & mask;
    if (value < mask) return value;
    for (let shift = 0; ; shift += 7) {
      if (this.#at >= block.length) throw new HpackError("the header block ends inside an integer");
      if (shift > 28) throw new HpackError("an integer in the header block has too many bytes");
      const byte = block[this.#at++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (value > MAX_INTEGER) throw new HpackError(`an integer in the header block exceeds ${MAX_INTEGER}`);
      if (byte < 0x80) return value;
    }
  }

  /** §5.2: a string at #at, left in #stringSource at #stringStart; returns its decoded length. */
  #string(): number {
    const block = this.#block;
    if (this.#at >= block.length) throw new HpackError("the header block ends before a string");
    const huffman = (block[this.#at]! & 0x80) !== 0;
    const length = this.#integer(7);
    const start = this.#at;
    if (length > block.length - start) throw new HpackError("the header block ends inside a string");
    this.#at += length;
    if (!huffman) {
      this.#stringSource = block;
      this.#stringStart = start;
      return length;
    }
    // No code is shorter than five bits: a byte decodes to at most 8/5 bytes.
    const needed = this.#scratchEnd + Math.ceil((length * 8) / 5);
    if (needed > this.#scratch.length) {
      const scratch = new Uint8Array(Math.max(needed, this.#scratch.length * 2));
      scratch.set(this.#scratch.subarray(0, this.#scratchEnd));
      this.#scratch = scratch;
    }
    let end: number;
    try {
      end = huffmanDecode(block, start, start + length, this.#scratch, this.#scratchEnd);
    } catch (error) {
      throw error instanceof HuffmanError ? new HpackError(error.message) : error;
    }
    this.#stringSource = this.#scratch;
    this.#stringStart = this.#scratchEnd;
    this.#scratchEnd = end;
    return end - this.#stringStart;
  }
}

/** Fields whose values are secrets: never indexed, here or by any intermediary (§7.1.3). */
const NEVER_INDEXED = new Set(["authorization", "proxy-authorization", "cookie", "set-cookie"]);
/** Fields whose values change from request to request: indexing them would only evict the ones that repeat. */
const NOT_INDEXED = new Set([":path", "content-length"]);
/** The static table by name: the name's first index, and the index of each value it has. */
const STATIC_INDEX = new Map<string, { index: number; values: Map<string, number> }>();
STATIC_TABLE.forEach(([name, value], at) => {
  const entry = STATIC_INDEX.get(name) ?? { index: at + 1, values: new Map<string, number>() };
  entry.values.set(value, at + 1);
  STATIC_INDEX.set(name, entry);
});

/**
 * Encodes the client's header blocks: a field found whole in the static or
 * dynamic table becomes an index; others are literals, added to the dynamic
 * table unless they are secrets (never indexed), change per request, or are
 * bigger than three quarters of the table; strings are Huffman-coded unless
 * that is longer. Names are lowercase already; names and values must be byte
 * strings (a char above 255 throws a TypeError).
 */
export class HpackEncoder {
  /** The number (DynamicTable.added at its addition) of the newest entry with a name, by name. */
  readonly #byName = new Map<string, number>();
  /** The number of the entry with a name and value, by name then value. */
  readonly #byField = new Map<string, Map<string, number>>();
  readonly #table = new DynamicTable(DEFAULT_TABLE_SIZE, (name, value, number) => {
    if (this.#byName.get(name) === number) this.#byName.delete(name);
    const values = this.#byField.get(name);
    if (values?.get(value) !== number) return;
    values.delete(value);
    if (values.size === 0) this.#byField.delete(name);
  });
  /** The table sizes to announce at the start of the next block (§4.2): the smallest since the last, and the last. */
  #smallestSize = -1;
  #nextSize = -1;
  #output = new Uint8Array(1024);
  #at = 0;

  /**
   * The server's SETTINGS_HEADER_TABLE_SIZE. The encoder's table takes it, up
   * to 4096 (the default, which the encoder never exceeds), and the next
   * block starts with the size update when that changes the table's size.
   */
  setMaxTableSize(bytes: number): void {
    const size = Math.min(bytes, DEFAULT_TABLE_SIZE);
    this.#smallestSize = this.#smallestSize < 0 ? size : Math.min(this.#smallestSize, size);
    this.#nextSize = size;
  }

  encode(fields: Iterable<[string, string]>): Uint8Array {
    this.#at = 0;
    if (this.#nextSize >= 0) this.#announceSize();
    for (const [name, value] of fields) {
      this.#reserve(name.length + value.length + 16);
      const statics = STATIC_INDEX.get(name);
      if (NEVER_INDEXED.has(name)) {
        this.#literal(0x10, 4, statics?.index ?? 0, name, value);
        continue;
      }
      const index = statics?.values.get(value) ?? this.#fieldIndex(name, value);
      if (index > 0) {
        this.#integer(0x80, 7, index);
        continue;
      }
      const nameIndex = statics?.index ?? this.#nameIndex(name);
      if (NOT_INDEXED.has(name) || (name.length + value.length + ENTRY_OVERHEAD) * 4 > this.#table.maxSize * 3) {
        this.#literal(0x00, 4, nameIndex, name, value);
        continue;
      }
      this.#literal(0x40, 6, nameIndex, name, value);
      this.#table.add(name, value);
      const number = this.#table.added;
      this.#byName.set(name, number);
      const values = this.#byField.get(name);
      if (values) values.set(value, number);
      else this.#byField.set(name, new Map([[value, number]]));
    }
    const block = this.#output.slice(0, this.#at);
    if (this.#output.length > SCRATCH_KEPT) this.#output = new Uint8Array(1024);
    return block;
  }

  #announceSize(): void {
    this.#reserve(12);
    if (this.#smallestSize < this.#nextSize && this.#smallestSize < this.#table.maxSize) {
      this.#table.setMaxSize(this.#smallestSize);
      this.#integer(0x20, 5, this.#smallestSize);
    }
    if (this.#nextSize !== this.#table.maxSize) {
      this.#table.setMaxSize(this.#nextSize);
      this.#integer(0x20, 5, this.#nextSize);
    }
    this.#smallestSize = this.#nextSize = -1;
  }

  /** The index of the dynamic entry with this name and value, or 0. */
  #fieldIndex(name: string, value: string): number {
    const number = this.#byField.get(name)?.get(value);
    return number === undefined ? 0 : STATIC_COUNT + this.#table.added - number + 1;
  }

  /** The index of the newest dynamic entry with this name, or 0. */
  #nameIndex(name: string): number {
    const number = this.#byName.get(name);
    return number === undefined ? 0 : STATIC_COUNT + this.#table.added - number + 1;
  }

  /** §6.2: a literal field whose first byte has `flags` and a `prefixBits`-bit name index (0: the name follows). */
  #literal(flags: number, prefixBits: number, nameIndex: number, name: string, value: string): void {
    this.#integer(flags, prefixBits, nameIndex);
    if (nameIndex === 0) this.#string(name);
    this.#string(value);
  }

  /** §5.2: Huffman-coded unless that is longer (as RFC 7541's examples do). */
  #string(text: string): void {
    const huffman = huffmanLength(text);
    if (huffman <= text.length && text.length > 0) {
      this.#integer(0x80, 7, huffman);
      this.#at = huffmanEncode(text, this.#output, this.#at);
      return;
    }
    this.#integer(0x00, 7, text.length);
    const output = this.#output;
    for (let index = 0; index < text.length; index++) output[this.#at++] = text.charCodeAt(index);
  }

  /** §5.1: `value` with a `prefixBits`-bit prefix in a first byte that has `flags`. */
  #integer(flags: number, prefixBits: number, value: number): void {
    const output = this.#output;
    const mask = (1 << prefixBits) - 1;
    if (value < mask) {
      output[this.#at++] = flags | value;
      return;
    }
    output[this.#at++] = flags | mask;
    for (value -= mask; value >= 0x80; value >>>= 7) output[this.#at++] = (value & 0x7f) | 0x80;
    output[this.#at++] = value;
  }

  /** Room for `bytes` more bytes of output. */
  #reserve(bytes: number): void {
    if (this.#at + bytes <= this.#output.length) return;
    const output = new Uint8Array(Math.max(this.#at + bytes, this.#output.length * 2));
    output.set(this.#output.subarray(0, this.#at));
    this.#output = output;
  }
}
