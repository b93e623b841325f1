/**
 * PersistentArray: an array in the persistent heap, and its live view.
 *
 * Layout: a header block and a cells block (16-byte ValueCells, element i at cells + 16 i).
 *   header +0 u32 magic 'PARR'  +4 u32 serial  +8 u32 length  +12 u32 capacity  +16 u32 cells
 * The header is read and written whole (one pinned access). Growth doubles the capacity
 * (a new cells block, the live cells copied, the old block freed), so `push` is amortized
 * O(1) and never rewrites a huge block per element; a cells block above a page starts on a
 * page boundary, so touching element i faults in the header's page and element i's page.
 * Cells at or past `length` hold garbage: whatever makes the array longer writes them.
 *
 * The view is a Proxy over a real (empty) array, so `Array.isArray(view)` is true and every
 * Array.prototype method works: reading ones through the traps (get/has/length), the
 * mutating ones (push pop shift unshift splice reverse sort fill copyWithin) natively on
 * raw cells (array-edits.ts): surviving elements move with their blocks, never re-encoded;
 * removed elements come back as plain copies. Element writes are checked first
 * (StorableValue) and leave the array unchanged when they throw. A view holds the header
 * address and the serial: if the array has been freed since (its field reassigned, or it
 * was an element removed, once the invocation that removed it has ended: DeferredFrees),
 * any use throws instead of touching a reused block.
 * Array operations are not atomic across isibas: several accesses each (use locks).
 */
import type { Heap } from "./heap.js";
import { scratchBytes, scratchView, type MappedSegment } from "../ra-kernel/mapped-segment.js";
import { CELL_SIZE, decodeCell, encodeCell, freeCell, ownsBlocks, readCell, writeCell, type CellOwner } from "./value-cell.js";
import { checkValue, isPrimitive } from "./storable-value.js";
import { cachedView, newSerial, StaleViewError, toIndex } from "./heap-views.js";
import { ARRAY_METHODS } from "./array-edits.js";

/** Header layout, exported for the heap checker (heap-check.ts). */
export const MAGIC = 0x52524150;
export const HEADER = 20;
const MIN_CAPACITY = 8;
/** The longest JS array (and so persistent array). */
const MAX_LENGTH = 0xffff_ffff;
/** Cells copied or scanned per access when growing, freeing or copying out. */
const CHUNK_CELLS = 16384;

const hdr = scratchBytes(HEADER);
// The cell of a one-element push (encodeCell writes it only after any nested block is built).
const pushCell = scratchBytes(16); // CELL_SIZE (not yet defined here: value-cell imports this module)
const pushView = scratchView(pushCell);
const hv = scratchView(hdr);

export interface Header {
  length: number;
  capacity: number;
  cells: number;
}

/** Copies a JS array into the heap; returns its header address and serial. */
export function create(heap: Heap, value: unknown): { addr: number; serial: number } {
  const items = value as unknown[];
  const length = items.length;
  const capacity = length === 0 ? 0 : Math.max(MIN_CAPACITY, length);
  const cells = capacity === 0 ? 0 : heap.alloc(capacity * CELL_SIZE);
  for (let from = 0; from < length; from += CHUNK_CELLS) {
    const n = Math.min(CHUNK_CELLS, length - from);
    const buf = new Uint8Array(n * CELL_SIZE);
    const view = new DataView(buf.buffer);
    for (let i = 0; i < n; i++) encodeCell(view, i * CELL_SIZE, heap, items[from + i]);
    heap.mem.write(cells + from * CELL_SIZE, buf);
  }
  const addr = heap.alloc(HEADER);
  const serial = newSerial();
  writeHeader(heap, addr, serial, { length, capacity, cells });
  return { addr, serial };
}

