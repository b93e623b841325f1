/**
 * HeapAllocWorker: the body of a worker thread that allocates and frees in a shared heap
 * segment (frames pre-installed WRITE by the test, so it never faults), to race two isibas'
 * allocators (test/objects/heap-coherence.test.ts). Each block is filled with the worker's
 * tag and checked before it is freed and at the end: a block handed out twice shows up as
 * another worker's bytes. Reports the blocks it still holds.
 */
import { parentPort, workerData } from "node:worker_threads";
import { MappedSegment, type PageFaulter } from "../../ra-kernel/mapped-segment.js";
import type { SegmentShare } from "../../ra-kernel/segment-frames.js";
import { Heap } from "../../objects/heap.js";

export interface HeapAllocTask {
  heap: SegmentShare;
  tag: number;
  rounds: number;
  seed: number;
}

export interface HeapAllocReport {
  held: number[];
  bad: string[];
}

const refuse: PageFaulter = {
  fault(segment, page) {
    throw new Error(`heap-alloc-worker: unexpected fault of ${segment} page ${page}`);
  },
};

function run(t: HeapAllocTask): HeapAllocReport {
  const heap = new Heap(new MappedSegment(t.heap, refuse));
  const held: { addr: number; size: number }[] = [];
  const bad: string[] = [];
  let seed = t.seed;
  const check = (b: { addr: number; size: number }): void => {
    const bytes = heap.mem.read(b.addr, b.size);
    if (bytes.some((x) => x !== t.tag) && bad.length < 5) bad.push(`block ${b.addr} (${b.size} B) holds another's bytes`);
  };
  for (let i = 0; i < t.rounds; i++) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    if (held.length > 0 && seed % 3 === 0) {
      const b = held.splice(seed % held.length, 1)[0];
      check(b);
      heap.free(b.addr);
    } else {
      const size = 1 + (seed % 200);
      const addr = heap.alloc(size);
      heap.mem.write(addr, new Uint8Array(size).fill(t.tag));
      held.push({ addr, size });
    }
  }
  held.forEach(check);
  return { held: held.map((b) => b.addr), bad };
}

parentPort!.postMessage(run(workerData as HeapAllocTask));
