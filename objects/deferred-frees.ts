/**
 * DeferredFrees: containers removed during an invocation are reclaimed when it ends.
 *
 * Removing a container from the heap (a Map/Set entry deleted, an array truncated or
 * spliced, a field or element overwritten) detaches it: no cell points at it any more. Its
 * blocks are not freed then but queued here, and freed when the invocation finishes, so
 * a view read before the removal keeps working for the rest of the invocation:
 *
 *   const m = this.byKey.get(k); this.byKey.delete(k); return m;      // m still reads
 *   const first = this.items[0]; this.items.length = 0; return first; // likewise
 *
 * The isiba (ra-kernel/isiba-worker.ts) runs each invocation inside
 * `runDeferringFrees(frees, ...)`, converts the result to plain/wire form, then calls
 * `frees.flush()` (also when the invocation threw), before it reports its dirty pages.
 * Outside such a scope (unit tests, tools) containers are freed at once, as before.
 *
 * Why one queue per invocation and not per Heap: one Heap (one per mapped heap segment) is
 * shared by every isiba of the object in a worker, and several may be in progress at once
 * (entries await). A per-Heap queue flushed when one invocation ends would free containers
 * another still reads. The queue follows the invocation through its awaits
 * (AsyncLocalStorage), like InvocationContext.
 *
 * What must not be done: flush before the result is plain (a result may be a detached
 * container's view). A detached container may still be written through its view; the
 * deferred free reclaims it deeply as it is then, so nothing leaks. Only containers are
 * deferred: strings, bigints, bytes and references decode to JS values at once, so their
 * blocks are freed immediately. An isiba that dies before flushing leaks the queued blocks.
 */
import { AsyncLocalStorage } from "node:async_hooks";

export class DeferredFrees {
  /** Frees queued by this invocation; once flushed, later requests run at once. */
  private pending: Array<() => void> = [];
  private flushed = false;

  /** Queues `free`, or runs it now if this invocation has already ended. */
  defer(free: () => void): void {
    if (this.flushed) free();
    else this.pending.push(free);
  }

  /** Containers waiting to be freed. */
  get size(): number {
    return this.pending.length;
  }

  /** Frees everything queued (every free runs; the first error is rethrown after). */
  flush(): void {
    this.flushed = true;
    let first: unknown = null;
    for (let i = 0; i < this.pending.length; i++) {
      try {
        this.pending[i]();
      } catch (err) {
        first ??= err;
      }
    }
    this.pending = [];
    if (first !== null) throw first;
  }
}

const current = new AsyncLocalStorage<DeferredFrees>();

/** Runs `fn` (and everything it awaits) deferring container frees to `frees`. */
export function runDeferringFrees<T>(frees: DeferredFrees, fn: () => T): T {
  return current.run(frees, fn);
}

/** Frees a detached container: now outside an invocation, at its end inside one. */
export function freeContainer(free: () => void): void {
  const frees = current.getStore();
  if (frees) frees.defer(free);
  else free();
}
