/**
 * Heap: the allocator of an object's persistent heap segment.
 *
 * The allocator's own state lives in the segment (page 0), so it is persistent and, under
 * DSM, coherent like any other data. Blocks come in power-of-two size classes (16 B .. 1 GiB)
 * with an 8-byte header; freed blocks go on a per-class free list threaded through their
 * payload. A block no larger than a page is aligned to its size, so it never crosses a page
 * boundary: scalar reads inside it touch one page. Larger blocks start on a page boundary.
 *
 * Layout of page 0:
 *   0  u32 magic 'HEAP'      4  u32 layout version
 *   8  u32 top (first never-allocated byte)     12 u32 live blocks
 *   16 + 4k  u32 head of the free list of class k (block size 16 << k)
 * Block: +0 u32 class | USED   +4 u32 reserved   +8 payload
 * Address 0 is never a block: it means "none".
 *
 * Coherence: `alloc` and `free` are several accesses to page 0 (and to the block). Each runs
 * holding page 0 exclusively (MappedSegment.withPageExclusive): no other isiba, in this
 * worker, another worker or another compute server (DSM: the page is WRITE here only), sees
 * or changes the free lists in between, so two isibas allocating in one object at once
 * cannot corrupt them. Page 0 is never held across a fault: each of them reads what it
 * needs and writes the block's page FIRST, so any fault comes before its first write and
 * the step is simply run again (see withPageExclusive).
 *
 * Crash consistency (DESIGN §7a): the allocator's words are written by every allocating
 * invocation, so they are the one place where race-free programs share bytes; word stamps
 * (PageLog) commit them in the order they were written, so a crash of an allocating
 * invocation leaks its blocks at worst, never hands one out twice. A block is freed only
 * after the segment that detached it has committed (DeferredFrees, run by the isiba once its
 * commit was answered): until then the durable state may still point at it. A crash in
 * between leaks it.
 *
 * Reclamation: a block is freed when the cell owning it is overwritten or removed. A
 * string, bigint, bytes or reference block goes back on its free list at once (its value
 * was decoded into a JS value when read). A container (array, object, Map, Set) removed
 * during an invocation is freed when the invocation ends (DeferredFrees, queued per
 * invocation, run by the isiba once the result is plain, also when the entry threw): views
 * of it read before the removal stay readable until then. An isiba that dies before that
 * leaks the queued blocks (never corrupts the heap).
 *
 * What remains (documented, not enforced): a freed block goes back on its free list at
 * once. An isiba on another compute server still reading the old value (it read a cell,
 * then reads the block in a second access) may then read a reused block: it sees other
 * bytes, never a torn cell, and cannot corrupt the heap; containers carry a serial in their
 * cell and header so such a reader gets a stale-view error instead of another container.
 * Values overwritten under concurrent readers need the object's locks for a consistent read.
 * Structural edits of one container by two isibas at once (say two `shift`s on different
 * compute servers without a lock) may each free the same removed cell: the second free is
 * caught ("double free") unless the block was reused in between. Hold a lock.
 */
import type { MappedSegment } from "../ra-kernel/mapped-segment.js";
import { PAGE_SIZE } from "../ra-kernel/ids.js";
import { deferFree } from "./deferred-frees.js";

const MAGIC = 0x50414548;
const VERSION = 1;
const CLASSES = 27;
const FREE_LISTS = 16;
const HEADER_END = FREE_LISTS + 4 * CLASSES;
const BLOCK_HEADER = 8;
const USED = 0x8000_0000;

export class Heap {
  constructor(readonly mem: MappedSegment) {}

  /** Allocates a block with room for `size` payload bytes; returns the payload address. */
  alloc(size: number): number {
    return this.mem.withPageExclusive(0, () => this.allocHeld(size));
  }

  /**
   * Returns a block (by payload address) to its free list: inside an invocation once its
   * segment has committed (DeferredFrees), at once outside one.
   */
  free(payload: number): void {
    deferFree(() => this.freeNow(payload));
  }

  /** Returns a block to its free list now. */
  freeNow(payload: number): void {
    this.mem.withPageExclusive(0, () => this.freeHeld(payload));
  }

  // Reads first, then the block's page, then page 0: any fault comes before the first write.
  private allocHeld(size: number): number {
    const k = classFor(size + BLOCK_HEADER);
    const formatted = this.mem.u32(0) === MAGIC;
    const head = formatted ? this.mem.u32(FREE_LISTS + 4 * k) : 0;
    const block = head !== 0 ? head : this.bumpAddress(k, formatted ? this.mem.u32(8) : alignUp(HEADER_END, 16));
    const next = head !== 0 ? this.mem.u32(block + BLOCK_HEADER) : 0;
    this.mem.setU32(block, k | USED);
    if (!formatted) this.format();
    if (head !== 0) this.mem.setU32(FREE_LISTS + 4 * k, next);
    else this.mem.setU32(8, block + (16 << k));
    this.mem.setU32(12, this.mem.u32(12) + 1);
    return block + BLOCK_HEADER;
  }

  private freeHeld(payload: number): void {
    const block = payload - BLOCK_HEADER;
    const word = this.mem.u32(block);
    if ((word & USED) === 0) throw new Error(`heap corruption: double free of block at ${block}`);
    const k = word & ~USED;
    const head = this.mem.u32(FREE_LISTS + 4 * k);
    this.mem.setU32(block, k);
    this.mem.setU32(payload, head);
    this.mem.setU32(FREE_LISTS + 4 * k, block);
    this.mem.setU32(12, this.mem.u32(12) - 1);
  }

  /** Payload capacity of an allocated block. */
  capacity(payload: number): number {
    return (16 << (this.mem.u32(payload - BLOCK_HEADER) & ~USED)) - BLOCK_HEADER;
  }

  /** Blocks currently allocated (0 for an empty heap). */
  liveBlocks(): number {
    return this.mem.u32(0) === MAGIC ? this.mem.u32(12) : 0;
  }

  /** Where a new block of class k goes, given the heap's top. */
  private bumpAddress(k: number, top: number): number {
    const size = 16 << k;
    const block = alignUp(top, Math.min(size, PAGE_SIZE));
    if (block + size > this.mem.maxBytes) throw new RangeError(`persistent heap is full (${this.mem.maxBytes} bytes)`);
    return block;
  }

  private format(): void {
    this.mem.setU32(0, MAGIC);
    this.mem.setU32(4, VERSION);
  }
}

function classFor(bytes: number): number {
  let k = 0;
  while (k < CLASSES && 16 * 2 ** k < bytes) k++;
  if (k >= CLASSES) throw new RangeError(`cannot allocate ${bytes} bytes in the persistent heap (largest block: ${16 * 2 ** (CLASSES - 1)} bytes)`);
  return k;
}

function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}
