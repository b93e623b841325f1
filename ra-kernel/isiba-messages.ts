/**
 * Messages between the kernel thread and isiba workers (structured-cloned over the worker's
 * parentPort; page faults use the separate FaultChannel).
 *
 *   kernel -> worker   RunRequest (start an isiba), SyscallReply (answer to a syscall),
 *                      ForgetSegments (an object's volatile heap was discarded),
 *                      Committed (the isiba's final commit was answered: run or drop its frees)
 *   worker -> kernel   RunReply (an isiba is done, with its last commit segment's WriteLog),
 *                      SyscallRequest (object code asks), Freed (the frees' own segment)
 *
 * The kernel sends a class's code and a segment's SharedArrayBuffers to a worker only the
 * first time that worker needs them; afterwards it names them by key / sysname.
 *
 * Syscalls are the asynchronous way object code asks its kernel for a service that needs
 * the network (a lock at the object's home, a name lookup, a nested invocation, output to
 * the thread's workstation): the worker
 * posts a SyscallRequest naming its isiba and a call id, the isiba awaits, the kernel
 * answers with a SyscallReply for that call id. Unlike a page fault, nothing blocks: other
 * isibas of the worker run meanwhile. A new syscall is one more line in `Syscalls`, a case
 * in KernelSyscalls and a method of the runtime (objects/).
 */
import type { WireError } from "./clouds-error.js";
import type { SysName, ThreadId } from "./ids.js";
import type { LockKind } from "./lock-manager.js";
import type { SegmentShare } from "./segment-frames.js";
import type { SegmentLog } from "./write-log.js";

export interface ClassRef {
  /** `Name@version`: code segments are immutable per version. */
  key: string;
  name: string;
  /** The bundled code, when this worker has not loaded `key` yet. */
  code?: string;
}

/** `inspect`: the object's fields as plain data (args[0]: SnapshotOptions), running none of its code. */
export type RunOp = "create" | "call" | "upgrade" | "inspect";

export interface RunRequest {
  type: "run";
  id: number;
  /**
   * "create" runs the constructor, "call" an entry; "upgrade" adds the fields a newer class
   * version initializes and the object lacks (fillNewFields), replying with their names.
   */
  op: RunOp;
  object: SysName;
  klass: ClassRef;
  entry: string;
  args: unknown[];
  /** The O space's data and heap segments: a share the first time, else the sysname. */
  data: SegmentShare | SysName;
  heap: SegmentShare | SysName;
  thread: { id: ThreadId; depth: number };
  /** The object's current volatile activation here (VolatileHeaps): its frames via "volatile.map". */
  volatileGen: number;
  /** The kernel's dropMark as the isiba starts: its faults fail once pages it relies on were lost. */
  since: number;
}

/**
 * Kernel -> worker: an object's volatile activation ended, or the object was deactivated
 * (`object`: drop its store too); drop these segments.
 */
export interface ForgetSegments {
  type: "forget";
  segments: SysName[];
  object?: SysName;
}

/** Kernel -> worker: the isiba's final commit was answered; `ok`: applied (run its frees). */
export interface Committed {
  type: "committed";
  id: number;
  ok: boolean;
}

export interface RunReply {
  type: "done";
  id: number;
  ok: boolean;
  value?: unknown;
  error?: WireError;
  /** The last commit segment's writes: committed before the reply leaves the compute server. */
  log: SegmentLog[];
  /** Set if that segment is broken (WriteLog.broken): aborted instead. */
  broken?: string;
  /**
   * Whether the isiba detached heap blocks that wait for `committed` (then `freed`). False:
   * nothing to free, the worker forgot the isiba already and wants no `committed`.
   */
  frees: boolean;
}

/** Worker -> kernel: the blocks an isiba detached were freed, as a segment of their own. */
export interface Freed {
  type: "freed";
  id: number;
  log: SegmentLog[];
}

