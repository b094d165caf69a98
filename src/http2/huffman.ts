// The Huffman code of HPACK (RFC 7541 §5.2, Appendix B). The code is
// canonical (codes of one length are consecutive, in symbol order, and each
// length continues where the shorter one ended), so the code lengths of
// Appendix B are all it takes to rebuild the codes.

/** Appendix B's code lengths in bits, for the bytes 0-255 and then EOS (256). */
const CODE_LENGTHS = Uint8Array.from([
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28,
  28, 28, 28, 6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, 15, 5, 6, 5, 6,
  5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, 20, 22, 20, 20, 22, 22, 22, 23,
  22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, 22, 21, 20, 22, 22,
  23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, 26, 26,
  20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27,
  27, 20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27,
  27, 27, 27, 26, 30,
]);
const EOS = 256;

/** Each symbol's code, right-aligned: the canonical assignment over CODE_LENGTHS. */
const CODES = new Uint32Array(257);
{
  const symbols = Array.from(CODE_LENGTHS.keys()).sort((a, b) => CODE_LENGTHS[a]! - CODE_LENGTHS[b]! || a - b);
  let code = 0;
  let length = CODE_LENGTHS[symbols[0]!]!;
  for (const symbol of symbols) {
    code <<= CODE_LENGTHS[symbol]! - length;
    length = CODE_LENGTHS[symbol]!;
    CODES[symbol] = code++;
  }
}

// The decoder is a state machine that reads four bits at a time: a state is
// an inner node of the code's tree (0 is the root; the code is complete, so
// 257 leaves make 256 inner nodes), and a step from a state with a nibble
// lands on another, emitting at most one symbol on the way since no code is
// shorter than five bits. STEPS[state << 4 | nibble] packs the next state
// (bits 0-7), the symbol emitted (bits 8-15) and the flags below.
const EMITS = 1 << 16;
const HITS_EOS = 1 << 17;
const STEPS = new Uint32Array(256 * 16);
/** 1 for the states a string may end in: the root, or up to seven bits of padding that are all ones. */
const ENDS = new Uint8Array(256);
{
  // children[node * 2 + bit]: an inner node's index, or -1 - symbol for a leaf.
  const children = new Int16Array(256 * 2);
  const depth = new Uint8Array(256);
  const allOnes = new Uint8Array(256);
  allOnes[0] = 1;
  let nodes = 1;
  for (let symbol = 0; symbol <= EOS; symbol++) {
    const length = CODE_LENGTHS[symbol]!;
    let node = 0;
    for (let bit = length - 1; bit > 0; bit--) {
      const slot = node * 2 + ((CODES[symbol]! >>> bit) & 1);
      if (children[slot] === 0) {
        children[slot] = nodes;
        depth[nodes] = depth[node]! + 1;
        allOnes[nodes] = allOnes[node]! & ((CODES[symbol]! >>> bit) & 1);
        nodes++;
      }
      node = children[slot]!;
    }
    children[node * 2 + (CODES[symbol]! & 1)] = -1 - symbol;
  }
  for (let state = 0; state < 256; state++) {
    ENDS[state] = allOnes[state]! && depth[state]! <= 7 ? 1 : 0;
    for (let nibble = 0; nibble < 16; nibble++) {
      let node = state;
      let step = 0;
      for (let bit = 3; bit >= 0; bit--) {
        const child = children[node * 2 + ((nibble >>> bit) & 1)]!;
        if (child >= 0) {
          node = child;
          continue;
        }
        const symbol = -1 - child;
        step |= symbol === EOS ? HITS_EOS : EMITS | (symbol << 8);
        node = 0;
      }
      STEPS[(state << 4) | nibble] = step | node;
    }
  }
}

/** Why a Huffman string could not be decoded (the caller wraps it in its own error). */
export class HuffmanError extends Error {
  override readonly name = "HuffmanError";
}

/**
 * Decodes `input[start, end)` into `output` from `at` on, and returns where
 * the decoded bytes end. `output` needs room for (end - start) * 8 / 5 bytes.
 * Throws HuffmanError for an EOS symbol, or padding that is longer than seven
 * bits or not all ones (RFC 7541 §5.2).
 */
export function huffmanDecode(input: Uint8Array, start: number, end: number, output: Uint8Array, at: number): number {
  let state = 0;
  for (let index = start; index < end; index++) {
    const byte = input[index]!;
    let step = STEPS[(state << 4) | (byte >>> 4)]!;
    if (step & EMITS) output[at++] = step >>> 8;
    else if (step & HITS_EOS) throw new HuffmanError("the Huffman string contains EOS");
    state = step & 0xff;
    step = STEPS[(state << 4) | (byte & 0xf)]!;
    if (step & EMITS) output[at++] = step >>> 8;
    else if (step & HITS_EOS) throw new HuffmanError("the Huffman string contains EOS");
    state = step & 0xff;
  }
  if (!ENDS[state]) throw new HuffmanError("the Huffman string ends in padding that is not up to seven 1 bits");
  return at;
}

/** How many bytes `text` takes Huffman-coded; throws a TypeError for a char above 255 (not a byte string). */
export function huffmanLength(text: string): number {
  let bits = 0;
  for (let index = 0; index < text.length; index++) {
    const symbol = text.charCodeAt(index);
    if (symbol > 255)
      throw new TypeError(`a header field has the character U+${symbol.toString(16)}, which is no byte`);
    bits += CODE_LENGTHS[symbol]!;
  }
  return (bits + 7) >>> 3;
}

/** Writes `text` Huffman-coded into `output` from `at` on, padded with 1 bits; returns where it ends. */
export function huffmanEncode(text: string, output: Uint8Array, at: number): number {
  // `pending` bits wait in the low end of `bits` (fewer than 8 between
  // codes); what lies above them was written already.
  let bits = 0;
  let pending = 0;
  for (let index = 0; index < text.length; index++) {
    const symbol = text.charCodeAt(index);
    let code = CODES[symbol]!;
    let length = CODE_LENGTHS[symbol]!;
    if (pending + length > 32) {
      // Only codes over 24 bits get here: their high part first, to stay in 32 bits.
      bits = (bits << (length - 16)) | (code >>> 16);
      pending += length - 16;
      for (; pending >= 8; pending -= 8) output[at++] = bits >>> (pending - 8);
      code &= 0xffff;
      length = 16;
    }
    bits = (bits << length) | code;
    pending += length;
    for (; pending >= 8; pending -= 8) output[at++] = bits >>> (pending - 8);
  }
  if (pending > 0) output[at++] = (bits << (8 - pending)) | (0xff >>> pending);
  return at;
}
