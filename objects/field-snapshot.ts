/**
 * fieldSnapshot: an object's persistent fields as plain data, for `inspect NAME` — read
 * through the same views entries use, but running none of the class's code.
 *
 * Containers are followed `depth` levels down; below that one shows as its kind and size
 * (`Array(12000)`, `Map(3)`, `Object{5 fields}`). Past `maxItems`, an array, Map, Set or
 * record keeps its first items and ends with a line saying how many more there are; a
 * Uint8Array past `maxItems` bytes keeps its first ones likewise. Only what is shown is
 * read, so a huge field costs its first items, not all of it. References stay references
 * (the caller encodes them).
 *
 *   fieldSnapshot(store, { depth: 3, maxItems: 100 })  ->  { owner: "ana", log: [...] }
 */
import { setOwn } from "./own-property.js";
import { types } from "node:util";
import { sysnameOfRef } from "./object-ref.js";
import { handleOf } from "./persistent-array.js";
import { tableOf } from "./persistent-record.js";
import { isPersistentMap } from "./persistent-map.js";
import { isPersistentSet } from "./persistent-set.js";
import { bytesHandleOf } from "./persistent-bytes.js";
import { isPersistentDate } from "./persistent-date.js";
import type { PersistentStore } from "./persistent-store.js";

export interface SnapshotOptions {
  /** Container levels shown. @default 3 */
  depth?: number;
  /** Items shown of one container (bytes of a Uint8Array). @default 100 */
  maxItems?: number;
}

/** Every persistent field of the object in `store`, by name, as plain data (see header). */
export function fieldSnapshot(store: PersistentStore, options: SnapshotOptions = {}): Record<string, unknown> {
  const limits = { depth: options.depth ?? 3, maxItems: options.maxItems ?? 100 };
  const out: Record<string, unknown> = {};
  for (const name of store.names()) setOwn(out, name, snap(store.get(name), limits.depth, limits.maxItems));
  return out;
}

function snap(value: unknown, depth: number, max: number): unknown {
  if (typeof value !== "object" || value === null || sysnameOfRef(value) !== undefined) return value;
  const bytes = bytesHandleOf(value)?.read() ?? (types.isUint8Array(value) ? value : undefined);
  if (bytes) return bytes.length > max ? [bytes.slice(0, max), `… ${bytes.length - max} more bytes (${bytes.length} in all)`] : bytes.slice();
  if (isPersistentDate(value) || types.isDate(value)) return new Date((value as Date).getTime());
  if (handleOf(value) || Array.isArray(value)) return items(value as unknown[], (value as unknown[]).length, "Array", depth, max);
  // A Set is shown as an array of its first items (a Set cannot hold the "… more" line apart).
  if (isPersistentMap(value) || types.isMap(value)) return mapOf(value as Map<unknown, unknown>, depth, max);
  if (isPersistentSet(value) || types.isSet(value)) {
    const set = value as Set<unknown>;
    return depth <= 0 ? `Set(${set.size})` : new Set(items(set, set.size, "Set", depth, max) as unknown[]);
  }
  const table = tableOf(value);
  const entries: Iterable<[unknown, unknown]> = table ? table.entries("value") : Object.entries(value);
  const size = table ? table.size : Object.keys(value).length;
  if (depth <= 0) return `Object{${size} field${size === 1 ? "" : "s"}}`;
  const out: Record<string, unknown> = {};
  let n = 0;
  for (const [k, v] of entries) {
    if (n++ === max) {
      out["…"] = `${size - max} more fields (${size} in all)`;
      break;
    }
    setOwn(out, String(k), snap(v, depth - 1, max));
  }
  return out;
}

/** The first `max` items of an array or Set (read one by one), and a line for the rest. */
function items(values: Iterable<unknown>, size: number, kind: string, depth: number, max: number): unknown[] | string {
  if (depth <= 0) return `${kind}(${size})`;
  const out: unknown[] = [];
  const indexed = values as unknown[];
  if (Array.isArray(values) || handleOf(values)) for (let i = 0; i < Math.min(size, max); i++) out.push(snap(indexed[i], depth - 1, max));
  else for (const v of values) if (out.length < max) out.push(snap(v, depth - 1, max)); else break;
  if (size > max) out.push(`… ${size - max} more items (${size} in all)`);
  return out;
}

function mapOf(map: Map<unknown, unknown>, depth: number, max: number): Map<unknown, unknown> | string {
  if (depth <= 0) return `Map(${map.size})`;
  const out = new Map<unknown, unknown>();
  for (const [k, v] of map) {
    if (out.size === max) {
      out.set("…", `${map.size - max} more entries (${map.size} in all)`);
      break;
    }
    out.set(snap(k, depth - 1, max), snap(v, depth - 1, max));
  }
  return out;
}
