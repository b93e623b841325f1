/**
 * Lock: a held named lock of an object, arbitrated by the object's home (DESIGN §5-6).
 *
 *   const lock = await this.lock("accounts");     // waits, FIFO, until granted
 *   try { ... } finally { await lock.release(); }
 *   // or: await this.withLock("accounts", () => { ... });
 *
 * One holder thread at a time per (object, key); a thread may take a lock it holds again
 * (each `lock()` gives its own handle, to release once). Whatever an invocation still holds
 * when it returns or throws is released then; if its compute server dies, by the home.
 * `release()` is idempotent: releasing a handle again does nothing, so a `finally` after
 * an explicit release is safe.
 *
 * Rules: a handle belongs to the invocation that took it (do not keep it in a module
 * variable for a later call); it is not a storable value (not a persistent field).
 */
import type { InvocationContext } from "./invocation-context.js";

export class Lock {
  // #private, not TS private: object code holds this handle and must not reach the context.
  #held = true;
  readonly #ctx: InvocationContext;

  /** Made by `CloudsObject.lock()` once the home granted the lock. */
  constructor(ctx: InvocationContext, readonly key: string) {
    this.#ctx = ctx;
  }

  /** Whether this handle still holds the lock. */
  get held(): boolean {
    return this.#held;
  }

  async release(): Promise<void> {
    if (!this.#held) return;
    this.#held = false;
    await this.#ctx.syscall("lock.release", { key: this.key, lock: "lock" });
  }
}

/** Waits for the lock `key` of the context's object; resolves with its handle. */
export async function acquireLock(ctx: InvocationContext, key: string): Promise<Lock> {
  await ctx.syscall("lock.acquire", { key, lock: "lock" });
  return new Lock(ctx, key);
}
