/**
 * SegmentFrames: a compute server's page table for one segment, in shared memory.
 *
 * The kernel thread owns one growable SharedArrayBuffer per cached segment, `table`, with one
 * 32-byte record per page (page p's at byte p * 32; see the W_* word indexes):
 *   - state:    the page's PageState (Int32).
 *   - pin:      the number of reading accessors in the page, plus PIN_WRITER while one writing
 *               accessor holds it exclusively.
 *   - writers:  commit segments on this server that wrote the page and are not committed yet
 *               (WriteLog adds, the kernel subtracts after the commit).
 *   - slot:     where the page's bytes are: slot s of the FramePool's arena holds them at
 *               (s - 1) * PAGE_SIZE; 0 while the page has no frame.
 *   - accessed: set by an accessor that enters the page (the MMU's accessed bit); read and
 *               cleared by the kernel's working-set sweep (PageCache).
 *   - returning: accessors that held the page exclusively, let it go to fault in another
 *               page, and will take it again (MappedSegment.withPageExclusive): a recall
 *               waits a little for them (DsmClient), or servers sharing the page take it
 *               from each other at every step (the heap allocator's page 0).
 *   - stamp:    a Float64 write stamp (see PageLog): raised by one for each write, by the isiba
 *               holding the page with PIN_WRITER; set by the kernel from a grant.
 * One buffer, not one per field, and the bytes in a pool shared by every segment: a cached
 * segment costs one address-space reservation of 32 bytes per page it may grow to, and memory
 * only for the pages present. The table and the pool's arena are shared with every isiba
 * worker (`share()`); workers never grow them. `logged` is false for frames whose writes are
 * never committed (volatile heaps).
 *
 * The pin protocol (the MMU side is in MappedSegment):
 *   - an accessor pins its pages first (reader: +1, refused while PIN_WRITER is set; writer:
 *     0 -> PIN_WRITER), THEN checks the state; too low: unpin, fault, start over. It never
 *     holds a pin across a fault, and holds one for the length of one access only. The slot
 *     it reads after seeing the state is the page's (see install).
 *   - the kernel does the opposite: it lowers the state first, THEN waits for the pins that
 *     the old state allowed to drain (`lower`). With sequentially consistent Atomics, either
 *     the accessor sees the new state or the kernel sees its pin: no accessor is ever in a
 *     page with rights the page no longer has.
 *
 * Rules:
 *   - page states are changed only by the kernel thread (Atomics.store). Raising: `setState`
 *     or `install`. Lowering under running isibas: `lower`, awaited before the bytes are
 *     copied or replaced (`setState`/`invalidateAll` lower without waiting).
 *   - frame bytes are written by the kernel only in `install`, only while the page is
 *     INVALID and quiesced (`lower(page, INVALID)` resolved, or never mapped): install takes a
 *     slot if the page has none, writes the bytes, then publishes the state. A page's slot
 *     changes only while it is INVALID and quiesced: `evict` gives it back to the pool.
 *     Isibas write frame bytes only of pages they hold with PIN_WRITER in WRITE state.
 *   - `copyPage` gives a whole (untorn) page only while no writer can be in it: after
 *     `lower(page, READ)` (or INVALID) resolved. Readers may still be in; they change nothing.
 */
import createDebug from "debug";
import { PAGE_SHIFT, PAGE_SIZE, type PageNo, type SysName } from "./ids.js";
import { PageState } from "./page-state.js";
import { PageLog } from "./page-log.js";
import { FramePool } from "./frame-pool.js";

const log = createDebug("ra:frames");

/** Pin word bit: one writing accessor holds the page (the low bits count readers). */
export const PIN_WRITER = 1 << 30;

/** Int32 words per page record, as a shift (8 words: 32 bytes). */
export const RECORD_SHIFT = 3;
/** Word indexes inside a page's record (see the header). */
export const W_STATE = 0;
export const W_PIN = 1;
export const W_WRITERS = 2;
export const W_SLOT = 3;
export const W_ACCESSED = 4;
export const W_RETURNING = 5;
/** The stamp's index in a Float64Array over the table is page * 4 + F_STAMP (words 6 and 7). */
export const F_STAMP = 3;
const RECORD_BYTES = 4 << RECORD_SHIFT;

