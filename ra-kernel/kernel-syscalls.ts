/**
 * KernelSyscalls: the kernel's side of the syscall channel — one `switch` over the ops in
 * `Syscalls` (isiba-messages.ts), each handed to the kernel object that serves it.
 *
 *   const syscalls = new KernelSyscalls(lockManager);
 *   const pool = new IsibaPool(workers, dsm.fault, serverId, syscalls.handle);
 *
 * The object and thread of a call come from the IsibaPool's record of the isiba (the
 * SyscallContext), never from the worker's message: object code can lock only its own
 * object, as its own thread. Arguments are checked here, where object code's values enter
 * the kernel; the home checks them again at its boundary.
 */
import type { SyscallHandler } from "./isiba-pool.js";
import type { SyscallCall, UserLockKind } from "./isiba-messages.js";
import type { LockManager } from "./lock-manager.js";
import { BadSyscallError, UnknownSyscallError } from "./syscall-errors.js";

const LOCK_KEY_RE = /^[\x20-\x7e]{1,128}$/;
const USER_LOCK_KINDS: readonly string[] = ["lock", "semaphore"] satisfies UserLockKind[];
const MAX_PERMITS = 1_000_000;

export class KernelSyscalls {
  constructor(private readonly locks: LockManager) {}

  readonly handle: SyscallHandler = async (ctx, call) => {
    switch (call.op) {
      case "lock.acquire": {
        const { key, lock } = lockArgs(call);
        const permits = permitsArg(call.op, call.args.permits);
        return this.locks.acquire(ctx.isiba, { object: ctx.object, key, lock, thread: ctx.thread, permits });
      }
      case "lock.release": {
        const { key, lock } = lockArgs(call);
        return this.locks.release(ctx.isiba, { object: ctx.object, key, lock, thread: ctx.thread });
      }
      default: {
        const op = String((call as { op: unknown }).op);
        throw new UnknownSyscallError(`unknown syscall '${op}'`, { op });
      }
    }
  };
}

function lockArgs(call: SyscallCall): { key: string; lock: UserLockKind } {
  const { key, lock } = (call.args ?? {}) as { key?: unknown; lock?: unknown };
  if (typeof key !== "string" || !LOCK_KEY_RE.test(key)) {
    throw new BadSyscallError(`${call.op}: a lock key is 1-128 printable ASCII characters, got ${JSON.stringify(key)?.slice(0, 60)}`, { op: call.op });
  }
  if (typeof lock !== "string" || !USER_LOCK_KINDS.includes(lock)) {
    throw new BadSyscallError(`${call.op}: lock kind must be 'lock' or 'semaphore' (the monitor is the kernel's), got ${JSON.stringify(lock)}`, { op: call.op });
  }
  return { key, lock: lock as UserLockKind };
}

function permitsArg(op: string, permits: unknown): number | undefined {
  if (permits === undefined) return undefined;
  if (typeof permits !== "number" || !Number.isInteger(permits) || permits < 0 || permits > MAX_PERMITS) {
    throw new BadSyscallError(`${op}: permits must be an integer in 0..${MAX_PERMITS}, got ${String(permits)}`, { op });
  }
  return permits;
}
