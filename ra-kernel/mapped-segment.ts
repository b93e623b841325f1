/**
 * MappedSegment: an isiba's view of one segment of its object's O space — the MMU.
 *
 * Every access pins the pages it touches, then checks their page table words; a page whose
 * state is too low for the access is a page fault, taken synchronously through the
 * PageFaulter (the isiba blocks until the kernel thread has installed the page, then starts
 * the access over). Accessors are the only way object memory is read or written, so nothing
 * can touch a page that is not mapped, and no access is ever torn:
 *   - a reader pins with +1 (refused while a writer holds the page), a writer with
 *     0 -> PIN_WRITER (refused while anyone is in); refused: back off and retry;
 *   - pin FIRST, check the state THEN (the kernel lowers the state first, then waits for
 *     pins to drain: see SegmentFrames); a multi-page access pins its pages in ascending
 *     order (so accessors never wait on each other in a cycle) before checking any state;
 *   - a pin is held for one access only, NEVER across a fault — not even the one page an
 *     isiba holds with `withPageExclusive` (the heap allocator's page 0): it keeps the writer
 *     pin while `fn` runs and its own accesses to that page go through, but when `fn` needs
 *     another page it does not have, the held page is let go, the fault taken with nothing
 *     pinned, and `fn` run again from the start. So `fn` must fault in (touch) every page it
 *     needs before its first write; a fault after a write throws. A recall therefore never
 *     waits on a pin that waits on a fault (no cycle between homes and isibas).
 *
 * Writes are logged (DESIGN §7a): each write raises its page's stamp and copies the words it
 * changed into the PageLog of the commit segment running it (WriteLog, found through
 * AsyncLocalStorage), while the writer pin is still held — that log, not the page, is what
 * its commit sends home. Written pages are also kept in a dirty set (`takeDirty`, for tools
 * and tests); frames that are never committed (volatile heaps) log nothing.
 * Little-endian throughout. Scalar accesses must not cross a page boundary (the heap's
 * allocator guarantees that for everything it lays out); one that does throws, and so does
 * one outside the segment — and either breaks the running commit segment (aborted, not
 * committed: see `broken` below).
 */
import { NATIVE_LITTLE_ENDIAN, nativeFloatView } from "./float-writes.js";
import { PAGE_SHIFT, PAGE_SIZE, type PageNo, type SysName } from "./ids.js";
import { PageState, type AccessMode } from "./page-state.js";
import { F_STAMP, PIN_WRITER, RECORD_SHIFT, W_ACCESSED, W_PIN, W_RETURNING, W_SLOT, W_STATE, W_WRITERS, type SegmentShare } from "./segment-frames.js";
import { breakCurrentSegment, currentWriteLog, writesNeedLog, type WriteLog } from "./write-log.js";
import { currentWriterLedger } from "./writer-ledger.js";
import { IsibaEndedError } from "./syscall-errors.js";
import { littleEndianWord, type PageLog } from "./page-log.js";

/** What takes a page fault: the FaultChannel in an isiba; a synchronous stand-in in unit tests. */
export interface PageFaulter {
  /** Returns once the page is accessible in `mode`, or throws. */
  fault(segment: SysName, page: PageNo, mode: AccessMode): void;
}

const PAGE_MASK = PAGE_SIZE - 1;

/** Outcomes of one attempt to pin a page. */
const PINNED = 0;
/** Another accessor holds the page in a conflicting mode: back off and retry. */
const BUSY = 1;
/** The page's state is too low for the access (or it is past the frames' span): fault. */
const LOW = 2;

/** Refused pins retried at once before the accessor starts sleeping between tries. */
const SPIN_TRIES = 300;
/** One sleep of a refused accessor (ms): pins are held for nanoseconds. */
const BACKOFF_MS = 0.02;

/** Copies up to this many bytes 4 at a time through DataViews (see toFrames); more with `set`. */
const SMALL_COPY = 64;

/** The DataViews of scratchBytes buffers. */
const scratchViews = new WeakMap<Uint8Array, DataView>();

/**
 * A buffer kept for reading small values out of object memory again and again (a cell, a
 * header): reads into it are faster in a locked-down worker (see toFrames). Its DataView
 * (`scratchView`) is the one to decode and encode it with.
 */
export function scratchBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  scratchViews.set(bytes, nativeFloatView(bytes.buffer));
  return bytes;
}

/** The DataView of a scratchBytes buffer (with V8's own float setters: float-writes.ts). */
export function scratchView(bytes: Uint8Array): DataView {
  const view = scratchViews.get(bytes);
  if (!view) throw new Error("scratchView: not a scratchBytes buffer");
  return view;
}

