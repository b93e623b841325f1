/**
 * PersistentRecord: a plain object in the persistent heap (a HeapTable keyed by property
 * name), and its live view: a Proxy over an empty plain object, so `this.cfg.limits.max = 3`,
 * `delete this.cfg.x`, `"x" in this.cfg`, Object.keys, spread and JSON.stringify all read
 * and write object memory. Keys keep insertion order (also integer-like keys, unlike a JS
 * object). Symbol-keyed properties and accessors cannot be persistent. Values are checked
 * before anything changes (StorableValue); a TypeError names the path (`cfg.limits.fn`).
 */
import type { Heap } from "./heap.js";
import { HeapTable, freeTable } from "./heap-table.js";
import { cachedView } from "./heap-views.js";
import { checkValue } from "./storable-value.js";

/** Header magic of its HeapTable (exported for heap-check.ts). */
export const MAGIC = 0x44434552;

const tables = new WeakMap<object, HeapTable>();

export function create(heap: Heap, value: unknown): { addr: number; serial: number } {
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  const made = HeapTable.create(heap, MAGIC, keys.length);
  const table = new HeapTable(heap, made.addr, made.serial, MAGIC, "object");
  for (const key of keys) table.set(key, obj[key]);
  return made;
}

export function free(heap: Heap, addr: number): void {
  freeTable(heap, addr);
}

/** The table behind a record view, or undefined. */
export function tableOf(value: unknown): HeapTable | undefined {
  return typeof value === "object" && value !== null ? tables.get(value) : undefined;
}

export function view(heap: Heap, addr: number, serial: number, path: string): object {
  return cachedView(heap, addr, serial, () => makeView(new HeapTable(heap, addr, serial, MAGIC, "object"), path));
}

function makeView(table: HeapTable, path: string): object {
  const refuse = (key: string | symbol, what: string): never => {
    throw new TypeError(`field '${path}.${String(key)}': ${what}`);
  };
  const store = (key: string | symbol, value: unknown): boolean => {
    if (typeof key !== "string") refuse(key, "symbol-keyed properties cannot be persistent");
    checkValue(value, `${path}.${key as string}`);
    table.set(key, value);
    return true;
  };
  const proxy = new Proxy<object>({}, {
    get(target, key, receiver) {
      if (typeof key === "string" && table.has(key)) return table.get(key, `${path}.${key}`);
      return Reflect.get(target, key, receiver);
    },
    set: (_target, key, value) => store(key, value),
    defineProperty(_target, key, desc) {
      if (!("value" in desc)) refuse(key, "accessor properties cannot be persistent");
      return store(key, desc.value);
    },
    deleteProperty(_target, key) {
      if (typeof key === "string") table.delete(key);
      return true;
    },
    has: (target, key) => (typeof key === "string" && table.has(key)) || Reflect.has(target, key),
    ownKeys: () => [...table.keys()] as string[],
    getOwnPropertyDescriptor(_target, key) {
      if (typeof key !== "string" || !table.has(key)) return undefined;
      return { value: table.get(key, `${path}.${key}`), writable: true, enumerable: true, configurable: true };
    },
    setPrototypeOf: () => false,
    preventExtensions: () => false,
  });
  tables.set(proxy, table);
  return proxy;
}
