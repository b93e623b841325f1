/**
 * ValueCell: how one persistent value is encoded in 16 bytes of object memory.
 *
 *   +0 u32 tag   +4 u32 aux   +8 8-byte payload
 *
 * Scalars live in the cell (a number's f64, a boolean in the tag); a string lives in a heap
 * block whose address is the payload and whose byte length is `aux`. Writing a cell frees
 * the heap block the old value owned. Tags are part of the stored format: never renumber.
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

export function readCell(mem: MappedSegment, heapMem: MappedSegment, addr: number): unknown {
  const tag = mem.u32(addr);
  switch (tag) {
    case Tag.UNDEFINED: return undefined;
    case Tag.NULL: return null;
    case Tag.FALSE: return false;
    case Tag.TRUE: return true;
    case Tag.NUMBER: return mem.f64(addr + 8);
    case Tag.STRING: return readString(heapMem, mem.u32(addr + 8), mem.u32(addr + 4));
    default: throw new Error(`corrupt object memory: unknown value tag ${tag} at ${addr} of ${mem.sysname}`);
  }
}

/**
 * Writes `value` (already checked storable) into the cell, then frees what the old value
 * owned. The new value's block is allocated first: if the heap is full the cell is unchanged.
 */
export function writeCell(mem: MappedSegment, heap: Heap, addr: number, value: unknown): void {
  const stored = typeof value === "string" ? writeString(heap, value) : null;
  releaseCell(mem, heap, addr);
  if (typeof value === "number") {
    mem.setF64(addr + 8, value);
    mem.setU32(addr, Tag.NUMBER);
  } else if (stored) {
    const { payload, length } = stored;
    mem.setU32(addr + 4, length);
    mem.setU32(addr + 8, payload);
    mem.setU32(addr, Tag.STRING);
  } else {
    mem.setU32(addr, value === null ? Tag.NULL : value === true ? Tag.TRUE : value === false ? Tag.FALSE : Tag.UNDEFINED);
  }
}

function releaseCell(mem: MappedSegment, heap: Heap, addr: number): void {
  if (mem.u32(addr) === Tag.STRING) heap.free(mem.u32(addr + 8));
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
