/**
 * HeapViews: what the live views of heap containers (persistent-array, -record, -map, -set)
 * share: container serials, the per-heap cache of views, and the stale-view error.
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

/** Thrown when a view is used after its container was replaced or freed. */
export class StaleViewError extends Error {
  constructor(readonly kind: string) {
    super(`this persistent ${kind} no longer exists: the field (or element) holding it was reassigned or deleted; read it again`);
    this.name = "StaleViewError";
  }
}

/** The array index a property key names, or -1. */
export function toIndex(key: string): number {
  const c = key.charCodeAt(0);
  if (c < 48 || c > 57) return -1;
  const i = Number(key);
  return Number.isInteger(i) && i < 0xffff_ffff && (key.length === 1 || c !== 48) && String(i) === key ? i : -1;
}
