/**
 * Heap: the allocator of an object's persistent heap segment.
 *
 * The allocator's own state lives in the segment (page 0), so it is persistent and, under
 * DSM, coherent like any other data. Blocks come in power-of-two size classes (16 B .. 1 GiB)
 * with an 8-byte header; freed blocks go on a free list of their class threaded through
 * their payload — one set of lists per compute server (see "Crash consistency"). A block no
 * larger than a page is aligned to its size, so it never crosses a page boundary: scalar
 * reads inside it touch one page. Larger blocks start on a page boundary.
 *
 * Layout of page 0 (version 2):
 *   0  u32 magic 'HEAP'      4  u32 layout version (2)
 *   8  u32 top (first never-allocated byte; 0: nothing allocated yet, blocks start at START)
 *   12 u32 live blocks
 *   16 + 116 i: slot i (i < SLOTS = 16) of one compute server:
 *     +0 u32 owner lo  +4 u32 owner hi   (64-bit hash of its server id, never 0/0; 0/0: free)
 *     +8 + 4k u32 head of that server's free list of class k (block size 16 << k)
 *   1872 (START): the first block
 * Block: +0 u32 class | USED   +4 u32 reserved   +8 payload
 * Address 0 is never a block: it means "none". An all-zero page 0 is an empty version 2
 * heap: the first allocation writes magic and version (whenever it finds them 0).
 *
 * Version 1 (objects made before): one shared set of lists at 16 + 4k, blocks from 128. It
 * stays version 1: allocations pop its lists or bump top; its frees go on NO list (the block
 * is marked free, the live count drops, the space leaks: heap-check counts such blocks as
 * unlisted free blocks), because a push onto a shared list is what removal cannot survive.
 *
 * Coherence: `alloc` and `free` are several accesses to page 0 (and to the block). Each runs
 * holding page 0 exclusively (MappedSegment.withPageExclusive): no other isiba, in this
 * worker, another worker or another compute server (DSM: the page is WRITE here only), sees
 * or changes the allocator's words in between. Page 0 is never held across a fault: each
 * step reads what it needs and writes the block's page FIRST, so any fault comes before its
 * first write and the step is simply run again (see withPageExclusive).
 *
 * Crash consistency (DESIGN §7a). Word stamps (PageLog) commit the allocator's words in the
 * order they were written. Recovery removes exactly the uncommitted words of one compute
 * server (it died), or of one segment and every later in-flight segment of its server (an
 * abort), keeping every other server's words, committed or in flight. So no server's
 * allocator writes may rest on another server's uncommitted ones in a way removal breaks:
 *   - top only grows, and where to bump is decided from top alone (0: START), never from the
 *     magic: the newest top kept is past every block a kept bump handed out. Removing a
 *     bump leaks its space; it is never handed out twice.
 *   - magic and version: zeros read as version 2, so removing their first writing changes
 *     nothing. Version 1 is never written, only read.
 *   - the live count is shared; a removed step leaves it off by one, which the checker
 *     counts (lost allocations / lost frees) and nothing decides on.
 *   - free lists: a server pushes and pops ONLY its own (its slot), so every word of them
 *     since the claim is its own. Removal takes that server's steps from some point on (a
 *     crash: all its in-flight ones; an abort: one and its later in-flight ones), which
 *     leaves its lists as they were before that point. Shared lists could not survive it:
 *     D pushes F (F.next = H0), H then pushes G (G.next = F); removing D's words leaves
 *     G -> F with F marked USED again and F.next its old payload: a corrupt list, later a
 *     double allocation. (Pops, and pushes after pops, of different servers only leak.)
 *     What recovery must keep for this: a segment of the server that committed after one
 *     that is removed did not build on it (no push of its own on top of a removed push).
 *   - a slot claim (the owner words, written by the server's first free, in the same step as
 *     its first push) is removed together with every push after it, leaving the slot 0/0 with
 *     all heads 0. Servers find their slot by hash and claim the first 0/0 one, so a hole
 *     left by a removed claim is harmless, and a server whose claim was removed claims again.
 *     Two server ids with one hash would share lists (odds 2^-64).
 *   - blocks: a block is freed only after the segment that detached it committed
 *     (DeferredFrees), so a removed free leaves it USED and unreachable: leaked.
 * All slots taken by other servers: this server's frees leak, like version 1's.
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
 * once. An isiba on any compute server still reading the old value (it read a cell,
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
import { breakCurrentSegment } from "../ra-kernel/write-log.js";

const MAGIC = 0x50414548;
const VERSION = 2;
const CLASSES = 27;
const SLOTS = 16;
const SLOT_TABLE = 16;
const SLOT_BYTES = 8 + 4 * CLASSES;
const START = alignUp(SLOT_TABLE + SLOTS * SLOT_BYTES, 16);
const V1_FREE_LISTS = 16;
const V1_START = alignUp(V1_FREE_LISTS + 4 * CLASSES, 16);
const BLOCK_HEADER = 8;
const USED = 0x8000_0000;

/** The compute server Heaps made without one allocate for (setAllocatorServer). */
let allocatorServer = "local";

