/**
 * HeapTable: an insertion-ordered hash table in the persistent heap — the storage of plain
 * objects (PersistentRecord), Maps (PersistentMap) and Sets (PersistentSet).
 *
 * Layout (CPython's compact dict): entries appended in insertion order, found through an
 * open-addressing index.
 *   header  +0 u32 magic (per kind)  +4 u32 serial  +8 u32 count (live)  +12 u32 used
 *           +16 u32 entry capacity   +20 u32 entries block  +24 u32 index slots  +28 u32 index block
 *   entry   32 bytes: key cell (16) | value cell (16); a deleted entry's key tag is DELETED
 *   index   8 bytes a slot: u32 key hash | u32 entry number + 1 (0: empty). A slot of a
 *           deleted entry stays (a tombstone: its key never matches); linear probing.
 * When `used` reaches the capacity the table is rebuilt (live entries compacted, capacity
 * twice the live count, index at most half full) and the old blocks freed.
 *
 * Keys are primitives or references (checked by callers, StorableValue.checkKey) and
 * compared as Map does (SameValueZero; references by sysname). Operations are several
 * accesses each and not atomic across isibas (use locks); the header is read whole.
 */
import type { Heap } from "./heap.js";
import { scratchBytes, scratchView, type MappedSegment } from "../ra-kernel/mapped-segment.js";
import { sysnameOfRef } from "./object-ref.js";
import { CELL_SIZE, Tag, decodeCell, encodeCell, freeCell, readCell, writeCell, type CellOwner } from "./value-cell.js";
import { newSerial, StaleViewError } from "./heap-views.js";

// Layout, exported for the heap checker (heap-check.ts).
export const HEADER = 32;
export const ENTRY = 32;
export const SLOT = 8;
const MIN_ENTRIES = 8;
/** Key tag of a deleted entry (never a value tag). */
export const DELETED = 0xffff_ffff;

const encoder = new TextEncoder();
const hdr = scratchBytes(HEADER);
const hv = scratchView(hdr);
const entryBuf = scratchBytes(ENTRY);
const ev = scratchView(entryBuf);
const slotBuf = scratchBytes(SLOT);
const sv = scratchView(slotBuf);
const f64 = new Float64Array(1);
const f64words = new Uint32Array(f64.buffer);

/** A table header's numbers (the layout above); the heap check reads them too. */
export interface Header {
  count: number;
  used: number;
  capacity: number;
  entries: number;
  slots: number;
  index: number;
}

/** A key prepared for lookups: its tag, hash and what to compare. */
interface Probe {
  tag: number;
  hash: number;
  num: number;
  bytes: Uint8Array | null;
  key: unknown;
}

export class HeapTable implements CellOwner {
  constructor(readonly heap: Heap, readonly addr: number, readonly serial: number, readonly magic: number, readonly kind: string) {}

  /** Makes an empty table; returns its header address and serial. */
  static create(heap: Heap, magic: number, expected: number): { addr: number; serial: number } {
    const capacity = Math.max(MIN_ENTRIES, expected);
    const slots = slotsFor(capacity);
    const entries = heap.alloc(capacity * ENTRY);
    const index = heap.alloc(slots * SLOT);
    heap.mem.write(index, new Uint8Array(slots * SLOT));
    const addr = heap.alloc(HEADER);
    const serial = newSerial();
    writeHeader(heap, addr, magic, serial, { count: 0, used: 0, capacity, entries, slots, index });
    return { addr, serial };
  }

  get size(): number {
    return this.header().count;
  }

  has(key: unknown): boolean {
    return this.find(this.header(), probe(key)) >= 0;
  }

  get(key: unknown, path: string): unknown {
    const h = this.header();
    const e = this.find(h, probe(key));
    return e < 0 ? undefined : readCell(this.heap.mem, this.heap.mem, h.entries + e * ENTRY + CELL_SIZE, path, this, key);
  }

  get cellMem(): MappedSegment {
    return this.heap.mem;
  }

  /** Where the value cell of `key` is now (entries move when the table is rebuilt), or -1. */
  cellAddr(key: unknown): number {
    const h = this.header();
    const e = this.find(h, probe(key));
    return e < 0 ? -1 : h.entries + e * ENTRY + CELL_SIZE;
  }

  /** Sets key -> value (both checked by the caller). */
  set(key: unknown, value: unknown): void {
    let h = this.header();
    const p = probe(key);
    const e = this.find(h, p);
    if (e >= 0) return writeCell(this.heap.mem, this.heap, h.entries + e * ENTRY + CELL_SIZE, value);
    if (h.used >= h.capacity) h = this.rebuild(h);
    // A buffer of its own: encoding a container value fills other tables (and the scratch).
    const entry = new Uint8Array(ENTRY), view = new DataView(entry.buffer);
    encodeCell(view, 0, this.heap, p.tag === Tag.NUMBER ? p.num : key);
    encodeCell(view, CELL_SIZE, this.heap, value);
    this.heap.mem.write(h.entries + h.used * ENTRY, entry);
    this.insertSlot(h, p.hash, h.used);
    h.count++;
    h.used++;
    writeHeader(this.heap, this.addr, this.magic, this.serial, h);
  }

