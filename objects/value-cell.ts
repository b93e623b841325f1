/**
 * ValueCell: how one persistent value is encoded in 16 bytes of object memory.
 *
 *   +0 u32 tag   +4 u32 aux   +8 8-byte payload
 *
 * Scalars live in the cell (a number's or a Date's f64, a boolean in the tag; a Date's aux
 * is a random serial that tells it from another Date stored in its place). A string, bigint
 * (decimal text), Uint8Array or object reference (its sysname) lives in a heap block whose
 * address is the payload and whose byte length is `aux`; a Uint8Array's serial, also in its
 * block, is the word at +12 (PersistentBytes). A container (array, plain
 * object, Map, Set) lives in heap blocks whose header address is the payload; `aux` is the
 * container's serial, also in its header, so a view never mistakes a reused block for its
 * container (see PersistentArray, HeapTable). A cell owns what it points to: writing a cell
 * frees (deeply) what the old value owned — a container at the end of the invocation
 * (DeferredFrees), so a view read before the write stays readable until then. Tags are
 * part of the stored format: never renumber, only append.
 *
 * A cell is read and written whole, as one pinned access (MappedSegment `readInto` and
 * `exchange`), so an isiba never sees another's new tag with an old payload or half an f64.
 * A block's bytes are read after its cell, in a second access: the heap, not the cell,
 * must keep a block alive while another isiba may still read it.
 *
 * Reading a container or a Uint8Array gives a live view (persistent-array, -record, -map,
 * -set, -bytes): mutating it writes object memory. Reading a Date through a CellOwner gives
 * a PersistentDate, whose setters write its cell; without one (plain copies: copyOut, sort's
 * comparator) a plain Date. Writing any value (a view included) copies it in. A bytes block
 * is freed like a container (at the end of the invocation: views read before stay usable).
 * Values are checked first (StorableValue) by the callers: these functions assume it.
 */
import { scratchBytes, scratchView, type MappedSegment } from "../ra-kernel/mapped-segment.js";
import type { SysName } from "../ra-kernel/ids.js";
import { Heap } from "./heap.js";
import { refTo, sysnameOfRef } from "./object-ref.js";
import { kindOf } from "./storable-value.js";
import * as PersistentArray from "./persistent-array.js";
import * as PersistentRecord from "./persistent-record.js";
import * as PersistentMap from "./persistent-map.js";
import * as PersistentSet from "./persistent-set.js";
import * as PersistentBytes from "./persistent-bytes.js";
import { PersistentDate } from "./persistent-date.js";
import { deferFree } from "./deferred-frees.js";
import { newSerial } from "./heap-views.js";

export const CELL_SIZE = 16;

export const Tag = {
  UNDEFINED: 0,
  NULL: 1,
  FALSE: 2,
  TRUE: 3,
  NUMBER: 4,
  STRING: 5,
  BIGINT: 6,
  DATE: 7,
  BYTES: 8,
  ARRAY: 9,
  RECORD: 10,
  MAP: 11,
  SET: 12,
  REF: 13,
} as const;

export { STORABLE_TYPES, unstorableType } from "./storable-value.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// Scratch cells: a cell is copied out of (or built before going into) object memory whole,
// so decoding never mixes two writes. Decoding takes what it needs out of `cell` before any
// nested access; encoding writes the cell's bytes only after every nested block is built.
const cell = scratchBytes(CELL_SIZE);
const cellView = scratchView(cell);
const old = scratchBytes(CELL_SIZE);
const oldView = scratchView(old);

/**
 * What holds cells a view must find again (PersistentStore: fields; ArrayHandle: elements;
 * HeapTable: values): the segment, and where the cell `key` names is now. A Date is stored
 * inline and cells move (array edits, table rebuilds), so its view keeps owner and key.
 */
export interface CellOwner {
  readonly cellMem: MappedSegment;
  /** The cell's address now, or -1 if there is none; StaleViewError if the owner is gone. */
  cellAddr(key: unknown): number;
}

const heaps = new WeakMap<MappedSegment, Heap>();

/** The Heap of a heap segment (one per mapped segment: views allocate through it). */
export function heapOf(heapMem: MappedSegment): Heap {
  let heap = heaps.get(heapMem);
  if (!heap) {
    heap = new Heap(heapMem);
    heaps.set(heapMem, heap);
  }
  return heap;
}

/**
 * Reads the cell as one pinned access, then decodes the copy. `path` names it in errors;
 * `owner` and `key` (how to find the cell again) make a Date a live PersistentDate.
 */
export function readCell(mem: MappedSegment, heapMem: MappedSegment, addr: number, path = "value", owner?: CellOwner, key?: unknown): unknown {
  mem.readInto(addr, cell);
  return decodeCell(cellView, 0, heapMem, path, `${addr} of ${mem.sysname}`, owner, key);
}