/** Names the compute server this process (worker) allocates for: once, before any free. */
export function setAllocatorServer(id: string): void {
  allocatorServer = id;
}

/** A free-list slot of page 0 to push on: its offset, and whether this step claims it. */
interface Slot {
  at: number;
  claim: boolean;
}

export class Heap {
  /** Index of this server's slot when last found (re-checked before each use: a claim can be removed). */
  private slotHint = -1;

  /** `server`: whose free lists this Heap uses (default: setAllocatorServer's, "local" if never set). */
  constructor(readonly mem: MappedSegment, private readonly server?: string) {}

  /** Allocates a block with room for `size` payload bytes; returns the payload address. */
  alloc(size: number): number {
    return this.mem.withPageExclusive(0, () => this.allocHeld(size));
  }

  /**
   * Returns a block (by payload address) to this server's free list: inside an invocation
   * once its segment has committed (DeferredFrees), at once outside one.
   */
  free(payload: number): void {
    deferFree(() => this.freeNow(payload));
  }

  /** Returns a block to this server's free list now. */
  freeNow(payload: number): void {
    this.mem.withPageExclusive(0, () => this.freeHeld(payload));
  }

  /** Payload capacity of an allocated block. */
  capacity(payload: number): number {
    return (16 << (this.mem.u32(payload - BLOCK_HEADER) & ~USED)) - BLOCK_HEADER;
  }

  /** Blocks currently allocated (0 for an empty heap). */
  liveBlocks(): number {
    return this.mem.u32(12);
  }

  // Reads first, then the block's page, then page 0: any fault comes before the first write.
  private allocHeld(size: number): number {
    const k = classFor(size + BLOCK_HEADER);
    const v1 = this.isVersion1();
    const list = v1 ? V1_FREE_LISTS + 4 * k : this.listOf(this.findSlot(false), k);
    const head = list !== 0 ? this.mem.u32(list) : 0;
    const block = head !== 0 ? head : this.bumpAddress(k, v1);
    if (head !== 0) this.checkFree(block, k);
    const next = head !== 0 ? this.mem.u32(block + BLOCK_HEADER) : 0;
    this.mem.setU32(block, k | USED);
    if (this.mem.u32(0) === 0) this.format();
    if (head !== 0) this.mem.setU32(list, next);
    else this.mem.setU32(8, block + (16 << k));
    this.mem.setU32(12, this.mem.u32(12) + 1);
    return block + BLOCK_HEADER;
  }

  private freeHeld(payload: number): void {
    const block = payload - BLOCK_HEADER;
    const word = this.mem.u32(block);
    if ((word & USED) === 0) throw new Error(`heap corruption: double free of block at ${block}`);
    const k = word & ~USED;
    const slot = this.isVersion1() ? null : this.findSlot(true);
    const list = this.listOf(slot, k);
    const head = list !== 0 ? this.mem.u32(list) : 0;
    this.mem.setU32(block, k);
    if (list !== 0) this.mem.setU32(payload, head);
    if (slot?.claim) this.claim(slot.at);
    if (list !== 0) this.mem.setU32(list, block);
    this.mem.setU32(12, this.mem.u32(12) - 1);
  }

