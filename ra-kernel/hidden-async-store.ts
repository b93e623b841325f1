/**
 * HiddenAsyncStore: an AsyncLocalStorage whose value object code cannot read.
 *
 * Node's AsyncLocalStorage keeps its store on every promise made while it is active, under
 * a symbol property (`Symbol(kResourceStore)`): `Reflect.ownKeys(somePromise)` shows it to
 * any code holding the promise, object code included. Kept there directly, an invocation's
 * context (its raw syscalls), its write log and its deferred frees were one property read
 * away (found by test/security/escapes.test.ts, "unfrozenReach").
 *
 * So the store holds a token instead: an object with no prototype and no properties,
 * frozen, whose value is in a private field only this module can read.
 */
import { AsyncLocalStorage, executionAsyncId } from "node:async_hooks";

class Token<T> {
  readonly #value: T;

  private constructor(value: T) {
    this.#value = value;
  }

  /** A token for `value`: nothing to read on it, nothing to change. */
  static seal<T>(value: T): object {
    const token = new Token(value);
    // The class (and its static `open`) must not be reachable from the token.
    Object.setPrototypeOf(token, null);
    return Object.freeze(token);
  }

  static open(token: unknown): unknown {
    return typeof token === "object" && token !== null && #value in token ? (token as Token<unknown>).#value : undefined;
  }
}

export class HiddenAsyncStore<T> {
  private readonly storage = new AsyncLocalStorage<object>();
  /** `get`'s last answer, and the async context it was for (see `get`). */
  private cachedId = -1;
  private cachedValue: T | undefined;

  /** Runs `fn` (and everything it awaits) with `value` as the store. */
  run<R>(value: T, fn: () => R): R {
    this.cachedId = -1;
    try {
      return this.storage.run(Token.seal(value), fn);
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
      this.cachedValue = Token.open(this.storage.getStore()) as T | undefined;
      this.cachedId = id;
    }
    return this.cachedValue;
  }
}
