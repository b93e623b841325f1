import * as path from "node:path";
import { Worker } from "node:worker_threads";
import { expect } from "chai";
import { Heap } from "../../objects/heap.js";
import { PageState } from "../../ra-kernel/page-state.js";
import { SyncFaulter } from "../support/sync-faulter.js";
import { newSegment } from "../support/object-memory.js";
import type { HeapAllocReport, HeapAllocTask } from "../support/heap-alloc-worker.js";

function allocWorker(task: HeapAllocTask): Promise<HeapAllocReport> {
  const worker = new Worker(path.join(__dirname, "../support/heap-alloc-worker.js"), { workerData: task });
  return new Promise((resolve, reject) => {
    worker.on("message", resolve);
    worker.on("error", reject);
  });
}

describe("Heap coherence", () => {
  it("should never hand one block to two isibas allocating and freeing at once", async () => {
    const faulter = new SyncFaulter();
    const seg = newSegment(faulter, 1024);
    for (let p = 0; p < 1024; p++) seg.frames.install(p, null, PageState.WRITE);
    const heap = new Heap(seg.mem);
    heap.free(heap.alloc(8)); // formats page 0
    const share = seg.frames.share();
    const [a, b] = await Promise.all([
      allocWorker({ heap: share, tag: 0xaa, rounds: 8000, seed: 1 }),
      allocWorker({ heap: share, tag: 0x55, rounds: 8000, seed: 2 }),
    ]);
    expect(a.bad, "worker A").to.deep.equal([]);
    expect(b.bad, "worker B").to.deep.equal([]);
    const all = [...a.held, ...b.held];
    expect(new Set(all).size).to.equal(all.length);
    expect(heap.liveBlocks()).to.equal(all.length);
    expect(seg.frames.pinned(0)).to.equal(0);
  });
});
