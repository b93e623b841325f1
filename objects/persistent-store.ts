/**
 * PersistentStore: an object's persistent fields, laid out in its data segment.
 *
 * The data segment starts with a header and a table of field slots, one per field name,
 * appended in the order fields are first assigned and never moved (so a slot index, once
 * learned, stays right). Names and variable-sized values live in the persistent heap.
 *
 *   0  u32 magic 'CLDS'   4 u32 layout version   8 u32 field count   12 reserved
 *   16 + 32 i: slot i   +0 u32 name (heap address)  +4 u32 name bytes  +8 reserved (8)
 *                       +16 value cell (16 bytes, see ValueCell)
 *
 * Each isiba keeps a cache name -> slot. It is trusted only up to the field count it has
 * seen; a name it does not know makes it re-read the count (which touches page 0, so a
 * field added on another compute server is seen once its page is coherent).
 *
 * A field's value may be any storable value (StorableValue); containers live in the heap and
 * a field holding one reads as a live view (see ValueCell). Assignment checks the whole
 * value first: a TypeError names the field and the path inside it, and nothing changes.
 */
import type { MappedSegment } from "../ra-kernel/mapped-segment.js";
import type { Heap } from "./heap.js";
import { heapOf, readCell, readString, writeCell, writeString, type CellOwner } from "./value-cell.js";
import { checkValue } from "./storable-value.js";

// Layout, exported for the heap checker (heap-check.ts).
export const MAGIC = 0x53444c43;
export const VERSION = 1;
export const TABLE = 16;
export const SLOT = 32;
export const CELL_OFFSET = 16;

/** Returned by `get` for a name that is not a persistent field. */
export const NO_FIELD: unique symbol = Symbol("no-field");

export class PersistentStore implements CellOwner {
  readonly heap: Heap;
  private readonly slots = new Map<string, number>();
  private knownCount = 0;

  /** `data`: the data segment (read by the heap checker, heap-check.ts; written only through this store). */
  constructor(readonly data: MappedSegment, heapMem: MappedSegment) {
    this.heap = heapOf(heapMem);
  }

  /** The field's value, or NO_FIELD. */
  get(name: string): unknown {
    const slot = this.slotOf(name);
    return slot < 0 ? NO_FIELD : readCell(this.data, this.heap.mem, slotAddr(slot) + CELL_OFFSET, name, this, name);
  }

  /** The data segment, where the field cells are (CellOwner: a Date field's view writes there). */
  get cellMem(): MappedSegment {
    return this.data;
  }

  /** The address of field `name`'s cell (slots never move), or -1. */
  cellAddr(name: unknown): number {
    const slot = this.slotOf(name as string);
    return slot < 0 ? -1 : slotAddr(slot) + CELL_OFFSET;
  }

  has(name: string): boolean {
    return this.slotOf(name) >= 0;
  }

  /** Stores a value; throws TypeError (naming the field) before changing anything if it cannot be stored. */
  set(name: string, value: unknown): void {
    checkStorable(name, value);
    let slot = this.slotOf(name);
    if (slot < 0) slot = this.appendSlot(name);
    writeCell(this.data, this.heap, slotAddr(slot) + CELL_OFFSET, value);
  }

  /** Every field name, in the order they were first assigned. */
  names(): string[] {
    this.refresh();
    return [...this.slots.keys()];
  }

  private slotOf(name: string): number {
    const cached = this.slots.get(name);
    if (cached !== undefined) return cached;
    this.refresh();
    return this.slots.get(name) ?? -1;
  }

  /** Learns the slots appended since we last looked. */
  private refresh(): void {
    if (this.data.u32(0) !== MAGIC) return;
    const count = this.data.u32(8);
    for (let i = this.knownCount; i < count; i++) {
      const addr = slotAddr(i);
      this.slots.set(readString(this.heap.mem, this.data.u32(addr), this.data.u32(addr + 4)), i);
    }
    this.knownCount = count;
  }

  private appendSlot(name: string): number {
    this.ensureFormatted();
    const index = this.data.u32(8);
    const addr = slotAddr(index);
    if (addr + SLOT > this.data.maxBytes) throw new RangeError(`too many fields in one object (${index})`);
    const { payload, length } = writeString(this.heap, name);
    this.data.setU32(addr, payload);
    this.data.setU32(addr + 4, length);
    this.data.setU32(addr + CELL_OFFSET, 0);
    this.data.setU32(8, index + 1);
    this.refresh();
    return index;
  }

  private ensureFormatted(): void {
    if (this.data.u32(0) === MAGIC) return;
    this.data.setU32(0, MAGIC);
    this.data.setU32(4, VERSION);
    this.data.setU32(8, 0);
  }
}

function slotAddr(index: number): number {
  return TABLE + SLOT * index;
}

/** Throws a TypeError naming the field and the type when a value cannot be persistent. */
export function checkStorable(name: string, value: unknown): void {
  checkValue(value, name);
}