/** Thrown inside `withPageExclusive`'s fn when it needs a fault: caught there, never escapes. */
class HeldPageFault {
  constructor(readonly page: PageNo, readonly mode: AccessMode) {}
}

export class MappedSegment {
  readonly sysname: SysName;
  readonly maxBytes: number;
  // Fixed-length views over the growable buffers, remade when an access finds a page past
  // the table or a frame past the arena (length-tracking views are several times slower to
  // index in V8).
  private view!: DataView;
  private u8!: Uint8Array;
  /** The page records (SegmentFrames: state, pin, writers, slot, accessed, stamp). */
  private words!: Int32Array;
  private stampView!: DataView;
  private pages = 0;
  /** Pages written since the last `takeDirty()`; `lastDirty` spares a Set lookup per write. */
  private readonly dirty = new Set<PageNo>();
  private lastDirty = -1;
  /** The page this isiba holds with `withPageExclusive` (-1: none); its accesses skip pinning. */
  private held = -1;
  /** Writes made while holding `held` (a fault after one cannot start `fn` over). */
  private heldWrites = 0;
  /** The PageLog last written to, for the log generation and page it belongs to. */
  private lastLog: WriteLog | undefined;
  private lastLogGen = -1;
  private lastLogPage = -1;
  private lastPageLog: PageLog | undefined;

  constructor(private readonly share: SegmentShare, private readonly faults: PageFaulter) {
    this.sysname = share.sysname;
    this.maxBytes = share.maxPages * PAGE_SIZE;
    this.remap();
  }

  u32(addr: number): number {
    const page = this.pinScalar(addr, 4, "read");
    const at = this.frameOf(page) + (addr & PAGE_MASK); // first: it may remap the view
    const value = this.view.getUint32(at, true);
    Atomics.sub(this.words, (page << RECORD_SHIFT) + W_PIN, 1);
    return value;
  }

  setU32(addr: number, value: number): void {
    const log = this.writer();
    const page = this.pinScalar(addr, 4, "write");
    const at = this.frameOf(page) + (addr & PAGE_MASK);
    this.view.setUint32(at, value, true);
    this.wrote(page, addr, addr + 4, log);
  }

  f64(addr: number): number {
    const page = this.pinScalar(addr, 8, "read");
    const at = this.frameOf(page) + (addr & PAGE_MASK); // first: it may remap the view
    const value = this.view.getFloat64(at, true);
    Atomics.sub(this.words, (page << RECORD_SHIFT) + W_PIN, 1);
    return value;
  }

  setF64(addr: number, value: number): void {
    const log = this.writer();
    const page = this.pinScalar(addr, 8, "write");
    const at = this.frameOf(page) + (addr & PAGE_MASK);
    this.view.setFloat64(at, value !== value ? NaN : value, true);
    this.wrote(page, addr, addr + 8, log);
  }

  /** A private (unshared) copy of `length` bytes; may span pages. */
  read(addr: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    this.readInto(addr, out);
    return out;
  }

  /** Copies `dst.length` bytes at `addr` into `dst` as one pinned access; may span pages. */
  readInto(addr: number, dst: Uint8Array): void {
    const length = dst.length;
    this.checkRange(addr, length);
    if (length === 0) return;
    const first = addr >>> PAGE_SHIFT, last = (addr + length - 1) >>> PAGE_SHIFT;
    this.pinRange(first, last, "read");
    const dstView = scratchViews.get(dst);
    this.eachPiece(addr, length, (at, frame, n) => this.fromFrames(dst, dstView, at, frame, n));
    for (let p = first; p <= last; p++) Atomics.sub(this.words, (p << RECORD_SHIFT) + W_PIN, 1);
  }

  /** Writes bytes as one pinned access; may span pages. */
  write(addr: number, bytes: Uint8Array): void {
    this.exchange(addr, bytes, null);
  }

  /**
   * Writes `bytes` at `addr` and, if `old` is given (same length), copies the bytes they
   * replace into it, as one pinned access: no other accessor sees or changes them between.
   */
  exchange(addr: number, bytes: Uint8Array, old: Uint8Array | null): void {
    const length = bytes.length;
    this.checkRange(addr, length);
    if (old && old.length !== length) throw new RangeError(`exchange of ${length} bytes into a buffer of ${old.length}`);
    if (length === 0) return;
    const log = this.writer();
    const first = addr >>> PAGE_SHIFT, last = (addr + length - 1) >>> PAGE_SHIFT;
    this.pinRange(first, last, "write");
    const oldView = old ? scratchViews.get(old) : undefined;
    this.eachPiece(addr, length, (at, frame, n) => {
      if (old) this.fromFrames(old, oldView, at, frame, n);
      this.toFrames(frame, bytes, at, n);
    });
    const end = addr + length;
    for (let p = first; p <= last; p++) this.wrote(p, Math.max(addr, p << PAGE_SHIFT), Math.min(end, (p + 1) << PAGE_SHIFT), log);
  }

