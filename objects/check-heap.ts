/**
 * checkHeap(this): object code checks its own object's memory (HeapCheck, heap-check.ts).
 *
 *   import { CloudsObject, entry, checkHeap } from "clouds-ts";
 *   @entry async check(): Promise<string[]> {
 *     return this.withLock("items", () => checkHeap(this).violations);
 *   }
 *
 * It walks the fields and the persistent heap of the object `self` is the `this` of, as
 * this compute server sees them (pages fault in like any read), and returns the report as a
 * plain value: `{ ok, violations, leakedBlocks, liveBlocks, freeBlocks }`. It reads many
 * pages and is not atomic: call it when no other thread writes the object (hold the locks
 * its writers take), or findings may be races. It changes nothing.
 */
import { storeOf } from "./instance-proxy.js";
import { checkObjectMemory, type HeapReport } from "./heap-check.js";

export type { HeapReport };

export function checkHeap(self: object): HeapReport {
  const store = storeOf(self);
  if (!store) throw new TypeError("checkHeap(self): pass `this` of a persistent object's method (or constructor)");
  return checkObjectMemory(store.data, store.heap.mem);
}
