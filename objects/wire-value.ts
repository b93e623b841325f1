/**
 * WireValue: argument and result values in the form that crosses a socket.
 *
 * socket.io carries JSON plus binary attachments, which loses what object fields may hold:
 * bigint (throws), Map and Set (become {}), Date (a string), undefined (dropped or null),
 * NaN/Infinity/-0 (null). On the wire those travel as single-key tagged objects:
 *
 *   { $bigint: "123" }   { $date: 1700000000000 | null }   { $map: [[k, v], ...] }
 *   { $set: [v, ...] }   { $undef: 1 }   { $num: "NaN" | "Infinity" | "-Infinity" | "-0" }
 *   { $obj: {...} }      a plain object whose only key is one of these tags (escaped)
 *
 * Uint8Array stays binary (an attachment; a Buffer on arrival is viewed as a Uint8Array).
 * Object references are RefCodec's business (`{ $ref: sysname }`, left alone here): encode
 * references first, then `toWire`; on arrival `fromWire`, then decode references.
 *
 *   toWire(value)        structured value -> wire form (copies only what changes)
 *   fromWire(value)      wire form -> structured value, validated: malformed tags, too deep
 *                        or too large containers throw WireValueError (a bad request)
 *
 * Applied only where values meet a socket (servers/compute/protocol.ts); the worker <-> kernel
 * hop is structured clone and needs neither.
 */
import { setOwn } from "./own-property.js";

/** Thrown when a value arriving from the wire is malformed (names the tag or container). */
export class WireValueError extends Error {
  constructor(message: string, readonly tag: string) {
    super(message);
    this.name = "WireValueError";
  }
}

/** Deepest nesting accepted from the wire (values deeper than this are refused). */
export const MAX_WIRE_DEPTH = 256;
/** Most items in one array, Map, Set or object accepted from the wire. */
export const MAX_WIRE_ITEMS = 1_000_000;
/** Longest decimal text of a bigint accepted from the wire. */
export const MAX_BIGINT_DIGITS = 10_000;

const TAGS = new Set(["$bigint", "$date", "$map", "$set", "$undef", "$num", "$obj"]);
const UNDEF = { $undef: 1 } as const;
const SPECIAL_NUMBERS: Record<string, number> = { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity, "-0": -0 };

// ---- encode ---------------------------------------------------------------------------

/** `value` in wire form; throws TypeError for a cyclic value. */
export function toWire(value: unknown): unknown {
  return enc(value, new Set());
}

function enc(v: unknown, path: Set<object>): unknown {
  switch (typeof v) {
    case "bigint": return { $bigint: v.toString() };
    case "undefined": return UNDEF;
    case "number": return Number.isFinite(v) && !Object.is(v, -0) ? v : { $num: Object.is(v, -0) ? "-0" : String(v) };
    case "object": break;
    default: return v;
  }
  if (v === null || ArrayBuffer.isView(v)) return v;
  if (path.has(v)) throw new TypeError("a cyclic value cannot be sent (an object contains itself)");
  path.add(v);
  try {
    return encObject(v, path);
  } finally {
    path.delete(v);
  }
}

function encObject(v: object, path: Set<object>): unknown {
  switch (tagOf(v)) {
    case "Array": return encArray(v as unknown[], path);
    case "Date": {
      const t = Date.prototype.getTime.call(v);
      return { $date: Number.isNaN(t) ? null : t };
    }
    case "Map": {
      const out: unknown[] = [];
      Map.prototype.forEach.call(v, (val: unknown, key: unknown) => out.push([enc(key, path), enc(val, path)]));
      return { $map: out };
    }
    case "Set": {
      const out: unknown[] = [];
      Set.prototype.forEach.call(v, (val: unknown) => out.push(enc(val, path)));
      return { $set: out };
    }
    default: return encRecord(v as Record<string, unknown>, path);
  }
}

function encArray(arr: unknown[], path: Set<object>): unknown[] {
  let out: unknown[] | null = null;
  for (let i = 0; i < arr.length; i++) {
    const w = enc(arr[i], path);
    if (w !== arr[i] && out === null) out = arr.slice(0, i);
    if (out !== null) out[i] = w;
  }
  return out ?? arr;
}

