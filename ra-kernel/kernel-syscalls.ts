/**
 * KernelSyscalls: the kernel's side of the syscall channel — one `switch` over the ops in
 * `Syscalls` (isiba-messages.ts), each handed to the kernel object that serves it.
 *
 *   const syscalls = new KernelSyscalls(lockManager, invocationLink);
 *   const pool = new IsibaPool(workers, dsm.fault, serverId, syscalls.handle);
 *
 * Locks go to the LockManager — a release after the commit of the isiba's segment so far
 * (`SegmentCommitter`: release is a commit point, DESIGN §7a); names, nested invocations and
 * print go to the InvocationLink
 * (the compute server: the name server, other compute servers, the thread's route back to
 * its workstation). A kernel without a link (unit tests) refuses those with
 * UnknownSyscallError.
 *
 * The object and thread of a call come from the IsibaPool's record of the isiba (the
 * SyscallContext), never from the worker's message: object code can lock only its own
 * object, as its own thread. Arguments are checked here, where object code's values enter
 * the kernel; the home checks them again at its boundary.
 */
import type { SyscallContext, SyscallHandler } from "./isiba-pool.js";
import type { SyscallArgs, SyscallCall, SyscallResult, UserLockKind } from "./isiba-messages.js";
import { isServerId, isSysName, type SysName } from "./ids.js";
import type { LockManager } from "./lock-manager.js";
import type { SegmentLog } from "./write-log.js";
import { BadSyscallError, UnknownSyscallError } from "./syscall-errors.js";
import { cutPrintText } from "./value-size.js";

const LOCK_KEY_RE = /^[\x20-\x7e]{1,128}$/;
const USER_LOCK_KINDS: readonly string[] = ["lock", "semaphore"] satisfies UserLockKind[];
const MAX_PERMITS = 1_000_000;
const ENTRY_RE = /^[A-Za-z_$][\w$]{0,127}$/;
const MAX_NAME = 1024;
const MAX_ARGS = 1000;

/** How the kernel serves object code's names, nested invocations and output (the compute server). */
export interface InvocationLink {
  /** The sysname bound to an object name. */
  bind(name: string): Promise<SysName>;
  /** A nested invocation on `from`'s thread, one level deeper. */
  invoke(from: SyscallContext, call: SyscallArgs<"object.invoke">): Promise<SyscallResult<"object.invoke">>;
  /** Sends `text` towards the workstation that started `from`'s thread. */
  print(from: SyscallContext, text: string): Promise<SyscallResult<"thread.print">>;
  /** Starts an invocation as a new thread, child of `from`'s (answers once it started). */
  spawn(from: SyscallContext, call: SyscallArgs<"thread.spawn">): Promise<SyscallResult<"thread.spawn">>;
  /** The end of a thread spawned here. */
  join(from: SyscallContext, id: string): Promise<SyscallResult<"thread.join">>;
}

/** Commits an isiba's segment so far at a commit point (the UserObjectManager). */
export interface SegmentCommitter {
  /** Resolves with the next segment's start mark (a dropMark). */
  commitPoint(isiba: number, since: number, segment: SegmentLog[], broken?: string): Promise<number>;
}

export class KernelSyscalls {
  /** Set once the UserObjectManager exists; without one, releases commit nothing (unit tests). */
  committer: SegmentCommitter | undefined;

  constructor(
    private readonly locks: LockManager,
    private readonly link?: InvocationLink,
  ) {}

  readonly handle: SyscallHandler = async (ctx, call) => {
    switch (call.op) {
      case "lock.acquire": {
        const { key, lock } = lockArgs(call);
        const permits = permitsArg(call.op, call.args.permits);
        return this.locks.acquire(ctx.isiba, { object: ctx.object, key, lock, thread: ctx.thread, permits });
      }
      case "lock.release": {
        const { key, lock } = lockArgs(call);
        const release = () => this.locks.release(ctx.isiba, { object: ctx.object, key, lock, thread: ctx.thread });
        const segment = call.args.log;
        if (!segment || segment.length === 0 || !this.committer) return release();
        // The next holder must see what this one wrote: commit first, release whatever happens
        // (and if the commit failed, its error is the one to report: the lock may be gone too).
        let failed: { error: unknown } | null = null;
        const since = await this.committer.commitPoint(ctx.isiba, ctx.since, segment, call.args.broken).catch((error: unknown) => {
          failed = { error };
          return undefined;
        });
        const released = await release().catch((err: unknown) => {
          if (failed) return { released: false };
          throw err;
        });
        if (failed) throw (failed as { error: unknown }).error;
        return { ...released, since };
      }
      case "object.bind": return { sysname: await this.needLink(call.op).bind(nameArg(call)) };
      case "object.invoke": return this.needLink(call.op).invoke(ctx, invokeArgs(call));
      case "thread.print": return this.needLink(call.op).print(ctx, textArg(call));
      case "thread.spawn": return this.needLink(call.op).spawn(ctx, invokeArgs(call));
      case "thread.join": return this.needLink(call.op).join(ctx, joinArg(call));
      default: {
        const op = String((call as { op: unknown }).op);
        throw new UnknownSyscallError(`unknown syscall '${op}'`, { op });
      }
    }
  };

  private needLink(op: string): InvocationLink {
    if (!this.link) throw new UnknownSyscallError(`syscall ${op}: this kernel has no link to names and other compute servers`, { op });
    return this.link;
  }
}

function nameArg(call: SyscallCall): string {
  const { name } = (call.args ?? {}) as { name?: unknown };
  if (typeof name !== "string" || name.length === 0 || name.length > MAX_NAME) {
    throw new BadSyscallError(`${call.op}: a name is a string of 1-${MAX_NAME} characters, got ${JSON.stringify(name)?.slice(0, 60)}`, { op: call.op });
  }
  return name;
}

function invokeArgs(call: SyscallCall): SyscallArgs<"object.invoke"> {
  const { target, entry, args, at } = (call.args ?? {}) as Record<string, unknown>;
  const bad = (what: string) => new BadSyscallError(`${call.op}: ${what}`, { op: call.op });
  if (!isSysName(target)) throw bad(`the target must be a sysname, got ${JSON.stringify(target)?.slice(0, 60)}`);
  if (typeof entry !== "string" || !ENTRY_RE.test(entry)) throw bad(`not an entry name: ${JSON.stringify(entry)?.slice(0, 60)}`);
  if (!Array.isArray(args) || args.length > MAX_ARGS) throw bad(`the arguments must be an array of at most ${MAX_ARGS}`);
  if (at !== undefined && !isServerId(at)) throw bad(`at(server): not a server id: ${JSON.stringify(at)?.slice(0, 60)}`);
  return { target, entry, args, at };
}

function joinArg(call: SyscallCall): string {
  const { id } = (call.args ?? {}) as { id?: unknown };
  if (typeof id !== "string" || !/^t:[\x21-\x7e]{1,180}$/.test(id)) throw new BadSyscallError(`${call.op}: not a thread id: ${JSON.stringify(id)?.slice(0, 60)}`, { op: call.op });
  return id;
}

function textArg(call: SyscallCall): string {
  const { text } = (call.args ?? {}) as { text?: unknown };
  if (typeof text !== "string") throw new BadSyscallError(`${call.op}: the text must be a string`, { op: call.op });
  return cutPrintText(text);
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
