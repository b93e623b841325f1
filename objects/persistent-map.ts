/**
 * PersistentMap: a Map in the persistent heap (a HeapTable), and its live view: a Map
 * subclass whose every method reads and writes object memory (`this.byName.set(k, v)`
 * persists). Keys are primitives or object references (StorableValue.checkKey); values any
 * storable value, checked before anything changes. The view's own (inherited) Map storage
 * stays empty: Map.prototype methods called on it directly (`Map.prototype.get.call(view)`)
 * and structured cloning see nothing — results leave an object through `toPlain`.
 */
import type { Heap } from "./heap.js";
import { HeapTable, freeTable } from "./heap-table.js";
import { cachedView } from "./heap-views.js";
import { checkKey, checkValue } from "./storable-value.js";

/** Header magic of its HeapTable (exported for heap-check.ts). */
export const MAGIC = 0x5041_4d50;

export function create(heap: Heap, value: unknown): { addr: number; serial: number } {
  const map = value as Map<unknown, unknown>;
  const made = HeapTable.create(heap, MAGIC, map.size);
  const table = new HeapTable(heap, made.addr, made.serial, MAGIC, "Map");
  for (const [k, v] of map) table.set(k, v);
  return made;
}

export function free(heap: Heap, addr: number): void {
  freeTable(heap, addr);
}

export function view(heap: Heap, addr: number, serial: number, path: string): PersistentMapView {
  return cachedView(heap, addr, serial, () => new PersistentMapView(new HeapTable(heap, addr, serial, MAGIC, "Map"), path)) as PersistentMapView;
}

export function isPersistentMap(value: unknown): value is PersistentMapView {
  return value instanceof PersistentMapView;
}

export class PersistentMapView extends Map<unknown, unknown> {
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

  override get(key: unknown): unknown {
    return this.#table.get(key, `${this.#path}[${String(key)}]`);
  }

  override has(key: unknown): boolean {
    return this.#table.has(key);
  }

  override set(key: unknown, value: unknown): this {
    checkKey(key, `${this.#path} key`);
    checkValue(value, `${this.#path}[${typeof key === "string" ? JSON.stringify(key) : String(key)}]`);
    this.#table.set(key, value);
    return this;
  }

  override delete(key: unknown): boolean {
    return this.#table.delete(key);
  }

  override clear(): void {
    this.#table.clear();
  }

  override forEach(fn: (value: unknown, key: unknown, map: Map<unknown, unknown>) => void, thisArg?: unknown): void {
    for (const [k, v] of this.#table.entries(this.#path)) fn.call(thisArg, v, k, this);
  }

  override entries(): MapIterator<[unknown, unknown]> {
    return this.#table.entries(this.#path) as MapIterator<[unknown, unknown]>;
  }

  override keys(): MapIterator<unknown> {
    return this.#table.keys() as MapIterator<unknown>;
  }

  override *values(): MapIterator<unknown> {
    for (const [, v] of this.#table.entries(this.#path)) yield v;
  }

  override [Symbol.iterator](): MapIterator<[unknown, unknown]> {
    return this.entries();
  }

  toJSON(): object {
    return {};
  }
}