  /**
   * Runs `fn` holding the page of `addr` exclusively (faulted in for writing, writer pin
   * kept): no other accessor, in any isiba, reads or writes that page until `fn` returns, so
   * several accesses to it are one atomic step. `fn` must be synchronous and must not
   * wait for another isiba. It may access any page, including this one (its accesses to it
   * pass); a page it lacks makes it start over after the fault (see header), so it must touch
   * every other page it needs before its first write. Re-entrant for the same page; one held
   * page at a time.
   */
  withPageExclusive<T>(addr: number, fn: () => T): T {
    const page = addr >>> PAGE_SHIFT;
    if (this.held === page) return fn();
    if (this.held !== -1) throw new Error(`withPageExclusive: page ${this.held} of ${this.sysname} is already held`);
    this.checkRange(addr, 1);
    const ledger = this.share.ledgerId === undefined ? undefined : currentWriterLedger();
    for (;;) {
      this.pinRange(page, page, "write");
      ledger?.holding(this.share.ledgerId!, page); // so the kernel can let it go if this worker dies
      this.held = page;
      this.heldWrites = 0;
      let needed: HeldPageFault;
      try {
        return fn();
      } catch (err) {
        if (!(err instanceof HeldPageFault)) throw err;
        needed = err;
      } finally {
        this.held = -1;
        ledger?.holding(0, -1);
        Atomics.sub(this.words, (page << RECORD_SHIFT) + W_PIN, PIN_WRITER);
      }
      // Marked while away, so a recall of the held page waits a little for us (W_RETURNING).
      const returning = (page << RECORD_SHIFT) + W_RETURNING;
      Atomics.add(this.words, returning, 1);
      try {
        this.faults.fault(this.sysname, needed.page, needed.mode);
      } finally {
        Atomics.sub(this.words, returning, 1);
      }
    }
  }

  /** The dirty pages since the last call, sorted; clears the set. */
  takeDirty(): PageNo[] {
    const pages = [...this.dirty].sort((a, b) => a - b);
    this.dirty.clear();
    this.lastDirty = -1;
    return pages;
  }

  get hasDirty(): boolean {
    return this.dirty.size > 0;
  }

  /**
   * The arena offset of a pinned, mapped page's frame. The slot is read after the state
   * (the kernel publishes the state after the slot), and stays while the page is pinned.
   */
  private frameOf(page: PageNo): number {
    const offset = (this.words[(page << RECORD_SHIFT) + W_SLOT] - 1) << PAGE_SHIFT;
    if (offset + PAGE_SIZE > this.u8.length) this.remapFrames();
    return offset;
  }

  /** Calls fn(offset in the access, frame offset, length) for each page's piece of [addr, addr + length), all pinned. */
  private eachPiece(addr: number, length: number, fn: (at: number, frame: number, n: number) => void): void {
    for (let at = 0; at < length; ) {
      const a = addr + at;
      const n = Math.min(length - at, PAGE_SIZE - (a & PAGE_MASK));
      fn(at, this.frameOf(a >>> PAGE_SHIFT) + (a & PAGE_MASK), n);
      at += n;
    }
  }

  /** Pins the page of a scalar for `mode`; returns the page, pinned and mapped. */
  private pinScalar(addr: number, size: number, mode: AccessMode): PageNo {
    const page = addr >>> PAGE_SHIFT;
    const fits = (addr & PAGE_MASK) + size <= PAGE_SIZE;
    if (!fits || (mode === "read" ? this.tryPinRead(page) : this.tryPinWrite(page)) !== PINNED) {
      this.checkScalar(addr, size);
      this.pinRange(page, page, mode);
    }
    return page;
  }

  /** Pins pages first..last (ascending) for `mode`, faulting as needed; returns with all pinned and mapped. */
  private pinRange(first: PageNo, last: PageNo, mode: AccessMode): void {
    while (!this.tryPinRange(first, last, mode));
  }

