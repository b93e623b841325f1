/**
 * Spawner<T>: `this.spawn(ref)` in object code — every method of T becomes a start of that
 * entry as a NEW thread (syscall thread.spawn), answering once it started with its handle:
 *
 *   const h = await this.spawn(worker).crunch(1000);   // a new thread runs crunch
 *   this.spawn(worker, { at: "cs2" })                  // ... started at compute server cs2
 *   ...                                                // this invocation goes on meanwhile
 *   const result = await h.join();                     // crunch's value (or its error)
 *
 * The kernel names the new thread (its own id, this thread its parent) and keeps its end for
 * `join` on the compute server that spawned it. Arguments are copied, as for an invocation.
 */
import { OutsideInvocationError } from "./errors.js";
import { currentInvocation, type InvocationContext } from "./invocation-context.js";
import { refTo, sysnameOfRef } from "./object-ref.js";
import { decodeRefs, encodeArgs } from "./ref-codec.js";
import type { Ref } from "./ref.js";
import { toPlain } from "./to-plain.js";

/** A thread started by `spawn`: its id, and its end. */
export interface SpawnedThread<R> {
  readonly id: string;
  /** Resolves with the entry's value once the thread ended (rejects with its error). */
  join(): Promise<R>;
}

type RefEntries<T> = Omit<Ref<T>, "sysname" | "at">;

export type Spawner<T> = {
  [K in keyof RefEntries<T>]: RefEntries<T>[K] extends (...args: infer A) => Promise<infer R> ? (...args: A) => Promise<SpawnedThread<R>> : never;
};

export function makeSpawner<T>(ref: Ref<T>, made: InvocationContext, hint?: string): Spawner<T> {
  const target = sysnameOfRef(ref);
  if (target === undefined) throw new TypeError("spawn(ref): not a reference to an object (use this.bind, this.self or a Ref argument)");
  if (hint !== undefined && typeof hint !== "string") throw new TypeError("spawn(ref, { at }): at must be a compute server id");
  return new Proxy({} as Spawner<T>, {
    get(_target, key) {
      if (typeof key !== "string" || key === "then") return undefined;
      return (...args: unknown[]) => spawn(made, target, key, args, hint);
    },
  });
}

async function spawn<R>(made: InvocationContext, target: ReturnType<typeof sysnameOfRef> & string, entry: string, args: unknown[], at: string | undefined): Promise<SpawnedThread<R>> {
  const ctx = currentInvocation() ?? made;
  const { id } = await ctx.syscall("thread.spawn", { target, entry, args: encodeArgs(toPlain(args) as unknown[]), ...(at !== undefined ? { at } : {}) });
  return {
    id,
    join: async () => {
      const now = currentInvocation();
      if (!now) throw new OutsideInvocationError(`join() of thread ${id} needs a running invocation`, { method: "join" });
      const { value } = await now.syscall("thread.join", { id });
      return decodeRefs(value, refTo) as R;
    },
  };
}
