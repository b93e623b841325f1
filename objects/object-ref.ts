/**
 * ObjectRef: a reference to a persistent object as a *value* — what a field, an array slot,
 * an argument or a result holds when it refers to another object (DESIGN §5-6).
 *
 * The contract between the persistent heap (which stores references by sysname) and the
 * invocation runtime (which makes references callable: `await ref.entry(args)`):
 *   - `refTo(sysname)` makes the reference value for a sysname, through the factory the
 *     runtime installed with `setRefFactory` (by default a plain, inert reference);
 *   - `sysnameOfRef(value)` says whether a value is a reference (made by `refTo`) and to what;
 *   - on the wire (arguments, results) a reference travels as `{ $ref: sysname }`
 *     (`refToWire` / `refFromWire`); everything else is copied.
 */
import { isSysName, type SysName } from "../ra-kernel/ids.js";

export type RefFactory = (sysname: SysName) => object;

const refs = new WeakMap<object, SysName>();

const plainRef: RefFactory = (sysname) => Object.freeze({ sysname });
let factory: RefFactory = plainRef;

/** Installs how references are made (the invocation runtime does, once per worker). */
export function setRefFactory(make: RefFactory | null): void {
  factory = make ?? plainRef;
}

/** The reference value for `sysname`. */
export function refTo(sysname: SysName): object {
  const ref = factory(sysname);
  refs.set(ref, sysname);
  return ref;
}

/** The sysname a reference value refers to, or undefined if `value` is not a reference. */
export function sysnameOfRef(value: unknown): SysName | undefined {
  return typeof value === "object" || typeof value === "function" ? (value === null ? undefined : refs.get(value as object)) : undefined;
}

export interface WireRef {
  $ref: SysName;
}

export function refToWire(value: unknown): WireRef | undefined {
  const sysname = sysnameOfRef(value);
  return sysname === undefined ? undefined : { $ref: sysname };
}

export function isWireRef(value: unknown): value is WireRef {
  return typeof value === "object" && value !== null && Object.keys(value).length === 1 && isSysName((value as WireRef).$ref);
}

/**
 * Records `ref` as a reference to `sysname` without the factory (for a reference the runtime
 * derives from another, e.g. `ref.at("cs2")`); returns it.
 */
export function markRef<T extends object>(ref: T, sysname: SysName): T {
  refs.set(ref, sysname);
  return ref;
}