/** Frees the array's cells (deeply) and blocks. */
export function free(heap: Heap, addr: number): void {
  heap.mem.readInto(addr, hdr);
  const { length, cells } = decodeHeader();
  forEachChunk(heap, cells, length, (view, n) => {
    for (let i = 0; i < n; i++) if (ownsBlocks(view.getUint32(i * CELL_SIZE, true))) freeCell(heap, view, i * CELL_SIZE);
  });
  if (cells !== 0) heap.free(cells);
  heap.mem.setU32(addr, 0);
  heap.free(addr);
}

/** A plain JS array copy of the array (`plain` converts nested views). */
export function copyOut(heap: Heap, addr: number, serial: number, plain: (v: unknown) => unknown): unknown[] {
  const { length, cells } = readHeader(heap, addr, serial);
  const out: unknown[] = new Array(length);
  let at = 0;
  forEachChunk(heap, cells, length, (view, n) => {
    for (let i = 0; i < n; i++) out[at++] = plain(decodeCell(view, i * CELL_SIZE, heap.mem, "value"));
  });
  return out;
}

/** The live view of the array at `addr` (cached per heap and address). */
export function view(heap: Heap, addr: number, serial: number, path: string): unknown[] {
  return cachedView(heap, addr, serial, () => makeView(new ArrayHandle(heap, addr, serial, path))) as unknown[];
}

const handles = new WeakMap<object, ArrayHandle>();

/** The handle behind an array view, or undefined for any other value. */
export function handleOf(value: unknown): ArrayHandle | undefined {
  return typeof value === "object" && value !== null ? handles.get(value) : undefined;
}

/** Operations on one array in the heap (what the view's traps and methods call). */
export class ArrayHandle implements CellOwner {
  constructor(readonly heap: Heap, readonly addr: number, readonly serial: number, readonly path: string) {}

  get length(): number {
    return readHeader(this.heap, this.addr, this.serial).length;
  }

  /** The header, checked (StaleViewError if the array is gone). */
  header(): Header {
    return readHeader(this.heap, this.addr, this.serial);
  }

  get(i: number): unknown {
    const h = readHeader(this.heap, this.addr, this.serial);
    return i < h.length ? readCell(this.heap.mem, this.heap.mem, h.cells + i * CELL_SIZE, `${this.path}[${i}]`, this, i) : undefined;
  }

  get cellMem(): MappedSegment {
    return this.heap.mem;
  }

  /** Where element `i`'s cell is now (the cells block moves as the array grows), or -1. */
  cellAddr(i: unknown): number {
    const h = readHeader(this.heap, this.addr, this.serial);
    return (i as number) < h.length ? h.cells + (i as number) * CELL_SIZE : -1;
  }

  set(i: number, value: unknown): void {
    if (!isPrimitive(value)) checkValue(value, `${this.path}[${i}]`);
    const h = readHeader(this.heap, this.addr, this.serial);
    if (i >= h.length) {
      this.extend(h, i + 1);
    }
    writeCell(this.heap.mem, this.heap, h.cells + i * CELL_SIZE, value);
  }

  push(items: unknown[]): number {
    const h = readHeader(this.heap, this.addr, this.serial);
    for (let k = 0; k < items.length; k++) if (!isPrimitive(items[k])) checkValue(items[k], `${this.path}[${h.length + k}]`);
    const length = h.length + items.length;
    if (length > MAX_LENGTH) throw new RangeError(`Invalid array length: ${length}`);
    if (length > h.capacity) this.grow(h, length);
    const one = items.length === 1;
    const buf = one ? pushCell : new Uint8Array(items.length * CELL_SIZE);
    const view = one ? pushView : new DataView(buf.buffer);
    for (let k = 0; k < items.length; k++) encodeCell(view, k * CELL_SIZE, this.heap, items[k]);
    this.heap.mem.write(h.cells + h.length * CELL_SIZE, buf);
    this.heap.mem.setU32(this.addr + 8, length);
    return length;
  }

