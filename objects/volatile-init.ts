/**
 * initVolatileFields: gives a fresh volatile heap its fields' initial values.
 *
 * When an object's volatile activation begins on a compute server (the first thread enters
 * an idle object: ra-kernel/volatile-heaps.ts), the isiba runs the class's constructor with
 * no arguments, no invocation context, a scratch persistent store (thrown away) and the new
 * volatile store: the initializers of the @volatile fields write their values into it. As in
 * a class upgrade, a constructor body that needs its arguments or the runtime may throw; the
 * fields initialized before the throw count. At creation the real constructor does this.
 */
import { constructWith } from "./clouds-object.js";
import type { PersistentStore } from "./persistent-store.js";
import { scratchStore } from "./scratch-store.js";

export function initVolatileFields(volatileStore: PersistentStore, cls: new (...args: unknown[]) => unknown): void {
  try {
    constructWith(scratchStore(), () => Reflect.construct(cls, []), undefined, volatileStore);
  } catch {
    // A constructor body that needs its arguments or the runtime: keep what ran before it.
  }
}
