/**
 * MappedSegment: an isiba's view of one segment of its object's O space — the MMU.
 *
 * Every access checks the page table word of the pages it touches; a page whose state is
 * too low for the access is a page fault, taken synchronously through the FaultChannel
 * (the isiba blocks until the kernel thread has installed the page). Accessors are the only
 * way object memory is read or written, so nothing can touch a page that is not mapped.
 *
 * Writes mark their pages dirty; the isiba reports and clears the dirty set when the
 * invocation returns, and the kernel writes those pages back before replying.
 * Little-endian throughout. Multi-byte scalar accesses must not cross a page boundary
 * (the heap's allocator guarantees that for everything it lays out).
 */
import { PAGE_SHIFT, PAGE_SIZE, type PageNo, type SysName } from "./ids.js";
import { PageState, type AccessMode } from "./page-state.js";
import type { SegmentShare } from "./segment-frames.js";


/** What takes a page fault: the FaultChannel in an isiba; a synchronous stand-in in unit tests. */
export interface PageFaulter {
  /** Returns once the page is accessible in `mode`, or throws. */
  fault(segment: SysName, page: PageNo, mode: AccessMode): void;
}

export class MappedSegment {
  readonly sysname: SysName;
  readonly maxBytes: number;
  private readonly view: DataView;
  private readonly u8: Uint8Array;
  private readonly states: Int32Array;
  /** Pages written since the last `takeDirty()`. */
  private readonly dirty = new Set<PageNo>();

  constructor(share: SegmentShare, private readonly faults: PageFaulter) {
    this.sysname = share.sysname;
    this.maxBytes = share.maxPages * PAGE_SIZE;
    this.view = new DataView(share.bytes);
    this.u8 = new Uint8Array(share.bytes);
    this.states = new Int32Array(share.states);
  }

  u32(addr: number): number {
    this.forRead(addr >>> PAGE_SHIFT);
    return this.view.getUint32(addr, true);
  }

  setU32(addr: number, value: number): void {
    this.forWrite(addr >>> PAGE_SHIFT);
    this.view.setUint32(addr, value, true);
  }

  f64(addr: number): number {
    this.forRead(addr >>> PAGE_SHIFT);
    return this.view.getFloat64(addr, true);
  }

  setF64(addr: number, value: number): void {
    this.forWrite(addr >>> PAGE_SHIFT);
    this.view.setFloat64(addr, value, true);
  }

  /** A private (unshared) copy of `length` bytes; may span pages. */
  read(addr: number, length: number): Uint8Array {
    this.checkRange(addr, length);
    for (let p = addr >>> PAGE_SHIFT, last = (addr + length - 1) >>> PAGE_SHIFT; p <= last && length > 0; p++) this.forRead(p);
    return this.u8.slice(addr, addr + length);
  }

  /** Writes bytes; may span pages. */
  write(addr: number, bytes: Uint8Array): void {
    this.checkRange(addr, bytes.length);
    if (bytes.length === 0) return;
    for (let p = addr >>> PAGE_SHIFT, last = (addr + bytes.length - 1) >>> PAGE_SHIFT; p <= last && bytes.length > 0; p++) this.forWrite(p);
    this.u8.set(bytes, addr);
  }

  /** The dirty pages since the last call, sorted; clears the set. */
  takeDirty(): PageNo[] {
    const pages = [...this.dirty].sort((a, b) => a - b);
    this.dirty.clear();
    return pages;
  }

  get hasDirty(): boolean {
    return this.dirty.size > 0;
  }

  private forRead(page: PageNo): void {
    if (page >= this.states.length || Atomics.load(this.states, page) < PageState.READ) {
      this.faults.fault(this.sysname, page, "read");
    }
  }

  private forWrite(page: PageNo): void {
    if (page >= this.states.length || Atomics.load(this.states, page) < PageState.WRITE) {
      this.faults.fault(this.sysname, page, "write");
    }
    this.dirty.add(page);
  }

  private checkRange(addr: number, length: number): void {
    if (addr < 0 || length < 0 || addr + length > this.maxBytes) {
      throw new RangeError(`access [${addr}, ${addr + length}) is outside segment ${this.sysname} (${this.maxBytes} bytes)`);
    }
  }
}