function encRecord(obj: Record<string, unknown>, path: Set<object>): unknown {
  const keys = Object.keys(obj);
  let out: Record<string, unknown> | null = null;
  for (const key of keys) {
    const w = enc(obj[key], path);
    if (w !== obj[key] && out === null) out = { ...obj };
    if (out !== null) setOwn(out, key, w);
  }
  const result = out ?? obj;
  return keys.length === 1 && TAGS.has(keys[0]) ? { $obj: result } : result;
}

function tagOf(value: object): string {
  return Object.prototype.toString.call(value).slice(8, -1);
}

// ---- decode ---------------------------------------------------------------------------

/** The structured value a wire form stands for; WireValueError if it is malformed. */
export function fromWire(value: unknown): unknown {
  return dec(value, 0);
}

function dec(v: unknown, depth: number): unknown {
  if (typeof v !== "object" || v === null) return v;
  if (depth > MAX_WIRE_DEPTH) throw new WireValueError(`nested deeper than ${MAX_WIRE_DEPTH} levels`, "");
  if (ArrayBuffer.isView(v)) return Buffer.isBuffer(v) ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength) : v;
  if (Array.isArray(v)) return decArray(v, depth);
  const keys = Object.keys(v);
  if (keys.length === 1 && TAGS.has(keys[0])) return decTagged(keys[0], (v as Record<string, unknown>)[keys[0]], depth);
  return decRecord(v as Record<string, unknown>, keys, depth);
}

function decTagged(tag: string, body: unknown, depth: number): unknown {
  switch (tag) {
    case "$bigint":
      if (typeof body !== "string" || body.length > MAX_BIGINT_DIGITS || !/^-?\d+$/.test(body)) bad(tag, `a decimal integer string of at most ${MAX_BIGINT_DIGITS} digits`);
      return BigInt(body);
    case "$date":
      if (body !== null && (typeof body !== "number" || !Number.isFinite(body))) bad(tag, "a time in ms or null");
      return new Date(body === null ? NaN : body);
    case "$num":
      if (typeof body !== "string" || !Object.hasOwn(SPECIAL_NUMBERS, body)) bad(tag, "NaN, Infinity, -Infinity or -0");
      return SPECIAL_NUMBERS[body];
    case "$undef": return undefined;
    case "$map": return new Map(items(body, tag).map((e) => pair(e, depth)));
    case "$set": return new Set(items(body, tag).map((e) => dec(e, depth + 1)));
    default: { // $obj
      if (typeof body !== "object" || body === null || Array.isArray(body) || ArrayBuffer.isView(body)) bad(tag, "a plain object");
      return decRecord(body as Record<string, unknown>, Object.keys(body), depth);
    }
  }
}

function pair(e: unknown, depth: number): [unknown, unknown] {
  if (!Array.isArray(e) || e.length !== 2) bad("$map", "a list of [key, value] pairs");
  return [dec(e[0], depth + 1), dec(e[1], depth + 1)];
}

function items(body: unknown, tag: string): unknown[] {
  if (!Array.isArray(body)) bad(tag, "an array");
  if (body.length > MAX_WIRE_ITEMS) bad(tag, `at most ${MAX_WIRE_ITEMS} items`);
  return body;
}

function decArray(arr: unknown[], depth: number): unknown[] {
  if (arr.length > MAX_WIRE_ITEMS) bad("array", `at most ${MAX_WIRE_ITEMS} items`);
  let out: unknown[] | null = null;
  for (let i = 0; i < arr.length; i++) {
    const w = dec(arr[i], depth + 1);
    if (w !== arr[i] && out === null) out = arr.slice(0, i);
    if (out !== null) out[i] = w;
  }
  return out ?? arr;
}

function decRecord(obj: Record<string, unknown>, keys: string[], depth: number): object {
  if (keys.length > MAX_WIRE_ITEMS) bad("object", `at most ${MAX_WIRE_ITEMS} properties`);
  let out: Record<string, unknown> | null = null;
  for (const key of keys) {
    const w = dec(obj[key], depth + 1);
    if (w !== obj[key] && out === null) out = { ...obj };
    if (out !== null) setOwn(out, key, w);
  }
  return out ?? obj;
}

function bad(tag: string, what: string): never {
  throw new WireValueError(`${tag}: must be ${what}`, tag);
}