  /** Sets the length: a shorter array frees the elements cut off; a longer one reads undefined. */
  setLength(length: number): void {
    const h = readHeader(this.heap, this.addr, this.serial);
    if (length < h.length) {
      this.heap.mem.setU32(this.addr + 8, length);
      forEachChunk(this.heap, h.cells + length * CELL_SIZE, h.length - length, (view, n) => {
        for (let i = 0; i < n; i++) if (ownsBlocks(view.getUint32(i * CELL_SIZE, true))) freeCell(this.heap, view, i * CELL_SIZE);
      });
    } else if (length > h.length) this.extend(h, length);
  }

  // Raw cells (array-edits.ts): 16 bytes an element, moved with what they own, never decoded.

  /** Makes room for `length` cells (the array's length is unchanged); updates `h`. */
  reserve(h: Header, length: number): void {
    if (length > MAX_LENGTH) throw new RangeError(`Invalid array length: ${length}`);
    if (length > h.capacity) this.grow(h, length);
  }

  /** A copy of the raw cells [from, from + count). */
  readCells(h: Header, from: number, count: number): Uint8Array {
    const out = new Uint8Array(count * CELL_SIZE);
    for (let at = 0; at < count; at += CHUNK_CELLS) {
      const n = Math.min(CHUNK_CELLS, count - at);
      out.set(this.heap.mem.read(h.cells + (from + at) * CELL_SIZE, n * CELL_SIZE), at * CELL_SIZE);
    }
    return out;
  }

  /** Writes raw cells at element `at` (the caller frees what the overwritten cells owned). */
  writeCells(h: Header, at: number, bytes: Uint8Array): void {
    for (let off = 0; off < bytes.length; off += CHUNK_CELLS * CELL_SIZE) {
      this.heap.mem.write(h.cells + at * CELL_SIZE + off, bytes.subarray(off, off + CHUNK_CELLS * CELL_SIZE));
    }
  }

  /** Moves `count` raw cells from element `from` to element `to` (the ranges may overlap). */
  moveCells(h: Header, from: number, to: number, count: number): void {
    if (count === 0 || from === to) return;
    const chunks = Math.ceil(count / CHUNK_CELLS);
    for (let c = 0; c < chunks; c++) {
      const k = to < from ? c : chunks - 1 - c; // moving down: first chunk first; up: last first
      const n = Math.min(CHUNK_CELLS, count - k * CHUNK_CELLS);
      const bytes = this.heap.mem.read(h.cells + (from + k * CHUNK_CELLS) * CELL_SIZE, n * CELL_SIZE);
      this.heap.mem.write(h.cells + (to + k * CHUNK_CELLS) * CELL_SIZE, bytes);
    }
  }

  /** Sets the length field only (the cells below it must be valid). */
  writeLength(length: number): void {
    this.heap.mem.setU32(this.addr + 8, length);
  }

  /** Makes the array `length` long, the new elements undefined (zero cells). */
  private extend(h: Header, length: number): void {
    if (length > h.capacity) this.grow(h, length);
    for (let from = h.length; from < length; from += CHUNK_CELLS) {
      const n = Math.min(CHUNK_CELLS, length - from);
      this.heap.mem.write(h.cells + from * CELL_SIZE, new Uint8Array(n * CELL_SIZE));
    }
    this.heap.mem.setU32(this.addr + 8, length);
  }

  /** Moves the cells to a block of at least `need` cells (doubling); updates `h` and the header. */
  private grow(h: Header, need: number): void {
    const capacity = Math.min(MAX_LENGTH, Math.max(MIN_CAPACITY, h.capacity * 2, need));
    const cells = this.heap.alloc(capacity * CELL_SIZE);
    for (let from = 0; from < h.length; from += CHUNK_CELLS) {
      const n = Math.min(CHUNK_CELLS, h.length - from);
      this.heap.mem.write(cells + from * CELL_SIZE, this.heap.mem.read(h.cells + from * CELL_SIZE, n * CELL_SIZE));
    }
    const oldCells = h.cells;
    h.capacity = capacity;
    h.cells = cells;
    writeHeader(this.heap, this.addr, this.serial, h);
    if (oldCells !== 0) this.heap.free(oldCells);
  }
}