/** Sent once when a worker starts: the fault channel's port and doorbell. */
export interface WorkerInit {
  faultPort: import("node:worker_threads").MessagePort;
  doorbell: SharedArrayBuffer;
  serverId: string;
  /** The worker's WriterLedger (read by the kernel if the worker dies). */
  ledger: SharedArrayBuffer;
  /**
   * One BigInt64: the id of the last isiba the worker began (its run requests arrive in id
   * order), written before any of its code runs: one above it never started (read by the
   * kernel if the worker dies: it cannot have caused that, and has done nothing).
   */
  started: SharedArrayBuffer;
}

// ---- syscalls ---------------------------------------------------------------------

/** Lock kinds object code may ask for: the monitor is taken only by the kernel (exclusive entries). */
export type UserLockKind = Exclude<LockKind, "monitor">;

/** Every syscall: its arguments (from object code) and its result (from the kernel). */
export interface Syscalls {
  /** Waits (FIFO at the object's home) until the lock / a permit is granted. */
  "lock.acquire": { args: { key: string; lock: UserLockKind; permits?: number }; result: { waitedMs: number } };
  /**
   * `released` false: a semaphore release by a thread holding no permit (a signal). A release
   * is a commit point: `log` (added by the worker) is the segment so far, committed first;
   * `since` is then the next segment's start mark (its faults are fenced by it).
   */
  "lock.release": { args: { key: string; lock: UserLockKind; log?: SegmentLog[]; broken?: string }; result: { released: boolean; since?: number } };
  /** The sysname an object name is bound to (name server lookup), or UnknownNameError. */
  "object.bind": { args: { name: string }; result: { sysname: SysName } };
  /**
   * A nested invocation on the caller's thread (same id, depth + 1), at compute server `at`
   * or, by default, here. Arguments and value travel in wire form (references as `{ $ref }`).
   */
  "object.invoke": { args: { target: SysName; entry: string; args: unknown[]; at?: string }; result: { value: unknown; server: string } };
  /** Text for the workstation that started the thread (wherever the thread is now). */
  "thread.print": { args: { text: string }; result: { delivered: boolean } };
  /**
   * Starts the invocation as a NEW thread (its own id, this thread its parent; its output goes
   * to this thread's workstation), at compute server `at` or placed as any; answers at once.
   */
  "thread.spawn": { args: { target: SysName; entry: string; args: unknown[]; at?: string }; result: { id: string } };
  /** Waits for a thread spawned by this compute server to end: its value (wire form), or its error. */
  "thread.join": { args: { id: string }; result: { value: unknown } };
  /**
   * The frames of the object's volatile activation `gen` (a share the first time this worker
   * maps them, else the sysname). Served by the IsibaPool itself, not the kernel's handler.
   */
  "volatile.map": { args: { gen: number }; result: { data: SegmentShare | SysName; heap: SegmentShare | SysName } };
}

export type SyscallOp = keyof Syscalls;
export type SyscallArgs<K extends SyscallOp> = Syscalls[K]["args"];
export type SyscallResult<K extends SyscallOp> = Syscalls[K]["result"];

/** One syscall as a discriminated union on `op` (so a switch narrows `args`). */
export type SyscallCall = { [K in SyscallOp]: { op: K; args: SyscallArgs<K> } }[SyscallOp];

/** Worker -> kernel. The object and thread are the kernel's record of `isiba`, not sent. */
export type SyscallRequest = SyscallCall & {
  type: "sys";
  /** The RunRequest id of the isiba that asks. */
  isiba: number;
  /** Unique per worker: matches the reply. */
  call: number;
};

/** Kernel -> worker. */
export interface SyscallReply {
  type: "sysReply";
  call: number;
  ok: boolean;
  value?: unknown;
  error?: WireError;
}

/** Kernel -> worker: how many bytes of ArrayBuffers does your isolate hold? (WorkerWatch) */
export interface MemoryProbe {
  type: "memory";
  probe: number;
}

/** Worker -> kernel: the answer to MemoryProbe `probe`. */
export interface MemoryAnswer {
  type: "memory";
  probe: number;
  arrayBuffers: number;
}

export type KernelMessage = RunRequest | SyscallReply | ForgetSegments | Committed | MemoryProbe;
export type WorkerMessage = RunReply | SyscallRequest | Freed | MemoryAnswer;
