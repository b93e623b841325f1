/**
 * toPlain: turns a value that may hold live heap views (persistent arrays, objects, Maps,
 * Sets, Uint8Arrays and Dates read from fields) into plain, structured-clonable data — what
 * an entry's result and a nested invocation's arguments must be before they leave the isiba.
 * Plain arrays and objects are walked too (a result such as `[this.items, this.cfg]` holds
 * views); object references and plain Dates and Uint8Arrays are kept as they are. A value
 * with no view in it is returned unchanged (same identity) cheaply.
 */
import { setOwn } from "./own-property.js";
import { types } from "node:util";
import { sysnameOfRef } from "./object-ref.js";
import { handleOf, copyOut } from "./persistent-array.js";
import { tableOf } from "./persistent-record.js";
import { isPersistentMap } from "./persistent-map.js";
import { isPersistentSet } from "./persistent-set.js";
import { bytesHandleOf } from "./persistent-bytes.js";
import { isPersistentDate } from "./persistent-date.js";

export function toPlain(value: unknown): unknown {
  if (typeof value !== "object" || value === null || sysnameOfRef(value) !== undefined) return value;
  const array = handleOf(value);
  if (array) return copyOut(array.heap, array.addr, array.serial, toPlain);
  const table = tableOf(value);
  if (table) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of table.entries("value")) setOwn(out, k as string, toPlain(v));
    return out;
  }
  if (isPersistentMap(value)) return new Map([...value].map(([k, v]) => [k, toPlain(v)]));
  if (isPersistentSet(value)) return new Set(value);
  const bytes = bytesHandleOf(value);
  if (bytes) return bytes.read();
  if (isPersistentDate(value)) return new Date(value.getTime());
  if (Array.isArray(value)) return replaceIfChanged(value, value.map(toPlain));
  if (types.isMap(value) || types.isSet(value) || types.isDate(value) || types.isTypedArray(value)) return value;
  const proto = Object.getPrototypeOf(value) as object | null;
  if (proto !== null && Object.getPrototypeOf(proto) !== null) return value;
  const entries = Object.entries(value).map(([k, v]) => [k, toPlain(v)] as const);
  return entries.some(([k, v]) => v !== (value as Record<string, unknown>)[k]) ? Object.fromEntries(entries) : value;
}

function replaceIfChanged(before: unknown[], after: unknown[]): unknown[] {
  return after.some((v, i) => v !== before[i]) ? after : before;
}