function makeView(handle: ArrayHandle): unknown[] {
  const proxy = new Proxy<unknown[]>([], {
    get(target, key, receiver) {
      if (typeof key === "string") {
        const i = toIndex(key);
        if (i >= 0) return handle.get(i);
        if (key === "length") return handle.length;
        const method = ARRAY_METHODS.get(key);
        if (method) return method;
      }
      return Reflect.get(target, key, receiver);
    },
    set(_target, key, value) {
      if (typeof key === "string") {
        const i = toIndex(key);
        if (i >= 0) return handle.set(i, value), true;
        if (key === "length") return setLength(handle, value), true;
      }
      throw new TypeError(`field '${handle.path}': a persistent array holds only elements and its length, not '${String(key)}'`);
    },
    defineProperty(target, key, desc) {
      if (!("value" in desc)) throw new TypeError(`field '${handle.path}': accessor properties cannot be persistent`);
      return proxyHandlerSet(handle, key, desc.value);
    },
    deleteProperty(_target, key) {
      const i = typeof key === "string" ? toIndex(key) : -1;
      if (i >= 0 && i < handle.length) handle.set(i, undefined);
      return true;
    },
    has(target, key) {
      if (typeof key === "string") {
        const i = toIndex(key);
        if (i >= 0) return i < handle.length;
      }
      return Reflect.has(target, key);
    },
    ownKeys() {
      const n = handle.length;
      const keys: string[] = new Array(n + 1);
      for (let i = 0; i < n; i++) keys[i] = String(i);
      keys[n] = "length";
      return keys;
    },
    getOwnPropertyDescriptor(_target, key) {
      if (key === "length") return { value: handle.length, writable: true, enumerable: false, configurable: false };
      const i = typeof key === "string" ? toIndex(key) : -1;
      if (i < 0 || i >= handle.length) return undefined;
      return { value: handle.get(i), writable: true, enumerable: true, configurable: true };
    },
    setPrototypeOf: () => false,
    preventExtensions: () => false,
  });
  handles.set(proxy, handle);
  return proxy;
}

function proxyHandlerSet(handle: ArrayHandle, key: string | symbol, value: unknown): boolean {
  const i = typeof key === "string" ? toIndex(key) : -1;
  if (i >= 0) handle.set(i, value);
  else if (key === "length") setLength(handle, value);
  else throw new TypeError(`field '${handle.path}': a persistent array holds only elements and its length, not '${String(key)}'`);
  return true;
}

function setLength(handle: ArrayHandle, value: unknown): void {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff) throw new RangeError(`Invalid array length: ${String(value)}`);
  handle.setLength(n);
}

function readHeader(heap: Heap, addr: number, serial: number): Header {
  heap.mem.readInto(addr, hdr);
  if (hv.getUint32(0, true) !== MAGIC || hv.getUint32(4, true) !== serial) throw new StaleViewError("array");
  return decodeHeader();
}

function decodeHeader(): Header {
  return { length: hv.getUint32(8, true), capacity: hv.getUint32(12, true), cells: hv.getUint32(16, true) };
}

function writeHeader(heap: Heap, addr: number, serial: number, h: Header): void {
  hv.setUint32(0, MAGIC, true);
  hv.setUint32(4, serial, true);
  hv.setUint32(8, h.length, true);
  hv.setUint32(12, h.capacity, true);
  hv.setUint32(16, h.cells, true);
  heap.mem.write(addr, hdr);
}

/** Calls `fn` on private copies of the `count` cells at `cells`, a chunk at a time. */
function forEachChunk(heap: Heap, cells: number, count: number, fn: (view: DataView, n: number) => void): void {
  for (let from = 0; from < count; from += CHUNK_CELLS) {
    const n = Math.min(CHUNK_CELLS, count - from);
    const buf = heap.mem.read(cells + from * CELL_SIZE, n * CELL_SIZE);
    fn(new DataView(buf.buffer), n);
  }
}
