/**
 * HiddenAsyncStore: an AsyncLocalStorage whose value object code cannot read or forge.
 *
 * Node's AsyncLocalStorage keeps its store on every promise made while it is active, under
 * a symbol property (`Symbol(kResourceStore)`): `Reflect.ownKeys(somePromise)` shows it to
 * any code holding the promise, object code included. Kept there directly, an invocation's
 * context (its raw syscalls), its write log and its deferred frees were one property read
 * away (found by test/security/escapes.test.ts, "unfrozenReach").
 *
 * So the store holds a token instead: an empty frozen object whose value is in a private
 * field (private-slot.ts). Object code may still move tokens between promises it holds, or
 * put its own object there. Neither gives it anything: each store has a slot of its own (a
 * token of another store, or any other object, reads as no value), and only the store can
 * fill one.
 */
import { AsyncLocalStorage, executionAsyncId } from "node:async_hooks";
import { privateSlot } from "./private-slot.js";

export class HiddenAsyncStore<T> {
  private readonly storage = new AsyncLocalStorage<object>();
  /** Each token's value, in a private field of the token: this store's own (see the header). */
  private readonly tokens = privateSlot<T>();
  /** `get`'s last answer, and the async context it was for (see `get`). */
  private cachedId = -1;
  private cachedValue: T | undefined;

  /** A token for `value`: an empty frozen object; its value is in this store's slot. */
  private seal(value: T): object {
    const token = {};
    this.tokens.set(token, value);
    return Object.freeze(token);
  }

  /** Runs `fn` (and everything it awaits) with `value` as the store. */
  run<R>(value: T, fn: () => R): R {
    this.cachedId = -1;
    try {
      return this.storage.run(this.seal(value), fn);
    } finally {
      this.cachedId = -1;
    }
  }

  /**
   * The value of the code running now, if any. Asked on every write to object memory, so
   * answered from a cache while the async context is the same one: within one context the
   * store changes only through `run`, which clears the cache. AsyncLocalStorage's own lookup
   * costs ~100 ns in a locked-down realm (Node's executionAsyncResource stores into a typed
   * array, which V8 makes slow once Object.prototype is frozen).
   */
  get(): T | undefined {
    const id = executionAsyncId();
    if (id !== this.cachedId) {
      this.cachedValue = this.tokens.get(this.storage.getStore());
      this.cachedId = id;
    }
    return this.cachedValue;
  }
}