  /**
   * A block popped from a free list of class k must be marked free, of class k: otherwise the
   * list is corrupt, and handing the block out would give one block to two values. Refused
   * before any write, and the invocation's segment is aborted rather than committed (its
   * writes so far may rest on the corrupt list).
   */
  private checkFree(block: number, k: number): void {
    const word = this.mem.u32(block);
    if (word === k) return;
    const why = `heap corruption: the free list of class ${k} holds block ${block}, whose header is ${word.toString(16)} (${(word & USED) !== 0 ? "in use" : `class ${word}`})`;
    breakCurrentSegment(why);
    throw new Error(why);
  }

  private isVersion1(): boolean {
    return this.mem.u32(0) === MAGIC && this.mem.u32(4) === 1;
  }

  /** The offset of the head word of class k in `slot` (0: no slot, the free leaks / nothing to pop). */
  private listOf(slot: Slot | null, k: number): number {
    return slot ? slot.at + 8 + 4 * k : 0;
  }

  /**
   * This server's slot; else, if `claim`, the first free one (to claim); else null. Reads
   * only. Without `claim` (an allocation) it stops at the first free slot: slots are claimed
   * in order, so ours is before it — unless a removed claim left a hole: then it bumps.
   */
  private findSlot(claim: boolean): Slot | null {
    const [lo, hi] = ownerHash(this.server ?? allocatorServer);
    if (this.slotHint >= 0 && this.ownerIs(slotAt(this.slotHint), lo, hi)) return { at: slotAt(this.slotHint), claim: false };
    let free = -1;
    for (let i = 0; i < SLOTS; i++) {
      if (this.ownerIs(slotAt(i), lo, hi)) {
        this.slotHint = i;
        return { at: slotAt(i), claim: false };
      }
      if (free < 0 && this.ownerIs(slotAt(i), 0, 0)) {
        if (!claim) return null;
        free = i;
      }
    }
    return free >= 0 ? { at: slotAt(free), claim: true } : null;
  }

  private ownerIs(at: number, lo: number, hi: number): boolean {
    return this.mem.u32(at) === lo && this.mem.u32(at + 4) === hi;
  }

  private claim(at: number): void {
    const [lo, hi] = ownerHash(this.server ?? allocatorServer);
    this.mem.setU32(at, lo);
    this.mem.setU32(at + 4, hi);
    this.slotHint = (at - SLOT_TABLE) / SLOT_BYTES;
  }

  /** Where a new block of class k goes: from top (0: the layout's first block). */
  private bumpAddress(k: number, v1: boolean): number {
    const size = 16 << k;
    const top = this.mem.u32(8) || (v1 ? V1_START : START);
    const block = alignUp(top, Math.min(size, PAGE_SIZE));
    if (block + size > this.mem.maxBytes) throw new RangeError(`persistent heap is full (${this.mem.maxBytes} bytes)`);
    return block;
  }

  private format(): void {
    this.mem.setU32(0, MAGIC);
    this.mem.setU32(4, VERSION);
  }
}

function slotAt(i: number): number {
  return SLOT_TABLE + SLOT_BYTES * i;
}

const hashes = new Map<string, readonly [number, number]>();
const encoder = new TextEncoder();

/** FNV-1a 64 of the server id's UTF-8 bytes, as [lo, hi] u32s; never 0/0 (a free slot). */
export function ownerHash(server: string): readonly [number, number] {
  let hash = hashes.get(server);
  if (!hash) {
    let h = 0xcbf29ce484222325n;
    for (const byte of encoder.encode(server)) h = ((h ^ BigInt(byte)) * 0x100000001b3n) & 0xffff_ffff_ffff_ffffn;
    const lo = Number(h & 0xffff_ffffn), hi = Number(h >> 32n);
    hash = [lo === 0 && hi === 0 ? 1 : lo, hi];
    hashes.set(server, hash);
  }
  return hash;
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
