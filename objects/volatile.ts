/**
 * @volatile: marks a field that lives in the object's volatile heap, not in its persistent
 * memory (DESIGN §5).
 *
 *   export class Cache extends CloudsObject {
 *     entries = new Map<string, number>();     // persistent
 *     @volatile hits = 0;                      // shared while threads are in the object
 *     @volatile recent: string[] = [];
 *   }
 *
 * A volatile field holds the same values as a persistent one (containers are live views of
 * the volatile heap) and is shared by every thread in the object on this compute server.
 * When no thread is left in the object there, its volatile heap is discarded; the next
 * invocation starts with the fields' initial values (the class's initializers, run again).
 * Threads of the object on another compute server have a volatile heap of their own.
 *
 * The names sit on the class constructor under a registry symbol (like @entry's), so they
 * survive bundling and are found from any realm.
 */
const VOLATILE = Symbol.for("clouds-ts.volatile");

export function volatile(target: object, key: string | symbol): void {
  if (typeof key !== "string") throw new TypeError(`@volatile goes on a field with a string name, not ${String(key)}`);
  if (typeof target === "function") throw new TypeError(`@volatile goes on an instance field; '${key}' is static`);
  const ctor = (target as { constructor: object }).constructor;
  if (!Object.prototype.hasOwnProperty.call(ctor, VOLATILE)) {
    Object.defineProperty(ctor, VOLATILE, { value: new Set<string>(), enumerable: false });
  }
  (ctor as Record<symbol, Set<string>>)[VOLATILE].add(key);
}

const NONE: ReadonlySet<string> = new Set();
const merged = new WeakMap<object, ReadonlySet<string>>();

/** The volatile field names of a class, its own and inherited (cached: asked per invocation). */
export function volatileFieldsOf(ctor: object): ReadonlySet<string> {
  let all = merged.get(ctor);
  if (!all) merged.set(ctor, (all = mergeVolatile(ctor)));
  return all;
}

function mergeVolatile(ctor: object): ReadonlySet<string> {
  const all = new Set<string>();
  for (let c: object | null = ctor; c && c !== Function.prototype; c = Object.getPrototypeOf(c)) {
    const own = Object.prototype.hasOwnProperty.call(c, VOLATILE) ? (c as Record<symbol, Set<string>>)[VOLATILE] : undefined;
    own?.forEach((name) => all.add(name));
  }
  return all.size === 0 ? NONE : all;
}
