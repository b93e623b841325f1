/**
 * ArrayEdits: the mutating Array methods of a persistent array's view, done on raw cells.
 *
 *   push pop shift unshift splice reverse sort fill copyWithin
 *
 * Each has Array.prototype's meaning and return value (the view itself for reverse, sort,
 * fill and copyWithin; the new length for push and unshift). None goes through the generic
 * algorithms over the proxy's traps: those move an element by writing a *copy* of it
 * (a cell owns its blocks), so `shift` would re-encode every element and free the blocks
 * the element it returns still points at. Here instead:
 *
 * - Surviving elements move as raw 16-byte cells (persistent-array ArrayHandle
 *   `moveCells`): what a cell owns moves with it, nothing is re-encoded, and views of
 *   surviving nested elements stay valid (same blocks, same serials).
 * - Inserted values are checked (StorableValue) and encoded before anything changes: a bad
 *   value, or a full heap, leaves the array as it was.
 * - Removed elements are returned as plain copies (toPlain), taken before their blocks are
 *   freed: the caller may keep and use them (and return them from an entry).
 * - `reverse` and `sort` only permute cells: no block is freed, so the comparator may be
 *   given views of nested elements. `fill` and `copyWithin` write copies (a cell owns its
 *   blocks): the source is copied out plainly first, so it may be an element of this array.
 *
 * Not atomic across isibas, like every array operation (hold a lock): two isibas editing
 * one array at once, on different workers or servers, can lose or duplicate elements.
 */
import { decodeCell, encodeCell, freeCell, ownsBlocks } from "./value-cell.js";
import { checkValue, isPrimitive } from "./storable-value.js";
import { toPlain } from "./to-plain.js";
import { handleOf, type ArrayHandle } from "./persistent-array.js";
import { relative } from "./heap-views.js";

// Cell size, for top-level use (value-cell and persistent-array import each other and this).
const CELL = 16;

type Method = (this: unknown, ...args: unknown[]) => unknown;

/**
 * Removes `deleteCount` elements at `start` (both in range) and inserts `items` there;
 * returns the removed elements as plain copies.
 */
export function splice(a: ArrayHandle, start: number, deleteCount: number, items: unknown[]): unknown[] {
  const h = a.header();
  if (deleteCount === 0 && items.length === 0) return [];
  for (let k = 0; k < items.length; k++) if (!isPrimitive(items[k])) checkValue(items[k], `${a.path}[${start + k}]`);
  const length = h.length - deleteCount + items.length;
  const inserted = encodeCells(a, items);
  try {
    a.reserve(h, length);
  } catch (err) {
    freeCells(a, inserted);
    throw err;
  }
  const removedCells = a.readCells(h, start, deleteCount);
  const removed = plainCopies(a, removedCells);
  a.moveCells(h, start + deleteCount, start + items.length, h.length - start - deleteCount);
  a.writeCells(h, start, inserted);
  a.writeLength(length);
  freeCells(a, removedCells);
  return removed;
}

/** Reverses the elements in place (their cells, not copies). */
export function reverse(a: ArrayHandle): void {
  const h = a.header();
  const cells = a.readCells(h, 0, h.length);
  a.writeCells(h, 0, permute(cells, Array.from({ length: h.length }, (_, i) => h.length - 1 - i)));
}

/**
 * Sorts in place as Array.prototype.sort does: stable; undefined last (never compared);
 * without `compare`, by String(x) in UTF-16 code unit order. The comparator gets element
 * values (views for nested ones); if it changes the array itself, sort throws instead.
 */
export function sort(a: ArrayHandle, compare: unknown): void {
  if (compare !== undefined && typeof compare !== "function") {
    throw new TypeError("The comparison function must be either a function or undefined");
  }
  const h = a.header();
  const cells = a.readCells(h, 0, h.length);
  const view = new DataView(cells.buffer);
  const values = Array.from({ length: h.length }, (_, i) => decodeCell(view, i * CELL, a.heap.mem, `${a.path}[${i}]`));
  const defined: number[] = [], undefs: number[] = [];
  values.forEach((v, i) => (v === undefined ? undefs : defined).push(i));
  if (typeof compare === "function") defined.sort((x, y) => compare(values[x], values[y]) as number);
  else {
    const keys = values.map((v) => (v === undefined ? "" : String(v)));
    defined.sort((x, y) => (keys[x] < keys[y] ? -1 : keys[x] > keys[y] ? 1 : 0));
  }
  const now = a.header();
  if (now.length !== h.length || now.cells !== h.cells || !sameBytes(a.readCells(now, 0, now.length), cells)) {
    throw new TypeError(`field '${a.path}': the array changed while it was being sorted (by the comparator)`);
  }
  a.writeCells(h, 0, permute(cells, defined.concat(undefs)));
}

