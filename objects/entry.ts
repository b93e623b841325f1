/**
 * @entry: marks the methods of a persistent class that may be invoked from outside.
 *
 *   @entry area(): number { ... }
 *   @entry({ exclusive: true }) deposit(...) { ... }    // holds the object's monitor
 *   @entry({ atomic: true }) transfer(...) { ... }      // an atomic thread (DESIGN §7a)
 *
 * Only entry methods are invocable (shell, client, other objects); other methods are
 * private helpers. The metadata sits on the class constructor under a registry symbol, so
 * it survives bundling and is found from any realm (class code runs in contexts of its own).
 * Uses TypeScript's `experimentalDecorators` form (what `clouds compile` configures).
 */
export interface EntryOptions {
  /** Hold the object's monitor for the whole invocation. @default false */
  exclusive?: boolean;
  /**
   * Run the invocation as an atomic thread: everything it writes, here and in every object it
   * invokes, commits together when it returns, or nothing does. @default false
   */
  atomic?: boolean;
}

export interface EntryMeta {
  name: string;
  exclusive: boolean;
  atomic: boolean;
}

const ENTRIES = Symbol.for("clouds-ts.entries");

type Decorator = (target: object, key: string | symbol, descriptor: PropertyDescriptor) => void;

export function entry(options: EntryOptions): Decorator;
export function entry(target: object, key: string | symbol, descriptor: PropertyDescriptor): void;
export function entry(a: object, key?: string | symbol, descriptor?: PropertyDescriptor): Decorator | void {
  if (key === undefined) return (t, k, d) => mark(t, k, d, a as EntryOptions);
  mark(a, key, descriptor, {});
}

function mark(target: object, key: string | symbol, descriptor: PropertyDescriptor | undefined, options: EntryOptions): void {
  if (typeof key !== "string" || typeof descriptor?.value !== "function") {
    throw new TypeError(`@entry goes on a method; '${String(key)}' is not one`);
  }
  if (typeof target === "function") throw new TypeError(`@entry goes on an instance method; '${key}' is static`);
  const ctor = (target as { constructor: object }).constructor;
  ownEntries(ctor).set(key, { name: key, exclusive: options.exclusive === true, atomic: options.atomic === true });
}

function ownEntries(ctor: object): Map<string, EntryMeta> {
  if (!Object.prototype.hasOwnProperty.call(ctor, ENTRIES)) {
    Object.defineProperty(ctor, ENTRIES, { value: new Map<string, EntryMeta>(), enumerable: false });
  }
  return (ctor as Record<symbol, Map<string, EntryMeta>>)[ENTRIES];
}

/** Merged entries per class: decorators have all run once its definition is evaluated. */
const merged = new WeakMap<object, Map<string, EntryMeta>>();

/** Every entry of a class, its own and inherited (subclass wins). Cached: isibas ask per call. */
export function entriesOf(ctor: object): Map<string, EntryMeta> {
  let all = merged.get(ctor);
  if (!all) merged.set(ctor, (all = mergeEntries(ctor)));
  return all;
}

function mergeEntries(ctor: object): Map<string, EntryMeta> {
  const chain: object[] = [];
  for (let c: object | null = ctor; c && c !== Function.prototype; c = Object.getPrototypeOf(c)) chain.unshift(c);
  const all = new Map<string, EntryMeta>();
  for (const c of chain) {
    const own = Object.prototype.hasOwnProperty.call(c, ENTRIES) ? (c as Record<symbol, Map<string, EntryMeta>>)[ENTRIES] : undefined;
    own?.forEach((meta, name) => all.set(name, meta));
  }
  return all;
}
