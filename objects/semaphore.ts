/**
 * Semaphore: a counting semaphore of an object, arbitrated by the object's home.
 *
 *   const slots = this.semaphore("downloads", 2);   // a handle; the home creates it on first use
 *   await slots.withPermit(async () => { ... });    // at most 2 threads inside, cluster-wide
 *
 * `permits` is the count the home starts it with on its first acquire (later values are
 * ignored while the home runs; a semaphore first met in a release starts at 0). Each
 * `acquire()` takes one permit, waiting FIFO when none is left. `release()` by a thread that
 * holds a permit gives one back; by a thread that holds none it SIGNALS: it adds a permit,
 * so producer/consumer works (`semaphore("items", 0)`: producers release, consumers acquire).
 *
 * Permits are held by the invocation that took them and given back when it returns or
 * throws (or by the home when its compute server dies) — a semaphore bounds concurrency.
 * So a consumer keeps what it took only while its invocation runs: consume in a loop inside
 * one invocation, not one item per invocation.
 *
 * Rules: a handle belongs to the invocation that made it; it is not a storable value.
 */
import type { InvocationContext } from "./invocation-context.js";

export class Semaphore {
  // #private, not TS private: object code holds this handle and must not reach the context.
  readonly #ctx: InvocationContext;

  /** Made by `CloudsObject.semaphore()`; nothing is sent until the first acquire. */
  constructor(ctx: InvocationContext, readonly key: string, readonly permits: number) {
    this.#ctx = ctx;
  }

  async acquire(): Promise<void> {
    await this.#ctx.syscall("lock.acquire", { key: this.key, lock: "semaphore", permits: this.permits });
  }

  async release(): Promise<void> {
    await this.#ctx.syscall("lock.release", { key: this.key, lock: "semaphore" });
  }

  /** Runs `fn` holding one permit; gives it back even when `fn` throws. */
  async withPermit<T>(fn: () => T | Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      await this.release();
    }
  }
}
