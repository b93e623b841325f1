/**
 * What a value leaving an isiba may weigh: a result, or the arguments of a nested
 * invocation or a spawned thread. Each is copied into the compute server's kernel thread,
 * then sent over a connection whose messages are bounded (64 MiB, MAX_MESSAGE_BYTES): a
 * 100 MiB result used to tear the caller's connection down, and a few at once could fill
 * the kernel thread's heap for every object on the server. So the worker weighs the value
 * first and refuses one past MAX_VALUE_BYTES with NotTransferableError, naming what.
 *
 * The weight is an estimate, stopped as soon as it passes the bound (a small value costs
 * one short walk): strings at two bytes a character, typed arrays at their bytes, 8 bytes
 * for every other item.
 *
 * Also here: the cut of a print's text (`cutPrintText`), done by the worker before the text
 * is copied (the kernel cuts it again, for any sender).
 */
import { NotTransferableError } from "./errors.js";

export const MAX_VALUE_BYTES = 16 * 2 ** 20;
export const MAX_PRINT = 64 * 1024;

/** Throws NotTransferableError if `value` weighs more than MAX_VALUE_BYTES (`what`: whose). */
export function checkValueSize(value: unknown, what: string): void {
  const weight = weighUpTo(value, MAX_VALUE_BYTES);
  if (weight > MAX_VALUE_BYTES) {
    throw new NotTransferableError(`${what} cannot leave the object: it is larger than ${MAX_VALUE_BYTES / 2 ** 20} MiB (store big data in fields and pass a reference to the object)`, { what });
  }
}

/** The estimated weight of `value`, or a number past `bound` as soon as it passes it. */
export function weighUpTo(value: unknown, bound: number): number {
  let total = 0;
  const stack: unknown[] = [value];
  const seen = new Set<object>();
  while (stack.length > 0 && total <= bound) {
    const v = stack.pop();
    if (typeof v === "string") total += 8 + 2 * v.length;
    else if (typeof v !== "object" || v === null) total += 8;
    else if (seen.has(v)) total += 8;
    else {
      seen.add(v);
      total += 8 + itemsOf(v, stack);
    }
  }
  return total;
}

/** Pushes the items of container `v` (keys and values) on `stack`; the bytes of a typed array. */
function itemsOf(v: object, stack: unknown[]): number {
  if (ArrayBuffer.isView(v)) return v.byteLength;
  if (v instanceof ArrayBuffer) return v.byteLength;
  if (Array.isArray(v)) {
    for (const item of v) stack.push(item);
    return 0;
  }
  if (v instanceof Map) {
    for (const [k, item] of v) stack.push(k, item);
    return 0;
  }
  if (v instanceof Set) {
    for (const item of v) stack.push(item);
    return 0;
  }
  if (v instanceof Date) return 8;
  for (const key of Object.keys(v)) stack.push(key, (v as Record<string, unknown>)[key]);
  return 0;
}

/** `text`, cut to MAX_PRINT characters with a note of how many more there were. */
export function cutPrintText(text: string): string {
  return text.length > MAX_PRINT ? `${text.slice(0, MAX_PRINT)}… (${text.length - MAX_PRINT} more characters cut)` : text;
}