  delete(key: unknown): boolean {
    const h = this.header();
    const e = this.find(h, probe(key));
    if (e < 0) return false;
    const at = h.entries + e * ENTRY;
    const gone = new Uint8Array(ENTRY);
    new DataView(gone.buffer).setUint32(0, DELETED, true);
    const old = new Uint8Array(ENTRY);
    this.heap.mem.exchange(at, gone, old);
    h.count--;
    writeHeader(this.heap, this.addr, this.magic, this.serial, h);
    const ov = new DataView(old.buffer);
    freeCell(this.heap, ov, 0);
    freeCell(this.heap, ov, CELL_SIZE);
    return true;
  }

  clear(): void {
    const h = this.header();
    const old = this.heap.mem.read(h.entries, h.used * ENTRY);
    this.heap.mem.write(h.index, new Uint8Array(h.slots * SLOT));
    h.count = 0;
    h.used = 0;
    writeHeader(this.heap, this.addr, this.magic, this.serial, h);
    freeEntries(this.heap, old, old.length / ENTRY);
  }

  /** Live entries in insertion order, decoded lazily (keys and values). */
  *entries(path: string): IterableIterator<[unknown, unknown]> {
    for (let e = 0; ; e++) {
      const h = this.header();
      if (e >= h.used) return;
      this.heap.mem.readInto(h.entries + e * ENTRY, entryBuf);
      if (ev.getUint32(0, true) === DELETED) continue;
      const copy = new DataView(entryBuf.slice().buffer);
      const key = decodeCell(copy, 0, this.heap.mem, path);
      yield [key, decodeCell(copy, CELL_SIZE, this.heap.mem, `${path}[${typeof key === "string" ? JSON.stringify(key) : String(key)}]`, "?", this, key)];
    }
  }

  /** Live keys in insertion order. */
  *keys(): IterableIterator<unknown> {
    for (let e = 0; ; e++) {
      const h = this.header();
      if (e >= h.used) return;
      this.heap.mem.readInto(h.entries + e * ENTRY, entryBuf);
      if (ev.getUint32(0, true) === DELETED) continue;
      yield decodeCell(ev, 0, this.heap.mem, "key");
    }
  }

  private header(): Header {
    this.heap.mem.readInto(this.addr, hdr);
    if (hv.getUint32(0, true) !== this.magic || hv.getUint32(4, true) !== this.serial) throw new StaleViewError(this.kind);
    return {
      count: hv.getUint32(8, true), used: hv.getUint32(12, true), capacity: hv.getUint32(16, true),
      entries: hv.getUint32(20, true), slots: hv.getUint32(24, true), index: hv.getUint32(28, true),
    };
  }

  /** The entry number holding `p`'s key, or -1. */
  private find(h: Header, p: Probe): number {
    const mask = h.slots - 1;
    for (let i = p.hash & mask; ; i = (i + 1) & mask) {
      this.heap.mem.readInto(h.index + i * SLOT, slotBuf);
      const e = sv.getUint32(4, true);
      if (e === 0) return -1;
      if (sv.getUint32(0, true) === p.hash && this.keyIs(h.entries + (e - 1) * ENTRY, p)) return e - 1;
    }
  }

  private keyIs(at: number, p: Probe): boolean {
    this.heap.mem.readInto(at, entryBuf);
    if (ev.getUint32(0, true) !== p.tag) return false;
    if (p.tag === Tag.NUMBER) return sameValueZero(ev.getFloat64(8, true), p.num);
    if (p.bytes === null) return true;
    const length = ev.getUint32(4, true);
    if (length !== p.bytes.length) return false;
    if (length === 0) return true;
    const stored = this.heap.mem.read(ev.getUint32(8, true), length);
    for (let i = 0; i < length; i++) if (stored[i] !== p.bytes[i]) return false;
    return true;
  }

