/**
 * fillNewFields: the field half of a versioned class upgrade (DESIGN §5).
 *
 * When an object whose class has a newer registered version is first invoked with that
 * version, its isiba (op "upgrade") calls this with the object's store and the new class:
 *
 *   1. the new class's constructor runs with no arguments on a scratch store, with no
 *      invocation context (constructOnScratch, objects/initial-values.ts);
 *   2. every field the scratch object then has and the real object lacks is copied in
 *      (as plain values: containers become new heap containers of the real object).
 *
 * @volatile fields are not persistent: the scratch proxy keeps them apart (FieldRouter), so
 * they are never copied in. Existing fields are never overwritten and no field is ever
 * removed, so the operation is idempotent — two compute servers upgrading one object (each
 * inside the object's monitor) add each field once.
 *
 * Rules: runs inside an isiba worker (or a unit test); touches only `store` and its scratch.
 */
import type { PersistentStore } from "./persistent-store.js";
import { constructOnScratch } from "./initial-values.js";
import { toPlain } from "./to-plain.js";

/** Adds the persistent fields `cls`'s initializers define that `store` lacks; their names. */
export function fillNewFields(store: PersistentStore, cls: new (...args: unknown[]) => unknown): string[] {
  const scratch = constructOnScratch(cls);
  const added: string[] = [];
  for (const name of scratch.names()) {
    if (store.has(name)) continue;
    store.set(name, toPlain(scratch.get(name)));
    added.push(name);
  }
  return added;
}
