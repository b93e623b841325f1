/**
 * FieldRouter: an object's fields split between its persistent store and its volatile heap.
 *
 * InstanceProxy talks to one field store; for a class with @volatile fields it is this
 * router, which sends each volatile name to the volatile store and every other name to the
 * persistent one. `names()` lists both (persistent first). The volatile store is asked for
 * only when a volatile field is touched, so an entry that never uses one maps nothing.
 */
import type { PersistentStore } from "./persistent-store.js";

/** What InstanceProxy needs of a store of fields. */
export type FieldStore = Pick<PersistentStore, "get" | "has" | "set" | "names">;

export class FieldRouter implements FieldStore {
  constructor(
    private readonly persistent: FieldStore,
    private readonly volatileNames: ReadonlySet<string>,
    private readonly volatileStore: () => FieldStore,
  ) {}

  private storeOf(name: string): FieldStore {
    return this.volatileNames.has(name) ? this.volatileStore() : this.persistent;
  }

  get(name: string): unknown {
    return this.storeOf(name).get(name);
  }

  has(name: string): boolean {
    return this.storeOf(name).has(name);
  }

  set(name: string, value: unknown): void {
    this.storeOf(name).set(name, value);
  }

  names(): string[] {
    const volatile = this.volatileStore().names().filter((n) => this.volatileNames.has(n));
    return [...this.persistent.names(), ...volatile];
  }
}