/** The index of word `w` (W_*) of page `page`'s record in an Int32Array over a table. */
export function recordAt(page: PageNo, w: number): number {
  return (page << RECORD_SHIFT) + w;
}

/** Tables up to this size are allocated whole, not grown (a data segment's: 8 KiB). */
const FIXED_TABLE_BYTES = 16 * 1024;

/** Synchronous checks of a pin word before `lower` falls back to polling. */
const DRAIN_SPINS = 2000;
/** How long a page may stay pinned before `lower` says so in the log (ms). */
const DRAIN_WARN_MS = 1000;

/** What an isiba needs to map the segment: posted once per worker. */
export interface SegmentShare {
  sysname: SysName;
  /** The page records (see the header). */
  table: SharedArrayBuffer;
  /** The FramePool's arena the slots index. */
  frames: SharedArrayBuffer;
  maxPages: number;
  logged: boolean;
  /** The receiving worker's number for this segment in its WriterLedger (set by the pool). */
  ledgerId?: number;
}

export class SegmentFrames {
  readonly table: SharedArrayBuffer;
  // Fixed-length views, remade when the kernel grows the buffers: length-tracking views are
  // several times slower to index in V8, and only this class grows the table.
  private words!: Int32Array;
  private stampTable!: Float64Array;
  private pages = 0;
  private u8!: Uint8Array;

  constructor(
    readonly sysname: SysName,
    readonly maxPages: number,
    readonly logged = true,
    /** Where the pages' bytes live: the kernel's shared pool, or frames of their own. */
    readonly pool: FramePool = FramePool.private(maxPages),
  ) {
    // A small table is allocated whole (from the malloc heap: no mapping of its own); a large
    // one reserves its address space and grows (two mappings: the kernel's map count is finite).
    const full = maxPages * RECORD_BYTES;
    this.table = full <= FIXED_TABLE_BYTES ? new SharedArrayBuffer(full) : new SharedArrayBuffer(RECORD_BYTES, { maxByteLength: full });
    this.remap();
  }

  share(): SegmentShare {
    const { sysname, table, maxPages, logged } = this;
    return { sysname, table, frames: this.pool.bytes, maxPages, logged };
  }

  /** The page records as Int32 words (diagnostics and tests: index with `recordAt`). */
  records(): Int32Array {
    return this.words;
  }

  /** The page's frame in the arena, writable (diagnostics and tests); empty if it has none. */
  frameView(page: PageNo): Uint8Array {
    const slot = this.slotOf(page);
    if (slot === 0) return new Uint8Array(0);
    const offset = this.offsetOf(slot);
    return this.u8.subarray(offset, offset + PAGE_SIZE);
  }

  /** Pages the table spans (present or not). */
  get spanPages(): number {
    return this.pages;
  }

  state(page: PageNo): number {
    return page < this.pages ? Atomics.load(this.words, (page << RECORD_SHIFT) + W_STATE) : PageState.INVALID;
  }

  /** The page's pin word (readers + PIN_WRITER), for tests and diagnostics. */
  pinned(page: PageNo): number {
    return page < this.pages ? Atomics.load(this.words, (page << RECORD_SHIFT) + W_PIN) : 0;
  }

  /** Whether an accessor let the page go to fault another and will take it again (see the header). */
  returning(page: PageNo): boolean {
    return page < this.pages && Atomics.load(this.words, (page << RECORD_SHIFT) + W_RETURNING) > 0;
  }

  /** The page's write stamp: the last write's (PageLog). */
  stamp(page: PageNo): number {
    return page < this.pages ? this.stampTable[(page << 2) + F_STAMP] : 0;
  }

  /** Raises the page's write stamp to at least `stamp` (a grant carries the page's stamp). */
  raiseStamp(page: PageNo, stamp: number): void {
    this.ensureSpan(page);
    const at = (page << 2) + F_STAMP;
    if (this.stampTable[at] < stamp) this.stampTable[at] = stamp;
  }

  /** Commit segments here that wrote the page and are not committed yet. */
  writersOf(page: PageNo): number {
    return page < this.pages ? Atomics.load(this.words, (page << RECORD_SHIFT) + W_WRITERS) : 0;
  }

