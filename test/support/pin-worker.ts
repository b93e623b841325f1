/**
 * PinWorker: the body of a worker thread that runs object-memory accessors against shared
 * SegmentFrames, so tests can race isibas against each other and against the kernel thread
 * (start one with `startPinWorker`, test/support/pin-workers.ts).
 *
 * Tasks:
 *   access       one accessor call (u32 or setU32), after posting "started"
 *   cell-writer  writes `values` into the cell at `addr` in turn, for `ms`
 *   cell-reader  reads the cell at `addr` for `ms`; any value outside `expect` is "bad"
 * Faults are served by waiting a little and retrying (WaitingFaulter): in these tests the
 * kernel thread restores page states itself, so the worker needs no channel back.
 * Strings are written through a FixedBlockHeap: each writer rewrites one block of its own
 * and never frees, so a race test sees torn cells only, not the heap's own (unsynchronized)
 * allocator.
 */
import { parentPort, workerData } from "node:worker_threads";
import { MappedSegment, type PageFaulter } from "../../ra-kernel/mapped-segment.js";
import type { SegmentShare } from "../../ra-kernel/segment-frames.js";
import { Heap } from "../../objects/heap.js";
import { readCell, writeCell } from "../../objects/value-cell.js";

export type PinTask =
  | { task: "access"; data: SegmentShare; op: "u32" | "setU32"; addr: number; value?: number }
  | { task: "cell-writer"; data: SegmentShare; heap: SegmentShare; addr: number; values: (number | string)[]; block: number; ms: number }
  | { task: "cell-reader"; data: SegmentShare; heap: SegmentShare; addr: number; expect: (number | string)[]; ms: number };

export type PinMessage =
  | { type: "started" }
  | { type: "done"; value?: number; count: number; faults: number; bad: string[] };

/** How many bad values a reader reports (it counts them all). */
const BAD_KEPT = 5;

class WaitingFaulter implements PageFaulter {
  faults = 0;
  private readonly nap = new Int32Array(new SharedArrayBuffer(4));

  fault(): void {
    this.faults++;
    Atomics.wait(this.nap, 0, 0, 0.05);
  }
}

class FixedBlockHeap extends Heap {
  constructor(mem: MappedSegment, private readonly block: number) {
    super(mem);
  }

  override alloc(): number {
    return this.block;
  }

  override free(): void {}
}

function access(t: Extract<PinTask, { task: "access" }>, faults: WaitingFaulter): PinMessage {
  const mem = new MappedSegment(t.data, faults);
  parentPort!.postMessage({ type: "started" } satisfies PinMessage);
  if (t.op === "u32") return { type: "done", value: mem.u32(t.addr), count: 1, faults: faults.faults, bad: [] };
  mem.setU32(t.addr, t.value ?? 0);
  return { type: "done", count: 1, faults: faults.faults, bad: [] };
}

function cellWriter(t: Extract<PinTask, { task: "cell-writer" }>, faults: WaitingFaulter): PinMessage {
  const mem = new MappedSegment(t.data, faults);
  const heap = new FixedBlockHeap(new MappedSegment(t.heap, faults), t.block);
  let count = 0;
  for (const until = Date.now() + t.ms; (count & 255) !== 0 || Date.now() < until; count++) {
    writeCell(mem, heap, t.addr, t.values[count % t.values.length]);
  }
  return { type: "done", count, faults: faults.faults, bad: [] };
}

function cellReader(t: Extract<PinTask, { task: "cell-reader" }>, faults: WaitingFaulter): PinMessage {
  const mem = new MappedSegment(t.data, faults);
  const heapMem = new MappedSegment(t.heap, faults);
  const bad: string[] = [];
  let count = 0, badCount = 0;
  for (const until = Date.now() + t.ms; (count & 255) !== 0 || Date.now() < until; count++) {
    const seen = readSafely(mem, heapMem, t.addr);
    if (t.expect.some((v) => Object.is(v, seen))) continue;
    if (badCount++ < BAD_KEPT) bad.push(String(seen));
  }
  return { type: "done", count, faults: faults.faults, bad: badCount > BAD_KEPT ? [...bad, `(${badCount} bad in all)`] : bad };
}

function readSafely(mem: MappedSegment, heapMem: MappedSegment, addr: number): unknown {
  try {
    return readCell(mem, heapMem, addr);
  } catch (err) {
    return `threw: ${(err as Error).message}`;
  }
}

function run(t: PinTask): PinMessage {
  const faults = new WaitingFaulter();
  switch (t.task) {
    case "access": return access(t, faults);
    case "cell-writer": return cellWriter(t, faults);
    case "cell-reader": return cellReader(t, faults);
  }
}

parentPort!.postMessage(run(workerData as PinTask));
