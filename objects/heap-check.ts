/**
 * HeapCheck: the integrity check of one object's memory — its data segment (the persistent
 * fields) and its persistent heap — in the spirit of SQLite's `PRAGMA integrity_check`.
 *
 *   const report = checkObjectMemory(store.data, store.heap.mem);
 *   if (!report.ok) console.log(report.violations);   // "items[3].note: ... reached twice ..."
 *
 * What it checks, naming the first broken invariants by path (at most MAX_VIOLATIONS):
 *   - the allocator (heap.ts): header magic and layout version (2, or 1 for objects made
 *     before; an all-zero header is an empty version 2 heap, or one whose formatting a crash
 *     took back: top alone says where its blocks end); blocks tile [the version's start,
 *     top), each of a known size class, aligned as heap.ts aligns it, ending inside top;
 *   - version 2's slots: no two with the same owner words (but 0/0), a free one (0/0) with
 *     no free lists;
 *   - every free list (version 2: each slot's; version 1: the shared ones): blocks of its
 *     class, not marked USED, inside [start, top), no cycle, no block on two lists (a block
 *     marked free on no list is counted, not a violation: see findLostFreeBlocks; version 1's
 *     frees, and a server's when every slot is taken, leave such blocks on purpose);
 *   - everything reachable from the fields (field names, value cells, string / bigint /
 *     bytes / reference blocks, containers and what they hold): each the start of a USED
 *     block, reached once, big enough for what it holds; value tags known; a container's
 *     header has its kind's magic and the serial its cell holds; lengths within capacities;
 *     a table's count, used, index (every live entry found by exactly one index slot);
 *   - the heap header's live count is at least the number of blocks marked USED, less the
 *     leaked ones (see below).
 * USED blocks that nothing reaches are *leaked*: a crash may leave some (DESIGN §7a), and an
 * invocation still running holds the containers it removed until it ends (DeferredFrees),
 * so they are counted (`leakedBlocks`), not violations. So is a live count above the USED
 * blocks: the allocator's words are shared by every allocating segment and committed in
 * stamp order, so the count can include an allocation whose segment a crash lost (its block
 * was never marked USED: the space leaks, `lostAllocations`). It can also count fewer, by
 * lost frees: a free (its own segment, after the detaching one committed) decrements the
 * count and marks the block free; if another server's allocation built on that count and
 * committed before the free's server crashed, the count is one lower and the block stays
 * USED — unreachable, so leaked. A count below the USED blocks by more than the leaked ones
 * is a violation (`lostFrees` counts the rest).
 *
 * How: it copies the data segment's slot table and the heap's [0, top) first (reading
 * through the MappedSegment, so pages fault in as for any reader), then walks the copies.
 * The copy is not atomic: run it when no other thread writes the object (a test's end, or
 * holding the locks its writers take), or expect findings that are only races.
 * Strings are not checked for valid UTF-8.
 *
 * heap.ts keeps its layout private: the constants below repeat it (both versions). Keep
 * them in step; test/objects/heap-check.test.ts fails on a heap it cannot read.
 */
import type { MappedSegment } from "../ra-kernel/mapped-segment.js";
import { PAGE_SIZE } from "../ra-kernel/ids.js";
import { CELL_SIZE, Tag } from "./value-cell.js";
import { HEADER as ARRAY_HEADER, MAGIC as ARRAY_MAGIC } from "./persistent-array.js";
import { DELETED, ENTRY, HEADER as TABLE_HEADER, SLOT as INDEX_SLOT, type Header as TableHeader } from "./heap-table.js";
import { MAGIC as MAP_MAGIC } from "./persistent-map.js";
import { MAGIC as SET_MAGIC } from "./persistent-set.js";
import { MAGIC as RECORD_MAGIC } from "./persistent-record.js";
import { CELL_OFFSET, MAGIC as DATA_MAGIC, SLOT as FIELD_SLOT, TABLE as FIELD_TABLE, VERSION as DATA_VERSION } from "./persistent-store.js";