  /** One more commit segment wrote the page (what WriteLog does in an isiba; tests, diagnostics). */
  addWriter(page: PageNo): void {
    this.ensureSpan(page);
    Atomics.add(this.words, (page << RECORD_SHIFT) + W_WRITERS, 1);
  }

  /**
   * The kernel itself wrote the whole page (diagnostics): counts it as a writer and returns
   * its PageLog, stamped above the page's stamp, ready to commit.
   */
  logWholePage(page: PageNo): Uint8Array {
    this.addWriter(page);
    const stamp = ++this.stampTable[(page << 2) + F_STAMP];
    return PageLog.ofPage(this.copyPage(page), stamp).encode();
  }

  /** A segment that wrote these pages committed (or was given up): one writer less each. */
  writersDone(pages: PageNo[]): void {
    for (const p of pages) if (p < this.pages) Atomics.sub(this.words, (p << RECORD_SHIFT) + W_WRITERS, 1);
  }

  /** The page's frame slot in the pool (0: it has none). */
  slotOf(page: PageNo): number {
    return page < this.pages ? this.words[(page << RECORD_SHIFT) + W_SLOT] : 0;
  }

  /** Whether an accessor entered the page since the last takeAccessed (the bit stays). */
  accessed(page: PageNo): boolean {
    return page < this.pages && this.words[(page << RECORD_SHIFT) + W_ACCESSED] !== 0;
  }

  /** Whether an accessor entered the page since the last call; clears the bit (the working-set sweep). */
  takeAccessed(page: PageNo): boolean {
    if (page >= this.pages) return false;
    const at = (page << RECORD_SHIFT) + W_ACCESSED;
    if (this.words[at] === 0) return false;
    this.words[at] = 0;
    return true;
  }

  /**
   * Copies a page into its frame (null: a never-written page, zeros) and publishes `state`.
   * Only for a page that is INVALID and quiesced (see the rules above); takes a frame slot
   * from the pool if the page has none.
   */
  install(page: PageNo, bytes: Uint8Array | null, state: number): void {
    this.ensureSpan(page);
    const at = page << RECORD_SHIFT;
    let slot = this.words[at + W_SLOT];
    if (slot === 0) Atomics.store(this.words, at + W_SLOT, (slot = this.pool.take(this, page)));
    const offset = this.offsetOf(slot);
    if (bytes) this.u8.set(bytes.subarray(0, PAGE_SIZE), offset);
    else this.u8.fill(0, offset, offset + PAGE_SIZE);
    Atomics.store(this.words, at + W_STATE, state);
  }

  /**
   * Gives the page's frame back to the pool. Only for a page that is INVALID and quiesced
   * (`lower(page, INVALID)` resolved): nobody can be in it, and nobody finds its old slot.
   * False (nothing done) if it is mapped or pinned after all (an accessor that died inside).
   */
  evict(page: PageNo): boolean {
    if (page >= this.pages) return true;
    const at = page << RECORD_SHIFT;
    const slot = this.words[at + W_SLOT];
    if (slot === 0) return true;
    if (Atomics.load(this.words, at + W_STATE) !== PageState.INVALID || Atomics.load(this.words, at + W_PIN) !== 0) return false;
    Atomics.store(this.words, at + W_SLOT, 0);
    this.words[at + W_ACCESSED] = 0;
    this.pool.give(slot);
    return true;
  }

  /** Gives every frame back (the segment is forgotten here; its pages INVALID and quiesced); how many could not be. */
  evictAll(): number {
    let kept = 0;
    for (let p = 0; p < this.pages; p++) if (!this.evict(p)) kept++;
    return kept;
  }

  /** Sets a page's state without waiting for accessors: for raising it (a granted upgrade). */
  setState(page: PageNo, state: number): void {
    if (page >= this.pages) return;
    if (state > PageState.INVALID && this.slotOf(page) === 0) throw new Error(`page ${page} of ${this.sysname} has no frame to map`);
    Atomics.store(this.words, (page << RECORD_SHIFT) + W_STATE, state);
  }

