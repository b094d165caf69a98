// Edits to a list of encoded frames, the same for WebSocket and HTTP/2
// frames: drop, duplicate, swap, inject bytes, cut, or change one in place.

/** What every edit has: the frame it applies to (past the last: where the frames end) and its operation. */
interface Edit {
  frame: number;
  op: string;
}
type Common = "drop" | "duplicate" | "swap" | "inject" | "cut";

/** The frames with `edits` made (`alter` makes those of other operations), and whether a cut ended them early. */
export function editFrames<E extends Edit>(
  frames: Buffer[],
  edits: readonly E[],
  alter: (frame: Buffer, edit: Exclude<E, { op: Common }>) => Buffer,
): { bytes: Buffer[]; cut: boolean } {
  const bytes: Buffer[] = [];
  let held: { after: number; frames: Buffer[] } | null = null;
  for (let number = 0; number <= frames.length; number++) {
    const frame = frames[number];
    let copies = frame ? [frame] : [];
    const last = number === frames.length;
    for (const edit of edits.filter((candidate) => candidate.frame === number || (last && candidate.frame > number))) {
      if (edit.op === "inject") bytes.push(Buffer.from((edit as E & { hex: string }).hex, "hex"));
      else if (edit.op === "cut") {
        if (frame) bytes.push(frame.subarray(0, (edit as E & { offset: number }).offset % frame.length));
        return { bytes, cut: true };
      } else if (edit.op === "drop") copies = [];
      else if (edit.op === "duplicate") copies = [...copies, ...copies];
      else if (edit.op === "swap") {
        held = { after: number + 1, frames: copies };
        copies = [];
      } else copies = copies.map((copy) => alter(copy, edit as Exclude<E, { op: Common }>));
    }
    bytes.push(...copies);
    if (held && (number >= held.after || last)) {
      bytes.push(...held.frames);
      held = null;
    }
  }
  return { bytes, cut: false };
}