// heap.ts's layout: page 0 header, size classes, block header (see its file header).
const HEAP_MAGIC = 0x50414548;
const CLASSES = 27;
const BLOCK_HEADER = 8;
const USED = 0x8000_0000;
// Version 2: one slot (owner words, free-list heads) per compute server.
const SLOTS = 16;
const SLOT_TABLE = 16;
const SLOT_BYTES = 8 + 4 * CLASSES;
const V2_START = Math.ceil((SLOT_TABLE + SLOTS * SLOT_BYTES) / 16) * 16;
// Version 1: one shared set of free lists.
const V1_FREE_LISTS = 16;
const V1_START = Math.ceil((V1_FREE_LISTS + 4 * CLASSES) / 16) * 16;

/** Violations listed in a report; more are summed up in one last line. */
export const MAX_VIOLATIONS = 25;
/** Bytes copied per read of the heap. */
const COPY_CHUNK = 64 * PAGE_SIZE;

export interface HeapReport {
  /** No violation found. */
  ok: boolean;
  /** Each broken invariant, naming where (a field path, a block address, a free list). */
  violations: string[];
  /** USED blocks that nothing reachable points to. */
  leakedBlocks: number;
  /** Allocations the live count holds whose blocks were never marked USED (a crash lost them). */
  lostAllocations: number;
  /** Frees the live count holds whose blocks are still marked USED (a crash lost them): leaked. */
  lostFrees: number;
  /** Blocks marked free but on no free list (popped by an allocation a crash lost, or a free that goes on no list: heap.ts): leaked. */
  unlistedFreeBlocks: number;
  /** USED blocks reached from the fields. */
  liveBlocks: number;
  /** Blocks on the free lists. */
  freeBlocks: number;
}

/** Checks the object memory mapped by `data` and `heap` (copied first: see the header). */
export function checkObjectMemory(data: MappedSegment, heap: MappedSegment): HeapReport {
  return checkImages(copyData(data), copyHeap(heap));
}

/** Checks copies of a data segment (from 0) and a heap segment (from 0 to at least top). */
export function checkImages(data: Uint8Array, heap: Uint8Array): HeapReport {
  return new HeapCheck(data, heap).run();
}

function copyData(mem: MappedSegment): Uint8Array {
  if (mem.u32(0) !== DATA_MAGIC) return mem.read(0, FIELD_TABLE);
  const count = mem.u32(8);
  return mem.read(0, Math.min(mem.maxBytes, FIELD_TABLE + FIELD_SLOT * count));
}

function copyHeap(mem: MappedSegment): Uint8Array {
  const length = Math.min(mem.maxBytes, Math.max(V2_START, mem.u32(8)));
  const out = new Uint8Array(length);
  for (let at = 0; at < length; at += COPY_CHUNK) out.set(mem.read(at, Math.min(COPY_CHUNK, length - at)), at);
  return out;
}

/** One block of the tiling: its size class, whether marked USED, whether its header word is 0. */
interface Block {
  k: number;
  used: boolean;
  zero: boolean;
}

/** A value cell still to visit: in which image, where, and its path. */
interface CellTask {
  image: DataView;
  at: number;
  path: string;
}

const decoder = new TextDecoder();

class HeapCheck {
  private readonly violations: string[] = [];
  private unlisted = 0;
  /** Blocks marked free on no free list (findLostFreeBlocks). */
  private unlistedFree = 0;
  private readonly data: DataView;
  private readonly heap: DataView;
  /** The heap's layout version (1 or 2) and where its first block goes. */
  private version = 2;
  private start = V2_START;
  private top = V2_START;
  /** Blocks by address, from the tiling of [start, tiledTo). */
  private readonly blocks = new Map<number, Block>();
  private tiledTo = V2_START;
  /** Block -> the free list it is on. */
  private readonly free = new Map<number, string>();
  /** Block -> path of the first cell that reached it. */
  private readonly reached = new Map<number, string>();
  private readonly tasks: CellTask[] = [];

  constructor(data: Uint8Array, heap: Uint8Array) {
    this.data = new DataView(data.buffer, data.byteOffset, data.byteLength);
    this.heap = new DataView(heap.buffer, heap.byteOffset, heap.byteLength);
  }

  run(): HeapReport {
    const readable = this.checkHeader();
    if (readable) {
      this.tile();
      this.walkFreeLists();
      this.findLostFreeBlocks();
    }
    this.walkFields(readable);
    return this.report(readable);
  }

  private violation(message: string): void {
    if (this.violations.length < MAX_VIOLATIONS) this.violations.push(message);
    else this.unlisted++;
  }

