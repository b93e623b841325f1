/**
 * CloudsObject: the base class of every persistent object.
 *
 *   export class Rectangle extends CloudsObject {
 *     x = 0;                                   // persistent
 *     @entry area(): number { return this.x * this.y; }
 *   }
 *
 * The constructor runs once, when the object is created (shell `new`, `cluster.create`),
 * inside an isiba that has the new object's O space mapped. The base constructor returns
 * the object's InstanceProxy, so the subclass's field initializers and constructor body
 * write straight into object memory. Creating a CloudsObject with the `new` operator in
 * ordinary code is an error: objects are created by the system, which gives them sysnames.
 *
 * The runtime's synchronization, arbitrated by the object's home (DESIGN §5-6), is here as
 * methods usable on `this` inside methods and the constructor:
 *
 *   const l = await this.lock("k"); ... await l.release();    // a named lock (Lock)
 *   await this.withLock("k", () => { ... });                  // released even if fn throws
 *   await this.semaphore("slots", 2).withPermit(() => { ... }); // counting (Semaphore)
 *   @entry({ exclusive: true }) m() { ... }                   // the object's monitor
 *
 * Whatever an invocation still holds when it returns or throws is released then.
 *
 * Other objects, the thread and its workstation (DESIGN §5-6):
 *
 *   const b = await this.bind<Account>("Bob");   // a Ref<Account>, looked up by name
 *   await b.deposit(5);                          // a nested invocation on this thread
 *   this.self                                    // a Ref to this object (to pass along)
 *   this.thread                                  // { id, depth }: the same id all along the chain
 *   this.print("balance", this.balance);         // a line at the thread's shell / client
 *
 * These names are methods or accessors, so a subclass cannot have persistent fields called
 * `lock`, `withLock`, `semaphore`, `bind`, `self`, `thread` or `print`.
 */
import { instanceProxy } from "./instance-proxy.js";
import type { PersistentStore } from "./persistent-store.js";
import { checkLockKey, invocationOf, type InvocationContext } from "./invocation-context.js";
import { acquireLock, type Lock } from "./lock.js";
import { Semaphore } from "./semaphore.js";
import { makeRef, type Ref } from "./ref.js";
import { makeSpawner, type Spawner } from "./spawner.js";
import { markRef } from "./object-ref.js";
import { formatWithOptions } from "node:util";
import { toPlain } from "./to-plain.js";

/** The object whose constructor is about to run (set by the isiba). */
let constructing: { store: PersistentStore; context?: InvocationContext; volatileStore?: PersistentStore } | null = null;

const MAX_PERMITS = 1_000_000;

/**
 * Runs `create` (which calls the class's constructor) with `store` as the new object's
 * memory, `context` as the constructor's invocation (so it may use locks) and
 * `volatileStore` as its volatile heap (the @volatile fields).
 */
export function constructWith<T>(store: PersistentStore, create: () => T, context?: InvocationContext, volatileStore?: PersistentStore): T {
  constructing = { store, context, volatileStore };
  try {
    return create();
  } finally {
    constructing = null;
  }
}

export abstract class CloudsObject {
  constructor() {
    const pending = constructing;
    constructing = null;
    if (!pending) {
      throw new TypeError(
        `${new.target.name} is a persistent class: create its objects with 'new ${new.target.name} Name' in the shell ` +
          `or cluster.create(), not with the new operator`,
      );
    }
    return instanceProxy(pending.store, new.target.prototype, pending.context, pending.volatileStore);
  }

  /** Waits (FIFO, at the object's home) for the lock `key` of this object; its handle. */
  lock(key: string): Promise<Lock> {
    const ctx = invocationOf(this, "lock");
    return acquireLock(ctx, checkLockKey(key, "lock"));
  }

  /** Runs `fn` holding the lock `key`; releases it when `fn` returns or throws. */
  async withLock<T>(key: string, fn: () => T | Promise<T>): Promise<T> {
    const held = await this.lock(key);
    try {
      return await fn();
    } finally {
      await held.release();
    }
  }

  /** A handle on this object's counting semaphore `key` (`permits` on first use, default 1). */
  semaphore(key: string, permits = 1): Semaphore {
    const ctx = invocationOf(this, "semaphore");
    if (!Number.isInteger(permits) || permits < 0 || permits > MAX_PERMITS) {
      throw new TypeError(`semaphore(key, permits): permits must be an integer in 0..${MAX_PERMITS}, got ${String(permits)}`);
    }
    return new Semaphore(ctx, checkLockKey(key, "semaphore"), permits);
  }

  /** A reference to the object bound to `name` (a path, as in the shell), or UnknownNameError. */
  async bind<T>(name: string): Promise<Ref<T>> {
    const ctx = invocationOf(this, "bind");
    if (typeof name !== "string" || name.length === 0) throw new TypeError(`bind(name): the name must be a non-empty string, got ${JSON.stringify(name)}`);
    const { sysname } = await ctx.syscall("object.bind", { name });
    return markRef(makeRef<T>(sysname, ctx), sysname);
  }

  /**
   * A reference to this object, to pass to others or store. Typed loosely (TypeScript cannot
   * map the polymorphic `this` to a Ref the subclass's own Ref<Sub> accepts): it fits any
   * `Ref<Sub>` parameter; `const me: Ref<Sub> = this.self` gives it the checked type.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  get self(): any {
    const ctx = invocationOf(this, "self");
    return markRef(makeRef<unknown>(ctx.object, ctx), ctx.object);
  }

  /**
   * Starts invocations of `ref` as NEW threads: `await this.spawn(ref).entry(args)` answers
   * once the thread started, with its handle — `id`, and `join()` resolving to the entry's
   * result (or rejecting with its error). The new thread is this one's child: its output goes
   * to this thread's workstation, and a kill of this thread does not stop it. This is how an
   * object goes on working while an invocation runs.
   */
  spawn<T>(ref: Ref<T>, options: { at?: string } = {}): Spawner<T> {
    const ctx = invocationOf(this, "spawn");
    return makeSpawner<T>(ref, ctx, options.at);
  }

  /** The thread running this invocation: its id (kept along nested invocations) and depth. */
  get thread(): { readonly id: string; readonly depth: number } {
    const { id, depth } = invocationOf(this, "thread").thread;
    return { id, depth };
  }

  /**
   * Writes a line (formatted like console.log) at the workstation that started the thread,
   * wherever the thread is now. Await it to be sure it was delivered; it never throws.
   */
  print(...args: unknown[]): Promise<void> {
    const ctx = invocationOf(this, "print");
    // Copies of views: util.inspect would show a Proxy's (empty) target, not the value.
    // No custom inspect methods: they would be handed util.inspect and its options (shared).
    const text = formatWithOptions({ depth: 6, breakLength: 120, customInspect: false }, ...args.map(toPlain));
    return ctx.syscall("thread.print", { text }).then(() => undefined, () => undefined);
  }
}
