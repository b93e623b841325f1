/**
 * The "clouds-ts" module: what persistent class files import.
 * Re-exports only.
 */
export { CloudsObject } from "./clouds-object.js";
export { entry, type EntryOptions } from "./entry.js";
export { volatile } from "./volatile.js";
export type { Lock } from "./lock.js";
export type { Semaphore } from "./semaphore.js";
export type { Ref } from "./ref.js";
export { checkHeap, type HeapReport } from "./check-heap.js";