  private u32(image: DataView, at: number): number {
    return at >= 0 && at + 4 <= image.byteLength ? image.getUint32(at, true) : 0;
  }

  // ---- allocator -----------------------------------------------------------------------

  /** Whether the heap's layout could be read (an all-zero header: an empty version 2 heap); checks its header. */
  private checkHeader(): boolean {
    const magic = this.u32(this.heap, 0), version = this.u32(this.heap, 4);
    if (magic !== HEAP_MAGIC && (magic !== 0 || version !== 0)) {
      this.violation(`heap header: magic 0x${hex(magic)}${magic === 0 ? ` with version ${version}` : ""}, not 'HEAP'`);
      return false;
    }
    if (magic !== 0 && version !== 1 && version !== 2) {
      this.violation(`heap header: layout version ${version}, this checker reads 1 and 2`);
      return false;
    }
    this.version = version === 1 ? 1 : 2;
    this.start = this.tiledTo = version === 1 ? V1_START : V2_START;
    this.checkTop(this.u32(this.heap, 8));
    return true;
  }

  /** Top 0: nothing allocated (the blocks start at `start`). */
  private checkTop(top: number): void {
    this.top = top === 0 ? this.start : top;
    if (top !== 0 && (top < this.start || top > this.heap.byteLength)) {
      this.violation(`heap header: top ${top} outside [${this.start}, ${this.heap.byteLength}] (the segment)`);
      this.top = Math.min(Math.max(top, this.start), this.heap.byteLength);
    }
  }

  /** Walks the blocks laid end to end from the start to top; stops at the first that does not fit. */
  private tile(): void {
    let at = this.start;
    while (at < this.top) {
      const word = this.u32(this.heap, at);
      const k = word & ~USED;
      if (k >= CLASSES) return this.tileBroken(at, `header word 0x${hex(word)} names no size class`);
      const size = 16 << k;
      if (at % Math.min(size, PAGE_SIZE) !== 0) return this.tileBroken(at, `a block of ${size} B is not aligned to ${Math.min(size, PAGE_SIZE)}`);
      if (at + size > this.top) return this.tileBroken(at, `a block of ${size} B ends at ${at + size}, past top ${this.top}`);
      this.blocks.set(at, { k, used: (word & USED) !== 0, zero: word === 0 });
      at += size;
    }
    this.tiledTo = this.top;
  }

  private tileBroken(at: number, why: string): void {
    this.tiledTo = at;
    this.violation(`heap blocks: at ${at}: ${why} (blocks from there on are not checked)`);
  }

  private walkFreeLists(): void {
    if (this.version === 1) {
      for (let k = 0; k < CLASSES; k++) this.walkFreeList(`free list ${k}`, k, this.u32(this.heap, V1_FREE_LISTS + 4 * k));
      return;
    }
    const owners = new Map<string, number>();
    for (let i = 0; i < SLOTS; i++) this.checkSlot(i, owners);
  }

  /** Version 2's slot i: a free one (owner 0/0) has no lists; an owner has one slot; its lists walked. */
  private checkSlot(i: number, owners: Map<string, number>): void {
    const at = SLOT_TABLE + SLOT_BYTES * i;
    const lo = this.u32(this.heap, at), hi = this.u32(this.heap, at + 4);
    const head = (k: number) => this.u32(this.heap, at + 8 + 4 * k);
    if (lo === 0 && hi === 0) {
      for (let k = 0; k < CLASSES; k++) if (head(k) !== 0) this.violation(`slot ${i}: free (owner 0/0) but its free list ${k} starts at ${head(k)}`);
      return;
    }
    const owner = `0x${hex(hi)}${hex(lo)}`;
    const other = owners.get(owner);
    if (other !== undefined) this.violation(`slot ${i}: the same owner (${owner}) as slot ${other}`);
    owners.set(owner, i);
    for (let k = 0; k < CLASSES; k++) this.walkFreeList(`slot ${i} free list ${k}`, k, head(k));
  }

  private walkFreeList(name: string, k: number, head: number): void {
    const list = `${name} (${16 << k} B blocks)`;
    const seen = new Set<number>();
    for (let at = head; at !== 0; at = this.u32(this.heap, at + BLOCK_HEADER)) {
      if (seen.has(at)) return this.violation(`${list}: a cycle back to block ${at}`);
      seen.add(at);
      const why = this.freeListBlockProblem(k, at);
      if (why) return this.violation(`${list}: block ${at} ${why}`);
      this.free.set(at, name);
    }
  }