/** Decodes the cell at `view[off]` (a private copy); `owner` and `key` as for readCell. */
export function decodeCell(view: DataView, off: number, heapMem: MappedSegment, path: string, where = "?", owner?: CellOwner, key?: unknown): unknown {
  const tag = view.getUint32(off, true);
  switch (tag) {
    case Tag.UNDEFINED: return undefined;
    case Tag.NULL: return null;
    case Tag.FALSE: return false;
    case Tag.TRUE: return true;
    case Tag.NUMBER: return view.getFloat64(off + 8, true);
    case Tag.DATE: {
      const time = view.getFloat64(off + 8, true);
      return owner ? PersistentDate.attach(time, owner, key, view.getUint32(off + 4, true), path) : new Date(time);
    }
    default: break;
  }
  const aux = view.getUint32(off + 4, true), payload = view.getUint32(off + 8, true);
  switch (tag) {
    case Tag.STRING: return readString(heapMem, payload, aux);
    case Tag.BIGINT: return BigInt(readString(heapMem, payload, aux));
    case Tag.REF: return refTo(readString(heapMem, payload, aux) as SysName);
    case Tag.BYTES: return PersistentBytes.view(heapOf(heapMem), payload, aux, view.getUint32(off + 12, true), path);
    case Tag.ARRAY: return PersistentArray.view(heapOf(heapMem), payload, aux, path);
    case Tag.RECORD: return PersistentRecord.view(heapOf(heapMem), payload, aux, path);
    case Tag.MAP: return PersistentMap.view(heapOf(heapMem), payload, aux, path);
    case Tag.SET: return PersistentSet.view(heapOf(heapMem), payload, aux, path);
    default: throw new Error(`corrupt object memory: unknown value tag ${tag} at ${where}`);
  }
}

/**
 * Writes `value` (already checked storable) into the cell, then frees what the old value
 * owned. The new value's blocks are built first: if the heap is full the cell is unchanged.
 * The 16 bytes are swapped in as one pinned access, so a reader sees the old cell or the new
 * one, and of two racing writers each frees exactly the value it replaced.
 */
export function writeCell(mem: MappedSegment, heap: Heap, addr: number, value: unknown): void {
  encodeCell(cellView, 0, heap, value);
  mem.exchange(addr, cell, old);
  freeCell(heap, oldView, 0);
}

/**
 * Encodes `value` into the 16 bytes at `view[off]`, building the heap blocks it needs first.
 * `view` may be the scratch cell: nested encodings finish before its bytes are written.
 */
export function encodeCell(view: DataView, off: number, heap: Heap, value: unknown): void {
  let tag: number, aux = 0, payload = 0, high = 0, f64: number | null = null;
  switch (typeof value) {
    case "number": tag = Tag.NUMBER; f64 = value; break;
    case "boolean": tag = value ? Tag.TRUE : Tag.FALSE; break;
    case "undefined": tag = Tag.UNDEFINED; break;
    case "string": ({ payload, length: aux } = writeString(heap, value)); tag = Tag.STRING; break;
    case "bigint": ({ payload, length: aux } = writeString(heap, value.toString())); tag = Tag.BIGINT; break;
    default: {
      if (value === null) { tag = Tag.NULL; break; }
      const sysname = sysnameOfRef(value);
      if (sysname !== undefined) { ({ payload, length: aux } = writeString(heap, sysname)); tag = Tag.REF; break; }
      tag = kindOf(value);
      if (tag === Tag.DATE) {
        f64 = (value as Date).getTime();
        aux = newSerial();
      } else if (tag === Tag.BYTES) ({ payload, length: aux, serial: high } = PersistentBytes.create(heap, value));
      else ({ addr: payload, serial: aux } = containerModule(tag).create(heap, value));
    }
  }
  view.setUint32(off, tag, true);
  view.setUint32(off + 4, aux, true);
  if (f64 !== null) view.setFloat64(off + 8, f64 !== f64 ? NaN : f64, true);
  else {
    view.setUint32(off + 8, payload, true);
    view.setUint32(off + 12, high, true);
  }
}

/**
 * Frees (deeply) what the cell at `view[off]` owns. Inside an invocation every block is
 * freed only after its commit (DeferredFrees: Heap.free defers), so views of what it held
 * (a container, a byte array) stay readable until then; a container is also walked then.
 */
export function freeCell(heap: Heap, view: DataView, off: number): void {
  const tag = view.getUint32(off, true);
  if (tag <= Tag.NUMBER || tag === Tag.DATE) return;
  const payload = view.getUint32(off + 8, true);
  if (tag === Tag.STRING || tag === Tag.BIGINT || tag === Tag.REF || tag === Tag.BYTES) heap.free(payload);
  else if (tag >= Tag.ARRAY && tag <= Tag.SET) {
    const module = containerModule(tag);
    deferFree(() => module.free(heap, payload));
  }
}

/** Whether a cell's tag owns heap blocks (so the cell must be freed when overwritten). */
export function ownsBlocks(tag: number): boolean {
  return tag > Tag.NUMBER && tag !== Tag.DATE;
}

interface ContainerModule {
  create(heap: Heap, value: unknown): { addr: number; serial: number };
  free(heap: Heap, addr: number): void;
}

function containerModule(tag: number): ContainerModule {
  switch (tag) {
    case Tag.ARRAY: return PersistentArray;
    case Tag.RECORD: return PersistentRecord;
    case Tag.MAP: return PersistentMap;
    case Tag.SET: return PersistentSet;
    default: throw new Error(`not a container tag: ${tag}`);
  }
}

export function writeString(heap: Heap, value: string): { payload: number; length: number } {
  return writeBytes(heap, encoder.encode(value));
}

export function writeBytes(heap: Heap, bytes: Uint8Array): { payload: number; length: number } {
  const payload = heap.alloc(Math.max(bytes.length, 1));
  if (bytes.length > 0) heap.mem.write(payload, bytes);
  return { payload, length: bytes.length };
}

export function readString(heapMem: MappedSegment, payload: number, length: number): string {
  return length === 0 ? "" : decoder.decode(heapMem.read(payload, length));
}
