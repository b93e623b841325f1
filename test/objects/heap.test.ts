import { expect } from "chai";
import { Heap } from "../../objects/heap.js";
import { PAGE_SIZE } from "../../ra-kernel/ids.js";
import { SyncFaulter } from "../support/sync-faulter.js";
import { newSegment, type TestSegment } from "../support/object-memory.js";
import { runWithDeadline } from "../support/run-with-deadline.js";

const HEADER = 8;

describe("Heap", () => {
  let faulter: SyncFaulter;
  let seg: TestSegment;
  let heap: Heap;

  beforeEach(() => {
    faulter = new SyncFaulter();
    seg = newSegment(faulter, 1024);
    heap = new Heap(seg.mem);
  });

  /** [start, end) of the whole block (header included) of a payload address. */
  function blockOf(payload: number): [number, number] {
    return [payload - HEADER, payload + heap.capacity(payload)];
  }

  /** 300 allocations of sizes 1 .. 6000 from a fixed pseudo-random sequence. */
  function allocateMany(): number[] {
    const out: number[] = [];
    let seed = 12345;
    for (let i = 0; i < 300; i++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      out.push(heap.alloc(1 + (seed % 6000)));
    }
    return out;
  }

  it("should report no live blocks for a fresh heap", () => {
    expect(heap.liveBlocks()).to.equal(0);
  });

  it("should give each allocation at least the room asked for, in a power-of-two block", () => {
    const p = heap.alloc(100);
    expect(heap.capacity(p)).to.equal(128 - HEADER);
    expect(heap.capacity(heap.alloc(1))).to.equal(16 - HEADER);
    expect(heap.capacity(heap.alloc(4088))).to.equal(4096 - HEADER);
    expect(heap.capacity(heap.alloc(4089))).to.equal(8192 - HEADER);
  });

  it("should never hand out overlapping blocks, nor blocks over the allocator's header", () => {
    const blocks = allocateMany().map(blockOf).sort((a, b) => a[0] - b[0]);
    expect(blocks[0][0]).to.be.at.least(16 + 4 * 27);
    for (let i = 1; i < blocks.length; i++) {
      expect(blocks[i][0], `block ${i} starts inside block ${i - 1}`).to.be.at.least(blocks[i - 1][1]);
    }
  });

  it("should never let a block of at most a page cross a page boundary", () => {
    const small = allocateMany().map(blockOf).filter(([start, end]) => end - start <= PAGE_SIZE);
    expect(small.length).to.be.greaterThan(100);
    for (const [start, end] of small) {
      expect(Math.floor(start / PAGE_SIZE), `block [${start}, ${end})`).to.equal(Math.floor((end - 1) / PAGE_SIZE));
    }
  });

  it("should reuse a freed block for the next allocation of the same class", () => {
    const a = heap.alloc(100);
    const b = heap.alloc(100);
    heap.free(a);
    heap.free(b);
    expect(heap.alloc(120)).to.equal(b);
    expect(heap.alloc(65)).to.equal(a);
    expect(heap.alloc(100)).to.not.be.oneOf([a, b]);
  });

  it("should not reuse a freed block for another class", () => {
    const a = heap.alloc(100);
    heap.free(a);
    expect(heap.alloc(10)).to.not.equal(a);
    expect(heap.alloc(300)).to.not.equal(a);
  });

  it("should count live blocks through allocations and frees", () => {
    const ps = [heap.alloc(10), heap.alloc(1000), heap.alloc(30_000)];
    expect(heap.liveBlocks()).to.equal(3);
    heap.free(ps[1]);
    expect(heap.liveBlocks()).to.equal(2);
    heap.alloc(1000);
    expect(heap.liveBlocks()).to.equal(3);
  });

  it("should keep its state in the segment, so another Heap over it carries on", () => {
    const a = heap.alloc(50);
    heap.alloc(50);
    heap.free(a);
    const again = new Heap(seg.mem);
    expect(again.liveBlocks()).to.equal(1);
    expect(again.alloc(50)).to.equal(a);
  });

  it("should start a block larger than a page on a page boundary and round-trip its bytes", () => {
    heap.alloc(10);
    const p = heap.alloc(20 * 1024);
    const bytes = Uint8Array.from({ length: 20 * 1024 }, (_, i) => (i * 7 + 3) & 0xff);
    seg.mem.write(p, bytes);
    expect((p - HEADER) % PAGE_SIZE).to.equal(0);
    expect(heap.capacity(p)).to.be.at.least(20 * 1024);
    expect(Math.floor((p + bytes.length - 1) / PAGE_SIZE) - Math.floor(p / PAGE_SIZE)).to.equal(5);
    expect(seg.mem.read(p, bytes.length)).to.deep.equal(bytes);
  });

  it("should throw on a double free", () => {
    const p = heap.alloc(40);
    heap.free(p);
    expect(() => heap.free(p)).to.throw(Error, /double free/);
    expect(heap.liveBlocks()).to.equal(0);
  });

  it("should throw a RangeError when the segment is full", () => {
    const small = new Heap(newSegment(faulter, 2).mem);
    small.alloc(3000);
    expect(() => small.alloc(5000)).to.throw(RangeError, /persistent heap is full \(8192 bytes\)/);
    expect(small.liveBlocks()).to.equal(1);
  });

  it("should fault in only the pages it touches", () => {
    const p = heap.alloc(1024 * 1024);
    seg.mem.write(p + 1024 * 1024 - 8, new Uint8Array(8).fill(9));
    const blockPage = Math.floor((p - HEADER) / PAGE_SIZE);
    const lastPage = Math.floor((p + 1024 * 1024 - 1) / PAGE_SIZE);
    expect(lastPage - blockPage).to.equal(256);
    expect(faulter.pagesFaulted(seg.sysname)).to.deep.equal([0, blockPage, lastPage]);
  });

  // Regression (found and fixed): objects/heap.ts classFor (line 87): `16 << k` overflows int32 at k = 27 (and wraps
  // at k = 32), so for more than 1 GiB - 8 bytes the loop never ends and alloc hangs the
  // thread instead of throwing "cannot allocate ... bytes" (the check on line 88 is never
  // reached). Should compare against 2 ** (k + 4) or stop at CLASSES.
  it("should throw a RangeError for an allocation beyond the largest class (1 GiB)", async () => {
    const outcome = await runWithDeadline(
      `const { SegmentFrames } = require(distRoot + "/ra-kernel/segment-frames.js");
       const { MappedSegment } = require(distRoot + "/ra-kernel/mapped-segment.js");
       const { Heap } = require(distRoot + "/objects/heap.js");
       const frames = new SegmentFrames("sys:ds1:01ARZ3NDEKTSV4RRFFQ69G5FAV", 16);
       const mem = new MappedSegment(frames.share(), { fault: (s, p, m) => frames.install(p, null, m === "write" ? 2 : 1) });
       try { new Heap(mem).alloc(2 ** 30); parentPort.postMessage("allocated"); }
       catch (err) { parentPort.postMessage(err.name + ": " + err.message); }`,
      3000,
    );
    expect(outcome).to.match(/^RangeError: cannot allocate/);
  });
});