  private freeListBlockProblem(k: number, at: number): string | null {
    if (at < this.start || at + (16 << k) > this.top) return `is outside the heap [${this.start}, ${this.top})`;
    if (at >= this.tiledTo) return "is past the blocks that could be checked";
    const b = this.blocks.get(at);
    if (!b) return "is not the start of a block (inside another block)";
    if (b.used) return "is marked USED (in use and free at once)";
    if (b.k !== k) return b.zero ? "is a never-allocated gap or a free 16 B block" : `is of size class ${b.k}`;
    const other = this.free.get(at);
    if (other !== undefined) return `is also on ${other}`;
    return null;
  }

  /**
   * Blocks marked free that are on no free list: an allocation popped them, but a crash lost
   * its segment's mark of the block while a later allocation's update of the list head
   * committed (the allocator's words commit in stamp order); or a free that went on no list
   * (version 1, or every slot taken): leaked, like `lostAllocations`.
   * (A 16 B one cannot be told from a gap.)
   */
  private findLostFreeBlocks(): void {
    for (const [at, b] of this.blocks) if (!b.used && !b.zero && !this.free.has(at)) this.unlistedFree++;
  }

  // ---- reachability --------------------------------------------------------------------

  private walkFields(readable: boolean): void {
    const magic = this.u32(this.data, 0);
    if (magic === 0) return;
    if (magic !== DATA_MAGIC) return this.violation(`data segment: magic 0x${hex(magic)}, not 'CLDS'`);
    const version = this.u32(this.data, 4);
    if (version !== DATA_VERSION) this.violation(`data segment: layout version ${version}, this checker reads ${DATA_VERSION}`);
    const count = this.u32(this.data, 8);
    if (count > 0 && !readable) return this.violation(`data segment: ${count} fields, but the heap holding their names cannot be read`);
    for (let i = 0; i < count; i++) {
      const slot = FIELD_TABLE + FIELD_SLOT * i;
      if (slot + FIELD_SLOT > this.data.byteLength) return this.violation(`data segment: field count ${count} runs past the segment at field ${i}`);
      this.tasks.push({ image: this.data, at: slot + CELL_OFFSET, path: this.fieldName(slot, i) });
      this.drain();
    }
  }

  /** The field's name (its block checked), or `field #i` if it cannot be read. */
  private fieldName(slot: number, i: number): string {
    const payload = this.u32(this.data, slot), length = this.u32(this.data, slot + 4);
    if (!this.mark(payload, Math.max(length, 1), `field #${i}`, "name")) return `field #${i}`;
    return decoder.decode(new Uint8Array(this.heap.buffer, this.heap.byteOffset + payload, length));
  }

  private drain(): void {
    for (let task = this.tasks.pop(); task; task = this.tasks.pop()) this.visitCell(task);
  }

  private visitCell({ image, at, path }: CellTask): void {
    const tag = this.u32(image, at), aux = this.u32(image, at + 4), payload = this.u32(image, at + 8);
    switch (tag) {
      case Tag.UNDEFINED: case Tag.NULL: case Tag.FALSE: case Tag.TRUE: case Tag.NUMBER: case Tag.DATE: return;
      case Tag.STRING: case Tag.BIGINT: case Tag.REF:
        this.mark(payload, Math.max(aux, 1), path, tagName(tag));
        return;
      case Tag.BYTES: // a serial word before the bytes, unless stored before views (serial 0)
        this.mark(payload, Math.max(aux + (this.u32(image, at + 12) === 0 ? 0 : 4), 1), path, tagName(tag));
        return;
      case Tag.ARRAY: return this.visitArray(payload, aux, path);
      case Tag.RECORD: case Tag.MAP: case Tag.SET: return this.visitTable(tag, payload, aux, path);
      default: return this.violation(`${path}: garbage value tag ${tag} (cell at ${at} of the ${image === this.data ? "data segment" : "heap"})`);
    }
  }