  /**
   * Lowers a page's state to `state` (invalidate, downgrade) if it is above, then resolves
   * once no accessor holds the page with rights above `state`: no writer for READ, no
   * accessor at all for INVALID. Any accessor that pins the page afterwards sees the new
   * state. The bytes stay until reinstalled or evicted.
   */
  lower(page: PageNo, state: number): Promise<void> {
    if (page >= this.pages) return Promise.resolve();
    const at = (page << RECORD_SHIFT) + W_STATE;
    if (Atomics.load(this.words, at) > state) Atomics.store(this.words, at, state);
    const busy = pinsAbove(state);
    return this.drained(page, busy) ? Promise.resolve() : this.untilDrained(page, busy);
  }

  /** Lets go of the writer pin of an accessor that will never release it (its worker died). */
  releaseDeadWriter(page: PageNo): void {
    const at = (page << RECORD_SHIFT) + W_PIN;
    if ((Atomics.load(this.words, at) & PIN_WRITER) !== 0) Atomics.sub(this.words, at, PIN_WRITER);
  }

  /** A copy of a page's bytes (for write-back); lower it to READ first if isibas may write it. Zeros if it has no frame. */
  copyPage(page: PageNo): Uint8Array {
    const slot = this.slotOf(page);
    if (slot === 0) return new Uint8Array(PAGE_SIZE);
    const offset = this.offsetOf(slot);
    return this.u8.slice(offset, offset + PAGE_SIZE);
  }

  /** Every page whose state is at least `min`. */
  pagesAtLeast(min: number): PageNo[] {
    const out: PageNo[] = [];
    for (let p = 0; p < this.pages; p++) if (Atomics.load(this.words, (p << RECORD_SHIFT) + W_STATE) >= min) out.push(p);
    return out;
  }

  /** Drops every cached page (e.g. the home restarted), without waiting for accessors. */
  invalidateAll(): void {
    for (let p = 0; p < this.pages; p++) Atomics.store(this.words, (p << RECORD_SHIFT) + W_STATE, PageState.INVALID);
  }

  /** The byte offset of a slot's frame in the arena, remapping if the pool grew since. */
  private offsetOf(slot: number): number {
    const offset = (slot - 1) << PAGE_SHIFT;
    if (offset + PAGE_SIZE > this.u8.length) this.u8 = new Uint8Array(this.pool.bytes, 0, this.pool.bytes.byteLength);
    return offset;
  }

  /** Checks the pin word a bounded number of times: pins are held for nanoseconds. */
  private drained(page: PageNo, busy: number): boolean {
    const at = (page << RECORD_SHIFT) + W_PIN;
    for (let i = 0; i < DRAIN_SPINS; i++) if ((Atomics.load(this.words, at) & busy) === 0) return true;
    return false;
  }

  /** Polls between event-loop turns, so the kernel thread is never blocked for long. */
  private untilDrained(page: PageNo, busy: number): Promise<void> {
    const since = Date.now();
    let warned = false;
    return new Promise((resolve) => {
      const poll = (): void => {
        if (this.drained(page, busy)) return resolve();
        if (!warned && Date.now() - since > DRAIN_WARN_MS) {
          warned = true;
          log("page %d of %s still pinned (%s) after %d ms: did an isiba die mid-access?", page, this.sysname, this.pinned(page).toString(16), DRAIN_WARN_MS);
        }
        setImmediate(poll);
      };
      setImmediate(poll);
    });
  }

  private ensureSpan(page: PageNo): void {
    if (page >= this.maxPages) throw new RangeError(`page ${page} is past the end of segment ${this.sysname} (${this.maxPages} pages)`);
    if (page < this.pages) return;
    const pages = Math.min(this.maxPages, Math.max(page + 1, this.pages * 2));
    this.table.grow(pages * RECORD_BYTES);
    this.remap();
  }

  private remap(): void {
    this.pages = this.table.byteLength / RECORD_BYTES;
    this.words = new Int32Array(this.table, 0, this.pages << RECORD_SHIFT);
    this.stampTable = new Float64Array(this.table, 0, this.pages << 2);
    this.u8 = new Uint8Array(this.pool.bytes, 0, this.pool.bytes.byteLength);
  }
}

/** The pin bits that hold rights a page in `state` no longer grants. */
function pinsAbove(state: number): number {
  if (state >= PageState.WRITE) return 0;
  return state >= PageState.READ ? PIN_WRITER : -1;
}
