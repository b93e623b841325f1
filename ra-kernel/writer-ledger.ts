/**
 * WriterLedger: the pages an isiba worker counts itself a writer of, kept where its kernel
 * can read them if the worker dies.
 *
 * A commit segment adds one to a page's writer count (SegmentFrames.writers) on its first
 * write of it, and the kernel takes it off once the segment's commit is answered (WriteLog).
 * A worker that dies (out of memory, an uncaught error) takes its segments' logs with it: the
 * kernel never learns which counts they added, nor which pages of its copies hold words that
 * can now never commit. The ledger says: one entry (segment id, page) per count the worker
 * holds, added by the worker with the count and cleared when the segment's log is taken
 * (then the kernel owns the count: the log travels with the reply or the release).
 *
 * It also names the page the worker holds with `withPageExclusive` (the heap allocator's page
 * 0, held while the allocator runs JavaScript that may exhaust the worker's heap): a writer pin
 * left by a dead worker would stop every other accessor of that page for good. It is recorded
 * after the pin is taken and cleared before it is let go, so a death in between leaks the pin
 * (a few instructions with no allocation) but never releases one twice.
 *
 * Shared memory, written by the worker alone while it lives, read by the kernel only after it
 * died (IsibaPool.workerDied): no locking. Segment ids are the worker's own numbering of the
 * segments the pool shared with it (SegmentShare.ledgerId). A full ledger sets `overflowed`:
 * the kernel then treats every page written on this server as lost (conservative).
 *
 * Layout (Int32): [0] overflowed, [1] held segment id (0: none), [2] held page, then
 * `capacity` pairs (segment id, page); id 0: free.
 */
import type { PageNo } from "./ids.js";

/** Entries per worker: a segment writing more pages than this at once is very rare. */
const DEFAULT_CAPACITY = 1 << 16;
/** Words before the entries. */
const HEADER = 3;

export interface LedgerEntry {
  segment: number;
  page: PageNo;
}

export class WriterLedger {
  private readonly words: Int32Array;
  /** Free entry indices (worker side only). */
  private readonly free: number[] = [];
  private used = 0;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.words = new Int32Array(buffer);
  }

  /** A ledger's memory, to hand to a new worker. */
  static allocate(capacity = DEFAULT_CAPACITY): SharedArrayBuffer {
    return new SharedArrayBuffer(4 * (HEADER + 2 * capacity));
  }

  get capacity(): number {
    return (this.words.length - HEADER) >> 1;
  }

  /** Worker side: the page now held exclusively (after its pin was taken), or none (-1, before it is let go). */
  holding(segment: number, page: PageNo): void {
    if (page >= 0) Atomics.store(this.words, 2, page);
    Atomics.store(this.words, 1, page >= 0 ? segment : 0);
  }

  /** Worker side: records one writer count of `page`; returns the entry to clear (-1: full). */
  add(segment: number, page: PageNo): number {
    const at = this.free.length > 0 ? this.free.pop()! : this.used < this.capacity ? this.used++ : -1;
    if (at < 0) {
      Atomics.store(this.words, 0, 1);
      return -1;
    }
    this.words[HEADER + 1 + 2 * at] = page;
    Atomics.store(this.words, HEADER + 2 * at, segment);
    return at;
  }

  /** Worker side: the count of entry `at` is the kernel's now (or never was). */
  clear(at: number): void {
    if (at < 0) return;
    Atomics.store(this.words, HEADER + 2 * at, 0);
    this.free.push(at);
  }

  /** Kernel side, after the worker died: every count it still held, and whether some were not recorded. */
  static read(buffer: SharedArrayBuffer): { entries: LedgerEntry[]; overflowed: boolean; held: LedgerEntry | null } {
    const words = new Int32Array(buffer);
    const entries: LedgerEntry[] = [];
    for (let i = HEADER; i + 1 < words.length; i += 2) {
      const segment = Atomics.load(words, i);
      if (segment !== 0) entries.push({ segment, page: words[i + 1] });
    }
    const heldSegment = Atomics.load(words, 1);
    const held = heldSegment !== 0 ? { segment: heldSegment, page: Atomics.load(words, 2) } : null;
    return { entries, overflowed: Atomics.load(words, 0) !== 0, held };
  }
}

let workerLedger: WriterLedger | undefined;

/** Worker side: the ledger of this worker (set once at its start); none in unit tests. */
export function setWriterLedger(ledger: WriterLedger | undefined): void {
  workerLedger = ledger;
}

export function currentWriterLedger(): WriterLedger | undefined {
  return workerLedger;
}
