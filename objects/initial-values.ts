/**
 * Initial values of a class's fields, without an object: its constructor run on scratch.
 *
 * Two things need what a class's field initializers give without creating an object:
 *   - a class upgrade (objects/class-upgrade.ts): the persistent fields a new version adds;
 *   - a fresh volatile heap (ra-kernel/worker-volatile-stores.ts): the @volatile fields, each
 *     time an object's volatile activation begins on a compute server.
 * Both run the constructor with no arguments and no invocation context (so it can neither
 * lock, bind, print nor invoke anything) on a scratch persistent store, which fault in as
 * zeros and are never written back. A constructor body that needs its arguments or the
 * runtime may throw: that is ignored, and the fields initialized before the throw count.
 * At creation the real constructor does this work itself.
 */
import { constructWith } from "./clouds-object.js";
import type { PersistentStore } from "./persistent-store.js";
import { scratchStore } from "./scratch-store.js";

type AnyClass = new (...args: unknown[]) => unknown;

/** Runs `cls`'s constructor on a scratch store (volatile fields into `volatileStore`); the scratch. */
export function constructOnScratch(cls: AnyClass, volatileStore?: PersistentStore): PersistentStore {
  const scratch = scratchStore();
  try {
    constructWith(scratch, () => Reflect.construct(cls, []), undefined, volatileStore);
  } catch {
    // A constructor body that needs its arguments or the runtime: keep what ran before it.
  }
  return scratch;
}

/** Gives a fresh volatile heap the initial values of `cls`'s @volatile fields. */
export function initVolatileFields(volatileStore: PersistentStore, cls: AnyClass): void {
  constructOnScratch(cls, volatileStore);
}
