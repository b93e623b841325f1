/**
 * SegmentFrames: a compute server's page frames for one segment, in shared memory.
 *
 * The kernel thread owns three growable SharedArrayBuffers per cached segment:
 *   - `bytes`:  the segment's pages laid out at their own offsets (page p at p * PAGE_SIZE),
 *               so an isiba reads a field with one DataView access. Pages never fetched
 *               occupy address space only (the OS commits memory when a page is written).
 *   - `states`: the page table, one Int32 PageState per page.
 *   - `pins`:   one Int32 pin word per page: the number of reading accessors in the page,
 *               plus PIN_WRITER while one writing accessor holds it exclusively.
 *   - `stamps`: one Float64 write stamp per page (see PageLog): raised by one for each write,
 *               by the isiba holding the page with PIN_WRITER; set by the kernel from a grant.
 *   - `writers`: one Int32 per page: commit segments on this server that wrote the page and
 *               are not committed yet (WriteLog adds, the kernel subtracts after the commit).
 * All are shared with every isiba worker (`share()`); workers never grow them. The kernel
 * grows `bytes`, `pins`, `stamps`, `writers`, then `states`, so a page inside `states` has
 * its pin word, stamp, writer count and bytes too (MappedSegment relies on it).
 * `logged` is false for frames whose writes are never committed (volatile heaps).
 *
 * The pin protocol (the MMU side is in MappedSegment):
 *   - an accessor pins its pages first (reader: +1, refused while PIN_WRITER is set; writer:
 *     0 -> PIN_WRITER), THEN checks the state; too low: unpin, fault, start over. It never
 *     holds a pin across a fault, and holds one for the length of one access only.
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
 *     INVALID and quiesced (`lower(page, INVALID)` resolved, or never mapped): install writes
 *     the bytes, then publishes the state. Isibas write frame bytes only of pages they hold
 *     with PIN_WRITER in WRITE state.
 *   - `copyPage` gives a whole (untorn) page only while no writer can be in it: after
 *     `lower(page, READ)` (or INVALID) resolved. Readers may still be in; they change nothing.
 */
import createDebug from "debug";
import { PAGE_SHIFT, PAGE_SIZE, type PageNo, type SysName } from "./ids.js";
import { PageState } from "./page-state.js";
import { PageLog } from "./page-log.js";

const log = createDebug("ra:frames");

/** Pin word bit: one writing accessor holds the page (the low bits count readers). */
export const PIN_WRITER = 1 << 30;

/** Synchronous checks of a pin word before `lower` falls back to polling. */
const DRAIN_SPINS = 2000;
/** How long a page may stay pinned before `lower` says so in the log (ms). */
const DRAIN_WARN_MS = 1000;

/** What an isiba needs to map the segment: posted once per worker. */
export interface SegmentShare {
  sysname: SysName;
  bytes: SharedArrayBuffer;
  states: SharedArrayBuffer;
  pins: SharedArrayBuffer;
  stamps: SharedArrayBuffer;
  writers: SharedArrayBuffer;
  maxPages: number;
  logged: boolean;
  /** The receiving worker's number for this segment in its WriterLedger (set by the pool). */
  ledgerId?: number;
}

export class SegmentFrames {
  readonly bytes: SharedArrayBuffer;
  readonly states: SharedArrayBuffer;
  readonly pins: SharedArrayBuffer;
  readonly stamps: SharedArrayBuffer;
  readonly writers: SharedArrayBuffer;
  // Fixed-length views, remade when the kernel grows the buffers: length-tracking views are
  // several times slower to index in V8, and only this class grows the buffers.
  private u8!: Uint8Array;
  private table!: Int32Array;
  private pinTable!: Int32Array;
  private stampTable!: Float64Array;
  private writerTable!: Int32Array;

  constructor(readonly sysname: SysName, readonly maxPages: number, readonly logged = true) {
    this.bytes = new SharedArrayBuffer(PAGE_SIZE, { maxByteLength: maxPages * PAGE_SIZE });
    this.pins = new SharedArrayBuffer(4, { maxByteLength: maxPages * 4 });
    this.stamps = new SharedArrayBuffer(8, { maxByteLength: maxPages * 8 });
    this.writers = new SharedArrayBuffer(4, { maxByteLength: maxPages * 4 });
    this.states = new SharedArrayBuffer(4, { maxByteLength: maxPages * 4 });
    this.remap();
  }

  share(): SegmentShare {
    const { sysname, bytes, states, pins, stamps, writers, maxPages, logged } = this;
    return { sysname, bytes, states, pins, stamps, writers, maxPages, logged };
  }

  /** Pages the frames currently span (fetched or not). */
  get spanPages(): number {
    return this.table.length;
  }

  state(page: PageNo): number {
    return page < this.table.length ? Atomics.load(this.table, page) : PageState.INVALID;
  }

  /** The page's pin word (readers + PIN_WRITER), for tests and diagnostics. */
  pinned(page: PageNo): number {
    return page < this.pinTable.length ? Atomics.load(this.pinTable, page) : 0;
  }

