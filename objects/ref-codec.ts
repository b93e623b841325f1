/**
 * RefCodec: object references inside argument and result values, for the wire.
 *
 * Arguments and results are copied (structured clone, socket.io); references are not: a
 * reference anywhere inside a value (top level, array slot, plain-object property, Map or
 * Set member) travels as `{ $ref: sysname }` and is made a reference again on arrival.
 *
 *   encodeRefs(value)                   references -> { $ref } (what `sysnameOfRef` knows)
 *   decodeRefs(value, make)             { $ref } -> make(sysname)
 *
 * Both copy only the containers on the path to a reference: a value without references is
 * returned as is (the common case costs one walk, no allocation). Works on values from any
 * realm (the compiler and unit tests evaluate classes in a vm context of their own).
 */
import { setOwn } from "./own-property.js";
import type { SysName } from "../ra-kernel/ids.js";
import { isWireRef, sysnameOfRef, type WireRef } from "./object-ref.js";

const KEEP: unique symbol = Symbol("keep");
type Swap = (value: object) => unknown;

/** `value` with every reference (as `refOf` sees them) replaced by `{ $ref }`. */
export function encodeRefs<T>(value: T, refOf: (v: unknown) => SysName | undefined = sysnameOfRef): T {
  return walk(value, (o) => {
    const sysname = refOf(o);
    return sysname === undefined ? KEEP : ({ $ref: sysname } satisfies WireRef);
  }, new Map()) as T;
}

/** `value` with every `{ $ref }` replaced by `make(sysname)`. */
export function decodeRefs<T>(value: T, make: (sysname: SysName) => unknown): T {
  return walk(value, (o) => (isWireRef(o) ? make(o.$ref) : KEEP), new Map()) as T;
}

/**
 * Encodes an argument list. Trailing `undefined`s are dropped: the wire (JSON) would turn
 * them into null, which an optional parameter would then refuse or misread.
 */
export function encodeArgs(args: readonly unknown[], refOf?: (v: unknown) => SysName | undefined): unknown[] {
  let n = args.length;
  while (n > 0 && args[n - 1] === undefined) n--;
  return encodeRefs(n === args.length ? (args as unknown[]) : args.slice(0, n), refOf);
}

function walk(value: unknown, swap: Swap, seen: Map<object, unknown>): unknown {
  if (value === null || (typeof value !== "object" && typeof value !== "function")) return value;
  const swapped = swap(value);
  if (swapped !== KEEP) return swapped;
  if (seen.has(value)) return seen.get(value);
  seen.set(value, value);
  switch (tagOf(value)) {
    case "Array": return walkArray(value as unknown[], swap, seen);
    case "Object": return walkObject(value as Record<string, unknown>, swap, seen);
    case "Map": return walkMap(value as Map<unknown, unknown>, swap, seen);
    case "Set": return walkSet(value as Set<unknown>, swap, seen);
    default: return value;
  }
}

function tagOf(value: object): string {
  return Object.prototype.toString.call(value).slice(8, -1);
}

function walkArray(arr: unknown[], swap: Swap, seen: Map<object, unknown>): unknown[] {
  let out: unknown[] | null = null;
  for (let i = 0; i < arr.length; i++) {
    const w = walk(arr[i], swap, seen);
    if (w !== arr[i] && out === null) seen.set(arr, (out = arr.slice()));
    if (out !== null) out[i] = w;
  }
  return out ?? arr;
}

function walkObject(obj: Record<string, unknown>, swap: Swap, seen: Map<object, unknown>): object {
  let out: Record<string, unknown> | null = null;
  for (const key of Object.keys(obj)) {
    const w = walk(obj[key], swap, seen);
    if (w !== obj[key] && out === null) seen.set(obj, (out = { ...obj }));
    if (out !== null) setOwn(out, key, w);
  }
  return out ?? obj;
}

function walkMap(map: Map<unknown, unknown>, swap: Swap, seen: Map<object, unknown>): Map<unknown, unknown> {
  const entries: Array<[unknown, unknown]> = [];
  let changed = false;
  Map.prototype.forEach.call(map, (v: unknown, k: unknown) => {
    const wk = walk(k, swap, seen);
    const wv = walk(v, swap, seen);
    changed ||= wk !== k || wv !== v;
    entries.push([wk, wv]);
  });
  return changed ? new Map(entries) : map;
}

function walkSet(set: Set<unknown>, swap: Swap, seen: Map<object, unknown>): Set<unknown> {
  const items: unknown[] = [];
  let changed = false;
  Set.prototype.forEach.call(set, (v: unknown) => {
    const w = walk(v, swap, seen);
    changed ||= w !== v;
    items.push(w);
  });
  return changed ? new Set(items) : set;
}