/** Sets elements [start, end) to copies of `value` (relative indexes as Array.prototype.fill). */
export function fill(a: ArrayHandle, value: unknown, start: unknown, end: unknown): void {
  const h = a.header();
  const from = relative(start, h.length, 0), to = relative(end, h.length, h.length);
  if (!isPrimitive(value)) checkValue(value, `${a.path}[${from}]`);
  if (from >= to) return;
  const plain = isPrimitive(value) ? value : toPlain(value);
  replaceCells(a, from, new Array<unknown>(to - from).fill(plain));
}

/** Copies elements [start, end) to `target` (as Array.prototype.copyWithin), nested ones by value. */
export function copyWithin(a: ArrayHandle, target: unknown, start: unknown, end: unknown): void {
  const h = a.header();
  const to = relative(target, h.length, 0), from = relative(start, h.length, 0), final = relative(end, h.length, h.length);
  const count = Math.min(final - from, h.length - to);
  if (count <= 0) return;
  replaceCells(a, to, plainCopies(a, a.readCells(h, from, count)));
}

/** Overwrites the cells from `at` with encodings of `values`; frees what they owned. */
function replaceCells(a: ArrayHandle, at: number, values: unknown[]): void {
  const fresh = encodeCells(a, values);
  const h = a.header();
  const old = a.readCells(h, at, values.length);
  a.writeCells(h, at, fresh);
  freeCells(a, old);
}

/** Encodes checked values into new cells; on failure (heap full) frees what it built. */
function encodeCells(a: ArrayHandle, values: unknown[]): Uint8Array {
  const out = new Uint8Array(values.length * CELL);
  const view = new DataView(out.buffer);
  for (let k = 0; k < values.length; k++) {
    try {
      encodeCell(view, k * CELL, a.heap, values[k]);
    } catch (err) {
      freeCells(a, out.subarray(0, k * CELL));
      throw err;
    }
  }
  return out;
}

/** Frees (deeply) what raw cells own (containers at the invocation's end: DeferredFrees). */
function freeCells(a: ArrayHandle, cells: Uint8Array): void {
  const view = new DataView(cells.buffer, cells.byteOffset, cells.byteLength);
  for (let off = 0; off < cells.length; off += CELL) if (ownsBlocks(view.getUint32(off, true))) freeCell(a.heap, view, off);
}

/** Plain copies of the values of raw cells (read before their blocks are freed). */
function plainCopies(a: ArrayHandle, cells: Uint8Array): unknown[] {
  const view = new DataView(cells.buffer, cells.byteOffset, cells.byteLength);
  return Array.from({ length: cells.length / CELL }, (_, i) => toPlain(decodeCell(view, i * CELL, a.heap.mem, a.path)));
}

/** Cells reordered: cell i of the result is cell order[i] of `cells`. */
function permute(cells: Uint8Array, order: number[]): Uint8Array {
  const out = new Uint8Array(cells.length);
  for (let i = 0; i < order.length; i++) out.set(cells.subarray(order[i] * CELL, (order[i] + 1) * CELL), i * CELL);
  return out;
}

function sameBytes(x: Uint8Array, y: Uint8Array): boolean {
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

// The view's methods: shared by every view (found through `this`), generic on other arrays.

function method(name: string, edit: (a: ArrayHandle, args: unknown[], self: unknown) => unknown): Method {
  const generic = (Array.prototype as unknown as Record<string, Method>)[name];
  const fn = function (this: unknown, ...args: unknown[]): unknown {
    const a = handleOf(this);
    return a ? edit(a, args, this) : generic.apply(this, args);
  };
  Object.defineProperty(fn, "name", { value: name });
  return fn;
}

function spliceArgs(a: ArrayHandle, args: unknown[]): unknown[] {
  const length = a.length;
  const start = relative(args[0], length, 0);
  const deleteCount = args.length === 0 ? 0 : args.length === 1 ? length - start : Math.min(Math.max(Math.trunc(Number(args[1])) || 0, 0), length - start);
  return splice(a, start, deleteCount, args.slice(2));
}

/** Mutating Array methods a persistent array's view answers with (see makeView). */
export const ARRAY_METHODS: ReadonlyMap<string, Method> = new Map([
  method("push", (a, items) => a.push(items)),
  method("pop", (a) => (a.length === 0 ? undefined : splice(a, a.length - 1, 1, [])[0])),
  method("shift", (a) => (a.length === 0 ? undefined : splice(a, 0, 1, [])[0])),
  method("unshift", (a, items) => (splice(a, 0, 0, items), a.length)),
  method("splice", spliceArgs),
  method("reverse", (a, _args, self) => (reverse(a), self)),
  method("sort", (a, [compare], self) => (sort(a, compare), self)),
  method("fill", (a, [value, start, end], self) => (fill(a, value, start, end), self)),
  method("copyWithin", (a, [target, start, end], self) => (copyWithin(a, target, start, end), self)),
].map((fn) => [fn.name, fn]));
