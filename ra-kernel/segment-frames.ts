/**
 * SegmentFrames: a compute server's page frames for one segment, in shared memory.
 *
 * The kernel thread owns two growable SharedArrayBuffers per cached segment:
 *   - `bytes`:  the segment's pages laid out at their own offsets (page p at p * PAGE_SIZE),
 *               so an isiba reads a field with one DataView access. Pages never fetched
 *               occupy address space only (the OS commits memory when a page is written).
 *   - `states`: the page table, one Int32 PageState per page.
 * Both are shared with every isiba worker (`share()`); workers never grow them.
 *
 * Rules: frame bytes are written only by the kernel thread, and only while the page's state
 * is INVALID or before it is raised (install writes bytes, then publishes the state). The
 * kernel grows the buffers before installing a page past their end. Isibas write frame
 * bytes only of pages in WRITE state.
 */
import { PAGE_SHIFT, PAGE_SIZE, type PageNo, type SysName } from "./ids.js";
import { PageState } from "./page-state.js";

/** What an isiba needs to map the segment: posted once per worker. */
export interface SegmentShare {
  sysname: SysName;
  bytes: SharedArrayBuffer;
  states: SharedArrayBuffer;
  maxPages: number;
}

export class SegmentFrames {
  readonly bytes: SharedArrayBuffer;
  readonly states: SharedArrayBuffer;
  private readonly u8: Uint8Array;
  private readonly table: Int32Array;

  constructor(readonly sysname: SysName, readonly maxPages: number) {
    this.bytes = new SharedArrayBuffer(PAGE_SIZE, { maxByteLength: maxPages * PAGE_SIZE });
    this.states = new SharedArrayBuffer(4, { maxByteLength: maxPages * 4 });
    this.u8 = new Uint8Array(this.bytes);
    this.table = new Int32Array(this.states);
  }

  share(): SegmentShare {
    return { sysname: this.sysname, bytes: this.bytes, states: this.states, maxPages: this.maxPages };
  }

  /** Pages the frames currently span (fetched or not). */
  get spanPages(): number {
    return this.table.length;
  }

  state(page: PageNo): number {
    return page < this.table.length ? Atomics.load(this.table, page) : PageState.INVALID;
  }

  /** Copies a page into its frame (null: a never-written page, zeros) and publishes `state`. */
  install(page: PageNo, bytes: Uint8Array | null, state: number): void {
    this.ensureSpan(page);
    const offset = page << PAGE_SHIFT;
    if (bytes) this.u8.set(bytes.subarray(0, PAGE_SIZE), offset);
    else this.u8.fill(0, offset, offset + PAGE_SIZE);
    Atomics.store(this.table, page, state);
  }

  /** Lowers a page's state (invalidate or downgrade); the bytes stay until reinstalled. */
  setState(page: PageNo, state: number): void {
    if (page < this.table.length) Atomics.store(this.table, page, state);
  }

  /** A copy of a page's bytes (for write-back). */
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

  /** Drops every cached page (e.g. the home restarted). */
  invalidateAll(): void {
    for (let p = 0; p < this.table.length; p++) Atomics.store(this.table, p, PageState.INVALID);
  }

  private ensureSpan(page: PageNo): void {
    if (page >= this.maxPages) throw new RangeError(`page ${page} is past the end of segment ${this.sysname} (${this.maxPages} pages)`);
    if (page < this.table.length) return;
    const pages = Math.min(this.maxPages, Math.max(page + 1, this.table.length * 2));
    this.bytes.grow(pages * PAGE_SIZE);
    this.states.grow(pages * 4);
  }
}
