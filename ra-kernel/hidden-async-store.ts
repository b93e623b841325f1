/**
 * HiddenAsyncStore: an AsyncLocalStorage whose value object code cannot read or forge.
 *
 * Node's AsyncLocalStorage keeps its store on every promise made while it is active, under
 * a symbol property (`Symbol(kResourceStore)`): `Reflect.ownKeys(somePromise)` shows it to
 * any code holding the promise, object code included. Kept there directly, an invocation's
 * context (its raw syscalls), its write log and its deferred frees were one property read
 * away (found by test/security/escapes.test.ts, "unfrozenReach").
 *
 * So the store holds a token instead: a frozen object with nothing to read, whose value is
 * in a private field. Object code may still move tokens between promises it holds, or put
 * its own object there. Neither gives it anything: each store brands its own tokens (a
 * token of another store, or any other object, reads as no value), and only this module can
 * make one (the class reachable through a token's `constructor` refuses to).
 */
import { AsyncLocalStorage, executionAsyncId } from "node:async_hooks";

/** Only `seal` holds it: `new` on a token's class without it is refused. */
const SEALING = Object.freeze({});

/** A token class of one store: `seal` makes its tokens, `open` reads only them. */
function tokenKind<T>(): { seal(value: T): object; open(token: unknown): T | undefined } {
  let open!: (token: unknown) => T | undefined;
  class Token {
    readonly #value: T;

    constructor(value: T, key: unknown) {
      if (key !== SEALING) throw new TypeError("not a constructor");
      this.#value = value;
      Object.freeze(this);
    }

    static {
      open = (token) => (typeof token === "object" && token !== null && #value in token ? (token as Token).#value : undefined);
    }
  }
  Object.freeze(Token.prototype);
  Object.freeze(Token);
  return { seal: (value) => new Token(value, SEALING), open };
}

export class HiddenAsyncStore<T> {
  private readonly storage = new AsyncLocalStorage<object>();
  private readonly tokens = tokenKind<T>();
  /** `get`'s last answer, and the async context it was for (see `get`). */
  private cachedId = -1;
  private cachedValue: T | undefined;

  /** Runs `fn` (and everything it awaits) with `value` as the store. */
  run<R>(value: T, fn: () => R): R {
    this.cachedId = -1;
    try {
      return this.storage.run(this.tokens.seal(value), fn);
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
      this.cachedValue = this.tokens.open(this.storage.getStore());
      this.cachedId = id;
    }
    return this.cachedValue;
  }
}