  /** One pass: true with every page pinned; false after a fault taken with nothing pinned. */
  private tryPinRange(first: PageNo, last: PageNo, mode: AccessMode): boolean {
    for (let p = first, tries = 0; p <= last; ) {
      const got = mode === "read" ? this.tryPinRead(p) : this.tryPinWrite(p);
      if (got === PINNED) p++;
      else if (got === BUSY) backoff(this.words, (p << RECORD_SHIFT) + W_PIN, tries++);
      else {
        this.unpin(first, p - 1, mode);
        if (this.held !== -1) throw this.heldFault(p, mode);
        this.faults.fault(this.sysname, p, mode);
        return false;
      }
    }
    return true;
  }

  /** One attempt to pin `page` as a reader; PINNED means its state allows reading. */
  private tryPinRead(page: PageNo): number {
    if (page >= this.pages && !this.remap(page)) return LOW;
    const at = page << RECORD_SHIFT;
    if ((Atomics.add(this.words, at + W_PIN, 1) & PIN_WRITER) !== 0) {
      // Our own held page: keep the +1 (the access's release takes it off).
      if (page === this.held) return PINNED;
      Atomics.sub(this.words, at + W_PIN, 1);
      return BUSY;
    }
    if (Atomics.load(this.words, at + W_STATE) >= PageState.READ) return this.entered(at);
    Atomics.sub(this.words, at + W_PIN, 1);
    return LOW;
  }

  /** One attempt to take `page` exclusively; PINNED means its state allows writing. */
  private tryPinWrite(page: PageNo): number {
    if (page >= this.pages && !this.remap(page)) return LOW;
    const at = page << RECORD_SHIFT;
    if (Atomics.compareExchange(this.words, at + W_PIN, 0, PIN_WRITER) !== 0) return page === this.held ? PINNED : BUSY;
    if (Atomics.load(this.words, at + W_STATE) >= PageState.WRITE) return this.entered(at);
    Atomics.sub(this.words, at + W_PIN, PIN_WRITER);
    return LOW;
  }

  /** Sets the page's accessed bit (a plain store, once per sweep: the kernel clears it). */
  private entered(at: number): number {
    if (this.words[at + W_ACCESSED] === 0) this.words[at + W_ACCESSED] = 1;
    return PINNED;
  }

  private unpin(first: PageNo, last: PageNo, mode: AccessMode): void {
    const pin = mode === "read" ? 1 : PIN_WRITER;
    for (let p = first; p <= last; p++) if (mode === "read" || p !== this.held) Atomics.sub(this.words, (p << RECORD_SHIFT) + W_PIN, pin);
  }

  /** A fault needed while holding a page: start over without it, unless fn already wrote. */
  private heldFault(page: PageNo, mode: AccessMode): unknown {
    if (this.heldWrites === 0) return new HeldPageFault(page, mode);
    return new Error(`page ${page} of ${this.sysname} faulted after a write while page ${this.held} was held exclusively: touch every page before the first write`);
  }

  /**
   * Bytes [from, to) of `page` were written: marks the page dirty and logs the words in the
   * running segment's WriteLog (while still holding the page), then releases it.
   */
  private wrote(page: PageNo, from: number, to: number, log: WriteLog | undefined): void {
    if (page !== this.lastDirty) {
      this.dirty.add(page);
      this.lastDirty = page;
    }
    if (log) this.log(page, from, to, log);
    const pin = (page << RECORD_SHIFT) + W_PIN;
    if (this.held === -1) Atomics.sub(this.words, pin, PIN_WRITER);
    else {
      this.heldWrites++;
      if (page !== this.held) Atomics.sub(this.words, pin, PIN_WRITER);
    }
  }

  /**
   * The log a write about to be made goes into; checked before the write: a logged segment is
   * written only by a running invocation (see WriteLog.ended) and, in an isiba worker, only
   * with a log (requireWriteLog). Unlogged segments need none.
   */
  private writer(): WriteLog | undefined {
    if (!this.share.logged) return undefined;
    const log = currentWriteLog();
    if (log === undefined ? writesNeedLog() : log.ended) {
      throw new IsibaEndedError(
        `a write to object memory (${this.sysname}) by code whose invocation has already returned (a promise it did not await): refused, the object is unchanged`,
        { isiba: -1, op: "write" },
      );
    }
    return log;
  }

