/**
 * Boundary validation: where bytes become values.
 *
 * Every protocol module decodes an incoming message body with these helpers before acting on
 * it. Each helper either returns a value of the promised type or throws BadRequestError
 * naming the message kind and the field that was wrong, so a malformed message gets an error
 * reply and never reaches server logic. Sizes are bounded here too.
 */
import { BadRequestError } from "./errors.js";

export type Body = Record<string, unknown>;

/** Limits applied when a message names none. */
export const DEFAULT_MAX_STRING = 64 * 1024;
export const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;
export const DEFAULT_MAX_ITEMS = 100_000;

export function asBody(kind: string, body: unknown): Body {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new BadRequestError(`${kind}: body must be an object`, { kind, field: "" });
  }
  return body as Body;
}

function bad(kind: string, field: string, what: string): never {
  throw new BadRequestError(`${kind}: field '${field}' ${what}`, { kind, field });
}

export function str(kind: string, b: Body, field: string, max = DEFAULT_MAX_STRING): string {
  const v = b[field];
  if (typeof v !== "string") bad(kind, field, `must be a string, got ${typeName(v)}`);
  if (v.length > max) bad(kind, field, `is longer than ${max} characters`);
  return v;
}

export function optStr(kind: string, b: Body, field: string, max = DEFAULT_MAX_STRING): string | undefined {
  return b[field] === undefined ? undefined : str(kind, b, field, max);
}

export function int(kind: string, b: Body, field: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const v = b[field];
  if (typeof v !== "number" || !Number.isInteger(v)) bad(kind, field, `must be an integer, got ${typeName(v)}`);
  if (v < min || v > max) bad(kind, field, `must be between ${min} and ${max}, got ${v}`);
  return v;
}

export function optInt(kind: string, b: Body, field: string, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
  return b[field] === undefined ? undefined : int(kind, b, field, min, max);
}

export function bool(kind: string, b: Body, field: string): boolean {
  const v = b[field];
  if (typeof v !== "boolean") bad(kind, field, `must be a boolean, got ${typeName(v)}`);
  return v;
}

export function optBool(kind: string, b: Body, field: string): boolean | undefined {
  return b[field] === undefined ? undefined : bool(kind, b, field);
}

export function bytes(kind: string, b: Body, field: string, max = DEFAULT_MAX_BYTES): Uint8Array {
  const v = b[field];
  if (!(v instanceof Uint8Array)) bad(kind, field, `must be bytes, got ${typeName(v)}`);
  if (v.byteLength > max) bad(kind, field, `is larger than ${max} bytes`);
  return v;
}

export function arr(kind: string, b: Body, field: string, max = DEFAULT_MAX_ITEMS): unknown[] {
  const v = b[field];
  if (!Array.isArray(v)) bad(kind, field, `must be an array, got ${typeName(v)}`);
  if (v.length > max) bad(kind, field, `has more than ${max} items`);
  return v;
}

export function obj(kind: string, b: Body, field: string): Body {
  const v = b[field];
  if (typeof v !== "object" || v === null || Array.isArray(v)) bad(kind, field, `must be an object, got ${typeName(v)}`);
  return v as Body;
}

export function oneOf<T extends string>(kind: string, b: Body, field: string, values: readonly T[]): T {
  const v = str(kind, b, field, 64);
  if (!values.includes(v as T)) bad(kind, field, `must be one of ${values.join(", ")}, got '${v}'`);
  return v as T;
}

/** Validates with a predicate (e.g. isSysName); `what` completes "must be ...". */
export function check<T>(kind: string, b: Body, field: string, is: (v: unknown) => v is T, what: string): T {
  const v = b[field];
  if (!is(v)) bad(kind, field, `must be ${what}, got ${JSON.stringify(v)?.slice(0, 80) ?? typeName(v)}`);
  return v;
}

export function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (v instanceof Uint8Array) return "bytes";
  return typeof v;
}
