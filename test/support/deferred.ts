/**
 * Deferred: a promise with its resolve and reject in hand, so a test decides when a fake
 * server answers. `isPending(p)` tells whether a promise is still unsettled once every
 * callback already queued has run (one macrotask turn, not a timed sleep).
 */
export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(err: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** True when `promise` has neither resolved nor rejected after queued callbacks ran. */
export async function isPending(promise: Promise<unknown>): Promise<boolean> {
  const pending = Symbol("pending");
  const turn = new Promise<symbol>((resolve) => setImmediate(() => resolve(pending)));
  const first = await Promise.race([promise.then(() => "settled", () => "settled"), turn]);
  return first === pending;
}
