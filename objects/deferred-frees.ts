/**
 * DeferredFrees: heap blocks an invocation detaches are reclaimed only after it committed.
 *
 * Detaching a value from the heap (a field or element overwritten, a Map/Set entry deleted,
 * an array truncated or spliced) leaves blocks no cell points at any more. They are not
 * freed then but queued here, for two reasons:
 *   - crash consistency (DESIGN §7a): until the detaching segment has committed, the durable
 *     state still points at the blocks; freed at once, another invocation could allocate
 *     and commit them first, and a crash of this one would leave two owners of one block.
 *     So the isiba runs the queue only once the kernel has answered the invocation's final
 *     commit (as a small segment of its own: a crash before it commits leaks the blocks);
 *     an invocation whose commit was refused drops the queue (its detaching never happened);
 *   - views: a view read before the removal keeps working for the rest of the invocation:
 *
 *   const m = this.byKey.get(k); this.byKey.delete(k); return m;      // m still reads
 *   const first = this.items[0]; this.items.length = 0; return first; // likewise
 *
 * The isiba (ra-kernel/isiba-worker.ts) runs each invocation inside
 * `runDeferringFrees(frees, ...)` and calls `frees.flush()` after its commit, or `drop()`.
 * Outside such a scope (unit tests, tools) blocks are freed at once.
 *
 * Why one queue per invocation and not per Heap: one Heap (one per mapped heap segment) is
 * shared by every isiba of the object in a worker, and several may be in progress at once
 * (entries await). A per-Heap queue flushed when one invocation ends would free blocks
 * another still reads. The queue follows the invocation through its awaits
 * (AsyncLocalStorage), like InvocationContext.
 *
 * What must not be done: flush before the invocation's commit was answered. A detached
 * container may still be written through its view; the deferred free reclaims it deeply as
 * it is then, so nothing leaks. An isiba that dies before flushing leaks the queued blocks.
 */
import { HiddenAsyncStore } from "../ra-kernel/hidden-async-store.js";

export class DeferredFrees {
  /** Frees queued by this invocation; once flushed, later requests run at once. */
  private pending: Array<() => void> = [];
  private flushed = false;

  /** Queues `free`, or runs it now if the queue was already flushed. */
  defer(free: () => void): void {
    if (this.flushed) free();
    else this.pending.push(free);
  }

  /** Frees waiting. */
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

  /** Forgets everything queued: the detaching segment never committed. */
  drop(): void {
    this.flushed = true;
    this.pending = [];
  }

  /**
   * Forgets what is queued so far but keeps deferring: a commit point of the invocation
   * failed, so some of those blocks may still be referenced by its durable state (the ones
   * detached by segments that did commit leak instead).
   */
  discard(): void {
    this.pending = [];
  }
}

/** Hidden from object code, which can read what AsyncLocalStorage puts on promises (HiddenAsyncStore). */
const current = new HiddenAsyncStore<DeferredFrees>();

/** Runs `fn` (and everything it awaits) deferring frees to `frees`. */
export function runDeferringFrees<T>(frees: DeferredFrees, fn: () => T): T {
  return current.run(frees, fn);
}

/** Frees detached blocks: now outside an invocation, after its commit inside one. */
export function deferFree(free: () => void): void {
  const frees = current.get();
  if (frees) frees.defer(free);
  else free();
}
