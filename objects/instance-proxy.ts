/**
 * InstanceProxy: what `this` is inside a persistent object's methods.
 *
 * A Proxy whose target is an empty object with the class's prototype: method lookups go to
 * the prototype, every other string-keyed property is a persistent field in the object's
 * PersistentStore. Field initializers (`x = 0`) arrive as defineProperty, assignments as set;
 * both store the value (or throw TypeError naming the field, leaving the object unchanged).
 *
 * A field marked @volatile lives in `volatileStore` instead (the object's volatile heap on
 * this compute server). Without one (unit tests, tools, a constructor run on a scratch
 * store), the volatile fields get a scratch store of their own, private to this proxy.
 *
 * Rules: a name that is a method of the class is never a field (assigning to it throws);
 * symbol-keyed properties and accessors cannot be persistent; `#private` fields are not
 * supported (they would live on the proxy, not in object memory: use TS `private`).
 *
 * The isiba makes one proxy per invocation, with that invocation's context (object,
 * thread, syscalls), registered for the proxy (attachInvocation): that is how
 * `this.lock(...)` knows whose lock it takes. A proxy without a context (unit tests, tools)
 * refuses those methods with OutsideInvocationError.
 *
 * `storeOf(proxy)` gives its PersistentStore: that is how `checkHeap(this)` (check-heap.ts)
 * finds the object memory to check. Both are private fields of the proxy
 * (ra-kernel/private-slot.ts), never properties the proxy answers: object code could otherwise learn the
 * key by passing a Proxy of its own where the runtime expects `this`, and read its object's
 * internals (hardened-realm.ts).
 */
import { NO_FIELD, type PersistentStore } from "./persistent-store.js";
import { FieldRouter, type FieldStore } from "./field-router.js";
import { attachInvocation, type InvocationContext } from "./invocation-context.js";
import { privateSlot } from "../ra-kernel/private-slot.js";
import { volatileFieldsOf } from "./volatile.js";
import { scratchStore } from "./scratch-store.js";

/** Each InstanceProxy's PersistentStore, a private field of the proxy (see the header). */
const stores = privateSlot<PersistentStore>();

/** The PersistentStore of `self` if it is an InstanceProxy. */
export function storeOf(self: unknown): PersistentStore | undefined {
  return stores.get(self);
}

const methodNames = new WeakMap<object, Set<string>>();

/** Names of every function-valued property along a prototype chain (cached per prototype). */
function methodsOf(proto: object): Set<string> {
  let names = methodNames.get(proto);
  if (names) return names;
  names = new Set<string>();
  for (let p: object | null = proto; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const key of Object.getOwnPropertyNames(p)) {
      const d = Object.getOwnPropertyDescriptor(p, key);
      if (d && (typeof d.value === "function" || d.get || d.set)) names.add(key);
    }
  }
  methodNames.set(proto, names);
  return names;
}

export function instanceProxy<T extends object>(persistent: PersistentStore, proto: object, context?: InvocationContext, volatileStore?: PersistentStore): T {
  const methods = methodsOf(proto);
  const volatileNames = volatileFieldsOf((proto as { constructor: object }).constructor);
  const store: FieldStore = volatileNames.size === 0 ? persistent : new FieldRouter(persistent, volatileNames, () => (volatileStore ??= scratchStore("volatile")));
  const className = (proto as { constructor?: { name?: string } }).constructor?.name ?? "object";
  const refuse = (key: string | symbol, what: string): never => {
    throw new TypeError(`${className}.${String(key)}: ${what}`);
  };
  const store1 = (key: string | symbol, value: unknown): boolean => {
    if (typeof key !== "string") refuse(key, "symbol-keyed properties cannot be persistent");
    if (methods.has(key as string)) refuse(key, "is a method of the class, not a field");
    store.set(key as string, value);
    return true;
  };
  const proxy = new Proxy(Object.create(proto) as T, {
    get(target, key, receiver) {
      if (typeof key === "string" && !methods.has(key)) {
        const value = store.get(key);
        if (value !== NO_FIELD) return value;
      }
      return Reflect.get(target, key, receiver);
    },
    set: (_target, key, value) => store1(key, value),
    defineProperty(_target, key, descriptor) {
      if (!("value" in descriptor)) refuse(key, "accessor properties cannot be persistent");
      return store1(key, descriptor.value);
    },
    deleteProperty: (_target, key) => refuse(key, "persistent fields cannot be deleted (assign undefined)"),
    has: (target, key) => (typeof key === "string" && store.has(key)) || Reflect.has(target, key),
    ownKeys: () => store.names(),
    getOwnPropertyDescriptor(_target, key) {
      if (typeof key !== "string" || !store.has(key)) return undefined;
      return { value: store.get(key), writable: true, enumerable: true, configurable: true };
    },
    setPrototypeOf: (_target, _proto) => refuse("prototype", "cannot be changed"),
  });
  stores.set(proxy, persistent);
  if (context) attachInvocation(proxy, context);
  return proxy;
}