  /**
   * Claims the block whose payload is at `payload` for `path`: true if it is a USED block,
   * reached for the first time, with room for `need` bytes (its contents may then be read).
   */
  private mark(payload: number, need: number, path: string, what: string): boolean {
    const at = payload - BLOCK_HEADER;
    if (at < this.start || payload + need > this.top) return this.refuse(`${path}: ${what} at ${payload} (${need} B) is outside the heap [${this.start}, ${this.top})`);
    if (at >= this.tiledTo) return true;
    const b = this.blocks.get(at);
    if (!b) return this.refuse(`${path}: ${what} at ${payload} is not the start of a block (it points inside another block or a gap)`);
    if (!b.used) return this.refuse(`${path}: ${what} at ${payload} points into a free block${this.free.has(at) ? " (on its free list)" : ""}`);
    const first = this.reached.get(at);
    if (first !== undefined) return this.refuse(`block ${at} reached twice (double use): by ${first} and by ${path} (${what})`);
    this.reached.set(at, path);
    if (need > (16 << b.k) - BLOCK_HEADER) return this.refuse(`${path}: ${what} needs ${need} B, its block at ${at} holds ${(16 << b.k) - BLOCK_HEADER}`);
    return true;
  }

  private refuse(message: string): false {
    this.violation(message);
    return false;
  }

  private visitArray(addr: number, serial: number, path: string): void {
    if (!this.mark(addr, ARRAY_HEADER, path, "array header")) return;
    if (!this.containerIs(addr, ARRAY_MAGIC, serial, path, "array")) return;
    const length = this.u32(this.heap, addr + 8), capacity = this.u32(this.heap, addr + 12), cells = this.u32(this.heap, addr + 16);
    if (length > capacity) return this.violation(`${path}: array length ${length} exceeds its capacity ${capacity}`);
    if (capacity === 0) {
      if (cells !== 0) this.violation(`${path}: array of capacity 0 has a cells block (${cells})`);
      return;
    }
    if (!this.mark(cells, capacity * CELL_SIZE, `${path}`, `cells block (capacity ${capacity})`)) return;
    for (let i = length - 1; i >= 0; i--) this.tasks.push({ image: this.heap, at: cells + i * CELL_SIZE, path: `${path}[${i}]` });
  }

  /** The container header's magic and serial are its cell's (else one violation). */
  private containerIs(addr: number, magic: number, serial: number, path: string, kind: string): boolean {
    const m = this.u32(this.heap, addr), s = this.u32(this.heap, addr + 4);
    if (m !== magic) return this.refuse(`${path}: ${kind} header at ${addr} has magic 0x${hex(m)}, not the ${kind}'s 0x${hex(magic)}`);
    if (s !== serial) return this.refuse(`${path}: ${kind} header at ${addr} has serial ${s}, its cell says ${serial}`);
    return true;
  }

  private visitTable(tag: number, addr: number, serial: number, path: string): void {
    const kind = tag === Tag.MAP ? "Map" : tag === Tag.SET ? "Set" : "object";
    if (!this.mark(addr, TABLE_HEADER, path, `${kind} header`)) return;
    if (!this.containerIs(addr, tableMagic(tag), serial, path, kind)) return;
    const h = this.tableHeader(addr);
    const why = tableShapeProblem(h);
    if (why) return this.violation(`${path}: ${kind} header ${why}`);
    if (!this.mark(h.entries, h.capacity * ENTRY, path, `${kind} entries (capacity ${h.capacity})`)) return;
    if (!this.mark(h.index, h.slots * INDEX_SLOT, path, `${kind} index (${h.slots} slots)`)) return;
    const refs = this.indexRefs(h, path, kind);
    if (refs) this.visitEntries(tag, h, refs, path, kind);
  }

  private tableHeader(addr: number): TableHeader {
    const u = (off: number) => this.u32(this.heap, addr + off);
    return { count: u(8), used: u(12), capacity: u(16), entries: u(20), slots: u(24), index: u(28) };
  }

  /** How many index slots name each entry; null (after a violation) if a slot is out of range. */
  private indexRefs(h: TableHeader, path: string, kind: string): Uint32Array | null {
    const refs = new Uint32Array(h.used);
    for (let s = 0; s < h.slots; s++) {
      const e = this.u32(this.heap, h.index + s * INDEX_SLOT + 4);
      if (e === 0) continue;
      if (e > h.used) return this.violation(`${path}: ${kind} index slot ${s} names entry ${e - 1}, past the ${h.used} used`), null;
      refs[e - 1]++;
    }
    return refs;
  }

