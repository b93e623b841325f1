/**
 * ValueCell: how one persistent value is encoded in 16 bytes of object memory.
 *
 *   +0 u32 tag   +4 u32 aux   +8 8-byte payload
 *
 * Scalars live in the cell (a number's f64, a boolean in the tag); a string lives in a heap
 * block whose address is the payload and whose byte length is `aux`. Writing a cell frees
 * the heap block the old value owned. Tags are part of the stored format: never renumber.
 *
 * A cell is read and written whole, as one pinned access (MappedSegment `readInto` and
 * `exchange`), so an isiba never sees another's new tag with an old payload or half an f64.
 * A string's bytes are read after its cell, in a second access: the heap, not the cell,
 * must keep a block alive while another isiba may still read it.
 */
import type { MappedSegment } from "../ra-kernel/mapped-segment.js";
import type { Heap } from "./heap.js";

export const CELL_SIZE = 16;

export const Tag = {
  UNDEFINED: 0,
  NULL: 1,
  FALSE: 2,
  TRUE: 3,
  NUMBER: 4,
  STRING: 5,
} as const;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The type names a persistent field may hold (issue: more to come with the full heap). */
export const STORABLE_TYPES = "number, string, boolean, null or undefined";

/** Why `value` cannot be stored, or null if it can. */
export function unstorableType(value: unknown): string | null {
  switch (typeof value) {
    case "number":
    case "string":
    case "boolean":
    case "undefined":
      return null;
    case "object":
      if (value === null) return null;
      return (value as object).constructor?.name ?? "object";
    default:
      return typeof value;
  }
}

// Scratch cells: a cell is copied out of (or built before going into) object memory whole,
// so decoding never mixes two writes. One set per thread; nothing here re-enters.
const cell = new Uint8Array(CELL_SIZE);
const cellView = new DataView(cell.buffer);
const old = new Uint8Array(CELL_SIZE);
const oldView = new DataView(old.buffer);

/** Reads the cell as one pinned access, then decodes the copy. */
export function readCell(mem: MappedSegment, heapMem: MappedSegment, addr: number): unknown {
  mem.readInto(addr, cell);
  const tag = cellView.getUint32(0, true);
  switch (tag) {
    case Tag.UNDEFINED: return undefined;
    case Tag.NULL: return null;
    case Tag.FALSE: return false;
    case Tag.TRUE: return true;
    case Tag.NUMBER: return cellView.getFloat64(8, true);
    case Tag.STRING: return readString(heapMem, cellView.getUint32(8, true), cellView.getUint32(4, true));
    default: throw new Error(`corrupt object memory: unknown value tag ${tag} at ${addr} of ${mem.sysname}`);
  }
}

/**
 * Writes `value` (already checked storable) into the cell, then frees what the old value
 * owned. The new value's block is allocated first: if the heap is full the cell is unchanged.
 * The 16 bytes are swapped in as one pinned access, so a reader sees the old cell or the new
 * one, and of two racing writers each frees exactly the value it replaced.
 */
export function writeCell(mem: MappedSegment, heap: Heap, addr: number, value: unknown): void {
  const stored = typeof value === "string" ? writeString(heap, value) : null;
  encodeCell(value, stored);
  mem.exchange(addr, cell, old);
  if (oldView.getUint32(0, true) === Tag.STRING) heap.free(oldView.getUint32(8, true));
}

/** Builds the cell of `value` in the scratch cell (a string's block already written). */
function encodeCell(value: unknown, stored: { payload: number; length: number } | null): void {
  cell.fill(0);
  if (typeof value === "number") {
    cellView.setUint32(0, Tag.NUMBER, true);
    cellView.setFloat64(8, value, true);
  } else if (stored) {
    cellView.setUint32(0, Tag.STRING, true);
    cellView.setUint32(4, stored.length, true);
    cellView.setUint32(8, stored.payload, true);
  } else {
    cellView.setUint32(0, value === null ? Tag.NULL : value === true ? Tag.TRUE : value === false ? Tag.FALSE : Tag.UNDEFINED, true);
  }
}

export function writeString(heap: Heap, value: string): { payload: number; length: number } {
  const bytes = encoder.encode(value);
  const payload = heap.alloc(Math.max(bytes.length, 1));
  heap.mem.write(payload, bytes);
  return { payload, length: bytes.length };
}

export function readString(heapMem: MappedSegment, payload: number, length: number): string {
  return length === 0 ? "" : decoder.decode(heapMem.read(payload, length));
}
