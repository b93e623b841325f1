/**
 * InvocationContext: what the runtime knows about the invocation running an object's code —
 * which object, which thread, and how to ask the kernel (syscalls).
 *
 * The isiba makes one per invocation (and one per constructor run) and gives it to the
 * object's InstanceProxy, which registers it here (`attachInvocation`). The runtime's
 * methods on CloudsObject (`lock`, `withLock`, `semaphore`) find it through
 * `invocationOf(this)`. Object code cannot reach it: it is a private field of the proxy
 * (ra-kernel/private-slot.ts), not answered as a property (a property lookup would show its key to
 * any Proxy object code passed in place of `this`). Handles made from a context (Lock,
 * Semaphore) belong to that invocation:
 * once it has returned, the kernel refuses their syscalls (IsibaEndedError).
 *
 * The isiba also runs each invocation inside `runInInvocation(ctx, ...)`: code reached from
 * it, including after awaits, finds the context with `currentInvocation()`. That is how an
 * object reference read from a field (made by the heap, which knows no invocation) knows
 * the thread to invoke on (objects/ref.ts).
 */
import { HiddenAsyncStore } from "../ra-kernel/hidden-async-store.js";
import type { SysName, ThreadId } from "../ra-kernel/ids.js";
import type { SyscallArgs, SyscallOp, SyscallResult } from "../ra-kernel/isiba-messages.js";
import { OutsideInvocationError } from "./errors.js";
import { privateSlot } from "../ra-kernel/private-slot.js";

export interface InvocationContext {
  readonly object: SysName;
  readonly thread: { readonly id: ThreadId; readonly depth: number };
  /** Asks the kernel thread; resolves with its result or rejects with its named error. */
  syscall<K extends SyscallOp>(op: K, args: SyscallArgs<K>): Promise<SyscallResult<K>>;
}

/** Hidden from object code, which can read what AsyncLocalStorage puts on promises (HiddenAsyncStore). */
const current = new HiddenAsyncStore<InvocationContext>();

/** Runs `fn` (and everything it awaits) as part of the invocation `ctx`. */
export function runInInvocation<T>(ctx: InvocationContext, fn: () => T): T {
  return current.run(ctx, fn);
}

/** The invocation the calling code runs in (see runInInvocation), if any. */
export function currentInvocation(): InvocationContext | undefined {
  return current.get();
}

/** Each InstanceProxy's invocation, a private field of the proxy: see the header. */
const contexts = privateSlot<InvocationContext>();

/** Makes `ctx` the invocation of `self` (an InstanceProxy). */
export function attachInvocation(self: object, ctx: InvocationContext): void {
  contexts.set(self, ctx);
}

/** The context of the invocation `self` (an InstanceProxy) runs in, or OutsideInvocationError. */
export function invocationOf(self: unknown, method: string): InvocationContext {
  const ctx = contexts.get(self);
  if (!ctx) {
    throw new OutsideInvocationError(
      `${method}() needs a running invocation: call it inside a method of a persistent object (on 'this')`,
      { method },
    );
  }
  return ctx;
}

const LOCK_KEY_RE = /^[\x20-\x7e]{1,128}$/;

/** Checks a lock or semaphore key early, with a message object code can act on. */
export function checkLockKey(key: unknown, method: string): string {
  if (typeof key !== "string" || !LOCK_KEY_RE.test(key)) {
    throw new TypeError(`${method}(key): the key must be a string of 1-128 printable ASCII characters, got ${JSON.stringify(key)?.slice(0, 60)}`);
  }
  return key;
}
