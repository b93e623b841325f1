/**
 * StorableValue: which JavaScript values a persistent field can hold, checked before any
 * byte of object memory changes.
 *
 *   number, bigint, string, boolean, null, undefined, Date, Uint8Array, arrays, plain
 *   objects, Map, Set and object references (`refTo`), nested to any depth.
 *
 * `checkValue(value, path)` walks the whole value and throws a TypeError naming the path
 * inside the field (`field 'cfg.limits.fn'`) and the type; a cycle is a TypeError too (a
 * stored value is a tree: assignment copies). Map keys and Set members must be primitives
 * or references (object identity does not survive a copy). Values may come from another
 * realm (the vm context the compiler and unit tests evaluate classes in), so types are
 * recognised across realms (util.types, Array.isArray, prototype names), never with
 * `instanceof`.
 */
import { types } from "node:util";
import { sysnameOfRef } from "./object-ref.js";
import { Tag } from "./value-cell.js";
import { isPersistentMap } from "./persistent-map.js";
import { isPersistentSet } from "./persistent-set.js";
import { isPersistentBytes } from "./persistent-bytes.js";
import { isPersistentDate } from "./persistent-date.js";

export const STORABLE_TYPES =
  "number, bigint, string, boolean, null, undefined, Date, Uint8Array, arrays, plain objects, Map, Set or object references";

/** The container or boxed tag of a (non-reference) object value, or -1 if it is not storable. */
export function kindOf(value: unknown): number {
  if (Array.isArray(value)) return protoName(value) === "Array" ? Tag.ARRAY : -1;
  const v = value as object;
  if (types.isDate(v)) return protoName(v) === "Date" || isPersistentDate(v) ? Tag.DATE : -1;
  if (types.isUint8Array(v)) return Tag.BYTES;
  if (types.isMap(v)) return isPersistentMap(v) || protoName(v) === "Map" ? Tag.MAP : -1;
  if (types.isSet(v)) return isPersistentSet(v) || protoName(v) === "Set" ? Tag.SET : -1;
  if (isPlainObject(v)) return Tag.RECORD;
  return isPersistentBytes(v) ? Tag.BYTES : -1; // a Proxy: no typed array to util.types
}

/** Why `value` cannot be stored ("function", "WeakMap", "field.x: symbol"...), or null if it can. */
export function unstorableType(value: unknown): string | null {
  try {
    checkValue(value, "value");
    return null;
  } catch (err) {
    return (err as UnstorableError).typeName ?? "object";
  }
}

interface UnstorableError extends TypeError {
  typeName?: string;
}

/** Throws a TypeError naming `path` and the type when `value` (or a part) cannot be persistent. */
export function checkValue(value: unknown, path: string): void {
  if (isPrimitive(value)) return;
  walk(value, path, []);
}

/** A value that needs no walk (checked without building its path). */
export function isPrimitive(value: unknown): boolean {
  const t = typeof value;
  return t === "number" || t === "string" || t === "boolean" || t === "undefined" || t === "bigint" || value === null;
}

/** Throws unless `key` can be a persistent Map key or Set member. */
export function checkKey(key: unknown, path: string): void {
  if (key === null || sysnameOfRef(key) !== undefined) return;
  const t = typeof key;
  if (t === "number" || t === "string" || t === "boolean" || t === "undefined" || t === "bigint") return;
  fail(path, typeName(key), "persistent Map keys and Set members are primitives or object references");
}

function walk(value: unknown, path: string, stack: object[]): void {
  switch (typeof value) {
    case "number": case "string": case "boolean": case "undefined": case "bigint":
      return;
    case "object":
    case "function":
      if (value === null || sysnameOfRef(value) !== undefined) return;
      if (typeof value === "function") fail(path, "function");
      break;
    default:
      fail(path, typeof value);
  }
  const kind = kindOf(value);
  if (kind < 0) fail(path, typeName(value));
  if (kind === Tag.DATE || kind === Tag.BYTES) return;
  const obj = value as object;
  if (stack.includes(obj)) fail(path, "cyclic structure", "a persistent value is a tree: it cannot contain itself");
  stack.push(obj);
  if (kind === Tag.ARRAY) (obj as unknown[]).forEach((v, i) => walk(v, `${path}[${i}]`, stack));
  else if (kind === Tag.MAP) for (const [k, v] of obj as Map<unknown, unknown>) {
    checkKey(k, `${path} key`);
    walk(v, `${path}[${keyText(k)}]`, stack);
  }
  else if (kind === Tag.SET) for (const k of obj as Set<unknown>) checkKey(k, `${path} member`);
  else for (const key of Object.keys(obj)) walk((obj as Record<string, unknown>)[key], `${path}.${key}`, stack);
  stack.pop();
}

function fail(path: string, type: string, why = `persistent fields hold ${STORABLE_TYPES}`): never {
  const err: UnstorableError = new TypeError(`field '${path}': cannot store a value of type ${type} (${why})`);
  err.typeName = type;
  throw err;
}

function keyText(k: unknown): string {
  return typeof k === "string" ? JSON.stringify(k) : String(k);
}

function protoName(v: object): string | undefined {
  const proto = Object.getPrototypeOf(v) as { constructor?: { name?: string } } | null;
  return proto?.constructor?.name;
}

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v) as object | null;
  return proto === null || (Object.getPrototypeOf(proto) === null && protoName(v) === "Object");
}

function typeName(v: unknown): string {
  if (typeof v !== "object" || v === null) return typeof v;
  return protoName(v) ?? "object";
}
