/**
 * PersistentSet: a Set in the persistent heap (a HeapTable whose values are unused), and its
 * live view: a Set subclass whose every method reads and writes object memory
 * (`this.tags.add("x")` persists). Members are primitives or object references
 * (StorableValue.checkKey). As for PersistentMap, the inherited Set storage stays empty:
 * results leave an object through `toPlain`.
 */
import type { Heap } from "./heap.js";
import { HeapTable, freeTable } from "./heap-table.js";
import { cachedView } from "./heap-views.js";
import { checkKey } from "./storable-value.js";

/** Header magic of its HeapTable (exported for heap-check.ts). */
export const MAGIC = 0x5445_5350;

export function create(heap: Heap, value: unknown): { addr: number; serial: number } {
  const set = value as Set<unknown>;
  const made = HeapTable.create(heap, MAGIC, set.size);
  const table = new HeapTable(heap, made.addr, made.serial, MAGIC, "Set");
  for (const k of set) table.set(k, undefined);
  return made;
}

export function free(heap: Heap, addr: number): void {
  freeTable(heap, addr);
}

export function view(heap: Heap, addr: number, serial: number, path: string): PersistentSetView {
  return cachedView(heap, addr, serial, () => new PersistentSetView(new HeapTable(heap, addr, serial, MAGIC, "Set"), path)) as PersistentSetView;
}

export function isPersistentSet(value: unknown): value is PersistentSetView {
  return value instanceof PersistentSetView;
}

export class PersistentSetView extends Set<unknown> {
  readonly #table: HeapTable;
  readonly #path: string;

  constructor(table: HeapTable, path: string) {
    super();
    this.#table = table;
    this.#path = path;
  }

  override get size(): number {
    return this.#table.size;
  }

  override has(key: unknown): boolean {
    return this.#table.has(key);
  }

  override add(key: unknown): this {
    checkKey(key, `${this.#path} member`);
    if (!this.#table.has(key)) this.#table.set(key, undefined);
    return this;
  }

  override delete(key: unknown): boolean {
    return this.#table.delete(key);
  }

  override clear(): void {
    this.#table.clear();
  }

  override forEach(fn: (value: unknown, key: unknown, set: Set<unknown>) => void, thisArg?: unknown): void {
    for (const k of this.#table.keys()) fn.call(thisArg, k, k, this);
  }

  override keys(): SetIterator<unknown> {
    return this.#table.keys() as SetIterator<unknown>;
  }

  override values(): SetIterator<unknown> {
    return this.#table.keys() as SetIterator<unknown>;
  }

  override *entries(): SetIterator<[unknown, unknown]> {
    for (const k of this.#table.keys()) yield [k, k];
  }

  override [Symbol.iterator](): SetIterator<unknown> {
    return this.keys();
  }

  toJSON(): object {
    return {};
  }
}