  private visitEntries(tag: number, h: TableHeader, refs: Uint32Array, path: string, kind: string): void {
    let live = 0;
    for (let e = h.used - 1; e >= 0; e--) {
      const at = h.entries + e * ENTRY;
      const keyTag = this.u32(this.heap, at);
      if (keyTag === DELETED) continue;
      live++;
      if (!isKeyTag(keyTag)) {
        this.violation(`${path}: ${kind} entry ${e} has key tag ${keyTag} (not a key kind)`);
        continue;
      }
      const key = this.keyLabel(at, keyTag);
      if (refs[e] !== 1) this.violation(`${path}: ${kind} entry ${e} (key ${key}) is named by ${refs[e]} index slots, not 1 (lookups ${refs[e] === 0 ? "miss it" : "are ambiguous"})`);
      const valuePath = tag === Tag.RECORD && keyTag === Tag.STRING ? `${path}.${key.slice(1, -1)}` : `${path}[${key}]`;
      this.tasks.push({ image: this.heap, at: at + CELL_SIZE, path: valuePath });
      this.tasks.push({ image: this.heap, at, path: `${path} key ${key}` });
    }
    if (live !== h.count) this.violation(`${path}: ${kind} header counts ${h.count} entries, ${live} are live`);
  }

  /** A key as text for paths (strings quoted); never throws on a bad key. */
  private keyLabel(at: number, tag: number): string {
    if (tag === Tag.NUMBER) return String(this.heap.getFloat64(at + 8, true));
    if (tag !== Tag.STRING && tag !== Tag.BIGINT && tag !== Tag.REF) return tagName(tag);
    const length = this.u32(this.heap, at + 4), payload = this.u32(this.heap, at + 8);
    if (payload + length > this.heap.byteLength) return `<${tagName(tag)} out of the heap>`;
    const text = decoder.decode(new Uint8Array(this.heap.buffer, this.heap.byteOffset + payload, Math.min(length, 64)));
    return tag === Tag.STRING ? JSON.stringify(text) : text;
  }

  // ---- totals --------------------------------------------------------------------------

  private report(readable: boolean): HeapReport {
    let usedBlocks = 0;
    for (const b of this.blocks.values()) if (b.used) usedBlocks++;
    const live = readable ? this.u32(this.heap, 12) : 0;
    const leaked = usedBlocks - this.reached.size;
    // Each lost free leaves one USED block nothing reaches (see header): more is a miscount.
    if (readable && this.tiledTo === this.top && usedBlocks - live > leaked) {
      this.violation(`heap header counts ${live} live blocks, but ${usedBlocks} blocks are marked USED and only ${leaked} of them are leaked`);
    }
    const violations = [...this.violations];
    if (this.unlisted > 0) violations.push(`... and ${this.unlisted} more`);
    return {
      ok: violations.length === 0,
      violations,
      leakedBlocks: leaked,
      lostAllocations: readable ? Math.max(0, live - usedBlocks) : 0,
      lostFrees: readable ? Math.max(0, usedBlocks - live) : 0,
      unlistedFreeBlocks: this.unlistedFree,
      liveBlocks: this.reached.size,
      freeBlocks: this.free.size,
    };
  }
}

/** What is wrong with a table header's numbers, or null. */
function tableShapeProblem(h: TableHeader): string | null {
  if (h.count > h.used || h.used > h.capacity) return `has count ${h.count}, used ${h.used}, capacity ${h.capacity} (want count <= used <= capacity)`;
  if (h.slots < 16 || (h.slots & (h.slots - 1)) !== 0) return `has ${h.slots} index slots (want a power of two, at least 16)`;
  if (h.slots <= h.used) return `has ${h.slots} index slots for ${h.used} used entries (probing would not end)`;
  return null;
}

function tableMagic(tag: number): number {
  return tag === Tag.MAP ? MAP_MAGIC : tag === Tag.SET ? SET_MAGIC : RECORD_MAGIC;
}

function isKeyTag(tag: number): boolean {
  return tag <= Tag.STRING || tag === Tag.BIGINT || tag === Tag.REF;
}

function tagName(tag: number): string {
  const name = Object.entries(Tag).find(([, v]) => v === tag)?.[0];
  return name ? name.toLowerCase() : `tag ${tag}`;
}

function hex(n: number): string {
  return n.toString(16).padStart(8, "0");
}
