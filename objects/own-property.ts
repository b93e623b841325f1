/**
 * setOwn: `target[key] = value` as an own data property, whatever the key. A plain
 * assignment to "__proto__" sets the object's prototype instead, so a record or Map copied
 * out of object memory (`{ ["__proto__"]: x }` is a storable record) lost that key, and the
 * copy inherited from a value of the object's choosing.
 */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  else target[key] = value;
}
