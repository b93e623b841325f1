/**
 * PrivateSlot: a value kept on an object in a private field that only the slot can read —
 * how the runtime keeps what it knows of an InstanceProxy (its invocation, its store) on the
 * proxy itself, out of reach of object code (hardened-realm.ts).
 *
 *   const storeSlot = privateSlot<PersistentStore>();
 *   storeSlot.set(proxy, store);   storeSlot.get(proxy)  // the store; undefined for others
 *
 * Each `privateSlot()` makes a class of its own, so its private name is its own. `set` adds
 * the field to an object it did not make (a base constructor returning its argument), which
 * works on proxies too, and runs no trap. Cheaper than a WeakMap, whose entries every
 * garbage collection must trace as ephemerons: there is one such value per invocation.
 */

/** Returns its argument from the constructor: a subclass then adds its fields to it. */
class Adopt {
  constructor(target: object) {
    return target;
  }
}

export interface PrivateSlot<T> {
  /** Puts `value` on `target` (once per target). */
  set(target: object, value: T): void;
  /** The value on `target`, or undefined if it has none from this slot. */
  get(target: unknown): T | undefined;
}

export function privateSlot<T>(): PrivateSlot<T> {
  let read!: (target: object) => T | undefined;
  class Slot extends Adopt {
    readonly #value: T;

    constructor(target: object, value: T) {
      super(target);
      this.#value = value;
    }

    static {
      read = (target) => (#value in target ? (target as Slot).#value : undefined);
    }
  }
  return {
    set: (target, value) => void new Slot(target, value),
    get: (target) => (typeof target === "object" && target !== null ? read(target) : undefined),
  };
}