  private log(page: PageNo, from: number, to: number, log: WriteLog): void {
    let pageLog = this.lastPageLog!;
    if (log !== this.lastLog || log.generation !== this.lastLogGen || page !== this.lastLogPage) {
      pageLog = this.lastPageLog = log.pageLog(this.sysname, page, this.words, (page << RECORD_SHIFT) + W_WRITERS, this.share.ledgerId);
      this.lastLog = log;
      this.lastLogGen = log.generation;
      this.lastLogPage = page;
    }
    const base = page << PAGE_SHIFT;
    const frame = this.frameOf(page);
    // Through a DataView, not `++this.stamps[i]`: see toFrames.
    const at = ((page << 2) + F_STAMP) << 3;
    const stamp = this.stampView.getFloat64(at, NATIVE_LITTLE_ENDIAN) + 1;
    this.stampView.setFloat64(at, stamp, NATIVE_LITTLE_ENDIAN);
    pageLog.record(this.u8, frame, from - base, to - base, stamp);
  }

  // Copies in and out of the frames never use indexed stores into a typed array: an isiba
  // worker's realm is locked down (hardened-realm.ts), and once Object.prototype is frozen V8
  // compiles those ~20x slower (16 bytes: ~650 ns against ~10 ns through a DataView).
  // Field reads and writes were 5x and 9x slower with a byte loop. DataView accesses and
  // `set` keep their speed; small copies go 4 bytes at a time through DataViews (the frames'
  // own, and that of a scratchBytes buffer), others through `set`.

  /** Copies `n` bytes of `src` from `from` into the frames at `frame`. */
  private toFrames(frame: number, src: Uint8Array, from: number, n: number): void {
    if (n > SMALL_COPY) {
      this.u8.set(src.subarray(from, from + n), frame);
      return;
    }
    const view = this.view;
    let i = 0;
    for (; i + 4 <= n; i += 4) view.setInt32(frame + i, littleEndianWord(src, from + i), true);
    for (; i < n; i++) view.setUint8(frame + i, src[from + i]);
  }

  /** Copies `n` bytes of the frames at `frame` into `dst` at `at` (through `dstView` if it has one). */
  private fromFrames(dst: Uint8Array, dstView: DataView | undefined, at: number, frame: number, n: number): void {
    if (dstView === undefined || n > SMALL_COPY) {
      dst.set(this.u8.subarray(frame, frame + n), at);
      return;
    }
    const view = this.view;
    let i = 0;
    for (; i + 4 <= n; i += 4) dstView.setInt32(at + i, view.getInt32(frame + i, true), true);
    for (; i < n; i++) dstView.setUint8(at + i, view.getUint8(frame + i));
  }

  /** Remakes the views if the kernel grew the table; true if `page` is now inside it. */
  private remap(page = 0): boolean {
    this.pages = this.share.table.byteLength >>> (RECORD_SHIFT + 2);
    this.words = new Int32Array(this.share.table, 0, this.pages << RECORD_SHIFT);
    this.stampView = nativeFloatView(this.share.table, 0, (this.pages << 2) * Float64Array.BYTES_PER_ELEMENT);
    this.remapFrames();
    return page < this.pages;
  }

  /** Remakes the views of the frame arena (the pool grew). */
  private remapFrames(): void {
    const length = this.share.frames.byteLength;
    this.view = nativeFloatView(this.share.frames, 0, length);
    this.u8 = new Uint8Array(this.share.frames, 0, length);
  }

  private checkScalar(addr: number, size: number): void {
    this.checkRange(addr, size);
    if ((addr & PAGE_MASK) + size > PAGE_SIZE) {
      throw broken(new RangeError(`access [${addr}, ${addr + size}) of segment ${this.sysname} crosses a page boundary`));
    }
  }

  private checkRange(addr: number, length: number): void {
    if (addr < 0 || length < 0 || addr + length > this.maxBytes) {
      throw broken(new RangeError(`access [${addr}, ${addr + length}) is outside segment ${this.sysname} (${this.maxBytes} bytes)`));
    }
  }
}

/**
 * A bad address comes from the object runtime, never from object code (it has no addresses):
 * the heap it walked was not what it expected (a racy read of a structure being changed).
 * The segment is aborted, never committed half-way, even if the entry catches the error
 * (WriteLog.broken, like a failed fault).
 */
function broken(err: RangeError): RangeError {
  breakCurrentSegment(`the object runtime made a bad access (${err.message})`);
  return err;
}

/**
 * Waits a little for the accessor holding the pin word `words[pin]`: retries at once at first (pins are
 * held for nanoseconds), then sleeps a few microseconds per try so a worker never spins hot.
 */
function backoff(words: Int32Array, pin: number, tries: number): void {
  if (tries < SPIN_TRIES) return;
  Atomics.wait(words, pin, Atomics.load(words, pin), BACKOFF_MS);
}

