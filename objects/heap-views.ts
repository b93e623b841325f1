/**
 * HeapViews: what the live views of heap values (persistent-array, -record, -map, -set,
 * -bytes) share: serials, the per-heap cache of views, the stale-view error, index helpers.
 *
 * A view is only (heap, header address, serial, path): it keeps no copy of the data, so one
 * view per container and worker is enough and reading a field does not make a new Proxy.
 * The cache is keyed by address and checked by serial: a block freed and reused for another
 * container gets a new view. The cache is bounded (cleared when it grows past CACHE_LIMIT):
 * views are cheap to remake.
 */
import type { Heap } from "./heap.js";

const CACHE_LIMIT = 4096;

const caches = new WeakMap<Heap, Map<number, { serial: number; view: object }>>();

/** A fresh container serial (random, non-zero): told apart from whatever held the block before. */
export function newSerial(): number {
  return ((Math.random() * 0xffff_ffff) >>> 0) || 1;
}

/** The cached view of the container at `addr` with `serial`, made by `make` if none. */
export function cachedView(heap: Heap, addr: number, serial: number, make: () => object): object {
  let cache = caches.get(heap);
  if (!cache) {
    cache = new Map();
    caches.set(heap, cache);
  }
  const hit = cache.get(addr);
  if (hit && hit.serial === serial) return hit.view;
  if (cache.size >= CACHE_LIMIT) cache.clear();
  const view = make();
  cache.set(addr, { serial, view });
  return view;
}

/**
 * Thrown when a view is used after its value was replaced or freed. `path` (when known)
 * names the field it was read from; `why` says how a value can be lost (the default fits
 * containers and bytes, which keep their blocks when moved).
 */
export class StaleViewError extends Error {
  constructor(readonly kind: string, readonly path?: string, why = "the field (or element) holding it was reassigned or deleted") {
    super(`${path === undefined ? "" : `field '${path}': `}this persistent ${kind} no longer exists: ${why}; read it again`);
    this.name = "StaleViewError";
  }
}

/** ToIntegerOrInfinity of `arg` made an index in [0, length] (negative: from the end), as Array and TypedArray methods do. */
export function relative(arg: unknown, length: number, absent: number): number {
  if (arg === undefined) return absent;
  const n = Math.trunc(Number(arg)) || 0;
  return n < 0 ? Math.max(length + n, 0) : Math.min(n, length);
}

/** The array index a property key names, or -1. */
export function toIndex(key: string): number {
  const c = key.charCodeAt(0);
  if (c < 48 || c > 57) return -1;
  const i = Number(key);
  return Number.isInteger(i) && i < 0xffff_ffff && (key.length === 1 || c !== 48) && String(i) === key ? i : -1;
}