  private insertSlot(h: Header, hash: number, entry: number): void {
    const mask = h.slots - 1;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const at = h.index + i * SLOT;
      if (this.heap.mem.u32(at + 4) !== 0) continue;
      sv.setUint32(0, hash, true);
      sv.setUint32(4, entry + 1, true);
      this.heap.mem.write(at, slotBuf);
      return;
    }
  }

  /** Compacts the live entries into new blocks with room to grow; frees the old ones. */
  private rebuild(h: Header): Header {
    const capacity = Math.max(MIN_ENTRIES, h.count * 2);
    const slots = slotsFor(capacity);
    const old = this.heap.mem.read(h.entries, h.used * ENTRY);
    const oldIndex = this.heap.mem.read(h.index, h.slots * SLOT);
    const moved = new Int32Array(h.used).fill(-1);
    const packed = new Uint8Array(capacity * ENTRY);
    const ov = new DataView(old.buffer);
    let n = 0;
    for (let e = 0; e < h.used; e++) {
      if (ov.getUint32(e * ENTRY, true) === DELETED) continue;
      packed.set(old.subarray(e * ENTRY, (e + 1) * ENTRY), n * ENTRY);
      moved[e] = n++;
    }
    const index = new Uint8Array(slots * SLOT);
    const iv = new DataView(index.buffer), oiv = new DataView(oldIndex.buffer);
    for (let s = 0; s < h.slots; s++) {
      const e = oiv.getUint32(s * SLOT + 4, true);
      if (e === 0 || moved[e - 1] < 0) continue;
      const hash = oiv.getUint32(s * SLOT, true);
      let i = hash & (slots - 1);
      while (iv.getUint32(i * SLOT + 4, true) !== 0) i = (i + 1) & (slots - 1);
      iv.setUint32(i * SLOT, hash, true);
      iv.setUint32(i * SLOT + 4, moved[e - 1] + 1, true);
    }
    const next: Header = { count: n, used: n, capacity, entries: this.heap.alloc(capacity * ENTRY), slots, index: this.heap.alloc(slots * SLOT) };
    this.heap.mem.write(next.entries, packed.subarray(0, n * ENTRY));
    this.heap.mem.write(next.index, index);
    writeHeader(this.heap, this.addr, this.magic, this.serial, next);
    this.heap.free(h.entries);
    this.heap.free(h.index);
    return next;
  }
}

/** Frees a table (deeply): its entries' keys and values, then its blocks. */
export function freeTable(heap: Heap, addr: number): void {
  heap.mem.readInto(addr, hdr);
  const entries = hv.getUint32(20, true), used = hv.getUint32(12, true), index = hv.getUint32(28, true);
  const old = heap.mem.read(entries, used * ENTRY);
  heap.free(entries);
  heap.free(index);
  heap.mem.setU32(addr, 0);
  heap.free(addr);
  freeEntries(heap, old, used);
}

function freeEntries(heap: Heap, bytes: Uint8Array, count: number): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let e = 0; e < count; e++) {
    if (view.getUint32(e * ENTRY, true) === DELETED) continue;
    freeCell(heap, view, e * ENTRY);
    freeCell(heap, view, e * ENTRY + CELL_SIZE);
  }
}

function writeHeader(heap: Heap, addr: number, magic: number, serial: number, h: Header): void {
  hv.setUint32(0, magic, true);
  hv.setUint32(4, serial, true);
  hv.setUint32(8, h.count, true);
  hv.setUint32(12, h.used, true);
  hv.setUint32(16, h.capacity, true);
  hv.setUint32(20, h.entries, true);
  hv.setUint32(24, h.slots, true);
  hv.setUint32(28, h.index, true);
  heap.mem.write(addr, hdr);
}

function slotsFor(capacity: number): number {
  let slots = 16;
  while (slots < capacity * 2) slots *= 2;
  return slots;
}

function sameValueZero(a: number, b: number): boolean {
  return a === b || (a !== a && b !== b);
}

/** Tag, hash and comparable of a key (strings, bigints and references compare as UTF-8 bytes). */
function probe(key: unknown): Probe {
  switch (typeof key) {
    case "number": {
      const num = key === 0 ? 0 : key;
      f64[0] = num !== num ? NaN : num;
      return { tag: Tag.NUMBER, hash: mix(f64words[0] ^ Math.imul(f64words[1], 0x9e3779b1)), num, bytes: null, key };
    }
    case "string": return { tag: Tag.STRING, hash: fnv(key, 0x811c9dc5), num: 0, bytes: encoder.encode(key), key };
    case "bigint": {
      const text = key.toString();
      return { tag: Tag.BIGINT, hash: fnv(text, 0x2545f491), num: 0, bytes: encoder.encode(text), key };
    }
    case "boolean": return { tag: key ? Tag.TRUE : Tag.FALSE, hash: key ? 3 : 2, num: 0, bytes: null, key };
    case "undefined": return { tag: Tag.UNDEFINED, hash: 0, num: 0, bytes: null, key };
    default: {
      if (key === null) return { tag: Tag.NULL, hash: 1, num: 0, bytes: null, key };
      const sysname = sysnameOfRef(key)!;
      return { tag: Tag.REF, hash: fnv(sysname, 0x1b873593), num: 0, bytes: encoder.encode(sysname), key };
    }
  }
}

function fnv(s: string, seed: number): number {
  let h = seed;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return mix(h);
}

function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}