  /** The page's write stamp: the last write's (PageLog). */
  stamp(page: PageNo): number {
    return page < this.stampTable.length ? this.stampTable[page] : 0;
  }

  /** Raises the page's write stamp to at least `stamp` (a grant carries the page's stamp). */
  raiseStamp(page: PageNo, stamp: number): void {
    this.ensureSpan(page);
    if (this.stampTable[page] < stamp) this.stampTable[page] = stamp;
  }

  /** Commit segments here that wrote the page and are not committed yet. */
  writersOf(page: PageNo): number {
    return page < this.writerTable.length ? Atomics.load(this.writerTable, page) : 0;
  }

  /**
   * The kernel itself wrote the whole page (diagnostics): counts it as a writer and returns
   * its PageLog, stamped above the page's stamp, ready to commit.
   */
  logWholePage(page: PageNo): Uint8Array {
    this.ensureSpan(page);
    Atomics.add(this.writerTable, page, 1);
    const stamp = ++this.stampTable[page];
    return PageLog.ofPage(this.copyPage(page), stamp).encode();
  }

  /** A segment that wrote these pages committed (or was given up): one writer less each. */
  writersDone(pages: PageNo[]): void {
    for (const p of pages) if (p < this.writerTable.length) Atomics.sub(this.writerTable, p, 1);
  }

  /**
   * Copies a page into its frame (null: a never-written page, zeros) and publishes `state`.
   * Only for a page that is INVALID and quiesced (see the rules above).
   */
  install(page: PageNo, bytes: Uint8Array | null, state: number): void {
    this.ensureSpan(page);
    const offset = page << PAGE_SHIFT;
    if (bytes) this.u8.set(bytes.subarray(0, PAGE_SIZE), offset);
    else this.u8.fill(0, offset, offset + PAGE_SIZE);
    Atomics.store(this.table, page, state);
  }

  /** Sets a page's state without waiting for accessors: for raising it (a granted upgrade). */
  setState(page: PageNo, state: number): void {
    if (page < this.table.length) Atomics.store(this.table, page, state);
  }

  /**
   * Lowers a page's state to `state` (invalidate, downgrade) if it is above, then resolves
   * once no accessor holds the page with rights above `state`: no writer for READ, no
   * accessor at all for INVALID. Any accessor that pins the page afterwards sees the new
   * state. The bytes stay until reinstalled.
   */
  lower(page: PageNo, state: number): Promise<void> {
    if (page >= this.table.length) return Promise.resolve();
    if (Atomics.load(this.table, page) > state) Atomics.store(this.table, page, state);
    const busy = pinsAbove(state);
    return this.drained(page, busy) ? Promise.resolve() : this.untilDrained(page, busy);
  }

  /** Lets go of the writer pin of an accessor that will never release it (its worker died). */
  releaseDeadWriter(page: PageNo): void {
    if ((Atomics.load(this.pinTable, page) & PIN_WRITER) !== 0) Atomics.sub(this.pinTable, page, PIN_WRITER);
  }

  /** A copy of a page's bytes (for write-back); lower it to READ first if isibas may write it. */
  copyPage(page: PageNo): Uint8Array {
    const offset = page << PAGE_SHIFT;
    return this.u8.slice(offset, offset + PAGE_SIZE);
  }

  /** Every page whose state is at least `min`. */
  pagesAtLeast(min: number): PageNo[] {
    const out: PageNo[] = [];
    for (let p = 0; p < this.table.length; p++) if (Atomics.load(this.table, p) >= min) out.push(p);
    return out;
  }

  /** Drops every cached page (e.g. the home restarted), without waiting for accessors. */
  invalidateAll(): void {
    for (let p = 0; p < this.table.length; p++) Atomics.store(this.table, p, PageState.INVALID);
  }

  /** Checks the pin word a bounded number of times: pins are held for nanoseconds. */
  private drained(page: PageNo, busy: number): boolean {
    for (let i = 0; i < DRAIN_SPINS; i++) if ((Atomics.load(this.pinTable, page) & busy) === 0) return true;
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
    if (page < this.table.length) return;
    const pages = Math.min(this.maxPages, Math.max(page + 1, this.table.length * 2));
    // States last: a page inside `states` must already have its bytes and pin word.
    this.bytes.grow(pages * PAGE_SIZE);
    this.pins.grow(pages * 4);
    this.stamps.grow(pages * 8);
    this.writers.grow(pages * 4);
    this.states.grow(pages * 4);
    this.remap();
  }

  private remap(): void {
    const pages = this.states.byteLength >>> 2;
    this.u8 = new Uint8Array(this.bytes, 0, pages * PAGE_SIZE);
    this.table = new Int32Array(this.states, 0, pages);
    this.pinTable = new Int32Array(this.pins, 0, pages);
    this.stampTable = new Float64Array(this.stamps, 0, pages);
    this.writerTable = new Int32Array(this.writers, 0, pages);
  }
}

/** The pin bits that hold rights a page in `state` no longer grants. */
function pinsAbove(state: number): number {
  if (state >= PageState.WRITE) return 0;
  return state >= PageState.READ ? PIN_WRITER : -1;
}
