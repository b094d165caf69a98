// Edits what a server sends, record by record, on its way to the client:
// the StreamPlan of a case, applied to a replayed flight or a live relay.
import type { Socket } from "node:net";

import type { Ending, RecordEdit, StreamPlan } from "./plan.js";
import { RECORD_HEADER, splitRecords } from "./records.js";

/** Where the edited stream goes. */
export interface Sink {
  write(bytes: Buffer): void;
  end(ending: Ending): void;
}

export class StreamEditor {
  readonly #plan: StreamPlan;
  readonly #sink: Sink;
  /** The start of a record that has not fully arrived. */
  #pending: Buffer = Buffer.alloc(0);
  /** The number of the next record. */
  #next = 0;
  /** Records of a swap, due after record `after`. */
  #held: { after: number; records: Buffer[] } | null = null;
  #sent = 0;
  #done = false;

  constructor(plan: StreamPlan, sink: Sink) {
    this.#plan = plan;
    this.#sink = sink;
  }

  /** Whether the stream is over: cut short, or finished. */
  get done(): boolean {
    return this.#done;
  }

  push(chunk: Buffer): void {
    if (this.#done) return;
    const { records, rest } = splitRecords(Buffer.concat([this.#pending, chunk]));
    this.#pending = rest;
    for (const record of records) {
      this.#record(record);
      if (this.#done) return;
    }
  }

  /** The server's stream is over, as `ending` says; edits aimed past its last record apply now. */
  finish(ending: Ending): void {
    this.#emit(...(this.#held?.records ?? []), this.#pending);
    this.#held = null;
    const late = this.#plan.edits.filter((edit) => edit.record >= this.#next).sort((a, b) => a.record - b.record);
    for (const edit of late) {
      if (edit.op === "inject") this.#emit(Buffer.from(edit.hex, "hex"));
      if (edit.op === "cut" || edit.op === "end") ending = this.#plan.ending;
    }
    this.#end(ending);
  }

  #record(record: Buffer): void {
    const number = this.#next++;
    let copies = [record];
    for (const edit of this.#plan.edits.filter((candidate) => candidate.record === number)) {
      if (edit.op === "inject") this.#emit(Buffer.from(edit.hex, "hex"));
      else if (edit.op === "cut") return this.#cut(copies[0]?.subarray(0, edit.offset));
      else if (edit.op === "end") return this.#cut(undefined);
      else if (edit.op === "drop") copies = [];
      else if (edit.op === "duplicate") copies = [...copies, ...copies];
      else if (edit.op === "swap") {
        this.#held = { after: number + 1, records: copies };
        copies = [];
      } else copies = copies.map((copy) => altered(copy, edit));
    }
    this.#emit(...copies);
    if (this.#held && number >= this.#held.after) {
      const { records } = this.#held;
      this.#held = null;
      this.#emit(...records);
    }
  }

  #cut(last: Buffer | undefined): void {
    if (last) this.#emit(last);
    this.#end(this.#plan.ending);
  }

  #emit(...parts: Buffer[]): void {
    for (const bytes of parts) {
      if (this.#done || bytes.length === 0) continue;
      const { cutAt } = this.#plan;
      if (cutAt !== undefined && this.#sent + bytes.length >= cutAt) {
        this.#sink.write(bytes.subarray(0, cutAt - this.#sent));
        this.#sent = cutAt;
        this.#end(this.#plan.ending);
      } else {
        this.#sink.write(bytes);
        this.#sent += bytes.length;
      }
    }
  }

  #end(ending: Ending): void {
    if (this.#done) return;
    this.#done = true;
    this.#sink.end(ending);
  }
}

/** A copy of `record` with one header field or bit changed. */
function altered(record: Buffer, edit: Extract<RecordEdit, { op: "flip" | "length" | "type" | "version" }>): Buffer {
  const copy = Buffer.from(record);
  if (edit.op === "flip") copy[(edit.bit >> 3) % copy.length]! ^= 1 << (edit.bit & 7);
  if (edit.op === "length" && copy.length >= RECORD_HEADER) copy.writeUInt16BE(edit.length & 0xffff, 3);
  if (edit.op === "type") copy[0] = edit.type & 0xff;
  if (edit.op === "version" && copy.length >= RECORD_HEADER) copy.writeUInt16BE(edit.version & 0xffff, 1);
  return copy;
}

/** Writes to the client's socket, one byte every `drip` ms if given, and ends it as asked. */
export function socketSink(socket: Socket, drip: number | undefined, onEnd: () => void): Sink {
  const finish = (ending: Ending) => {
    onEnd();
    if (ending === "fin") socket.end();
    // Once what was written has left, so that the reset comes after it.
    else if (ending === "reset") socket.write(Buffer.alloc(0), () => socket.destroyed || socket.resetAndDestroy());
  };
  if (!drip) return { write: (bytes) => void socket.write(bytes), end: finish };
  let queue: Buffer = Buffer.alloc(0);
  let ending: Ending | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const tick = () => {
    timer = undefined;
    if (socket.destroyed) return;
    if (queue.length > 0) {
      socket.write(queue.subarray(0, 1));
      queue = queue.subarray(1);
      timer = setTimeout(tick, drip);
    } else if (ending) finish(ending);
  };
  socket.once("close", () => clearTimeout(timer));
  return {
    write(bytes) {
      queue = Buffer.concat([queue, bytes]);
      timer ??= setTimeout(tick, drip);
    },
    end(last) {
      ending = last;
      timer ??= setTimeout(tick, drip);
    },
  };
}
