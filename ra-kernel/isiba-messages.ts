/**
 * Messages between the kernel thread and isiba workers (structured-cloned over the worker's
 * parentPort; page faults use the separate FaultChannel).
 *
 * The kernel sends a class's code and a segment's SharedArrayBuffers to a worker only the
 * first time that worker needs them; afterwards it names them by key / sysname.
 */
import type { WireError } from "./clouds-error.js";
import type { PageNo, SysName, ThreadId } from "./ids.js";
import type { SegmentShare } from "./segment-frames.js";

export interface ClassRef {
  /** `Name@version`: code segments are immutable per version. */
  key: string;
  name: string;
  /** The bundled code, when this worker has not loaded `key` yet. */
  code?: string;
}

export interface RunRequest {
  type: "run";
  id: number;
  op: "create" | "call";
  object: SysName;
  klass: ClassRef;
  entry: string;
  args: unknown[];
  /** The O space's data and heap segments: a share the first time, else the sysname. */
  data: SegmentShare | SysName;
  heap: SegmentShare | SysName;
  thread: { id: ThreadId; depth: number };
}

export interface DirtyPages {
  segment: SysName;
  pages: PageNo[];
}

export interface RunReply {
  type: "done";
  id: number;
  ok: boolean;
  value?: unknown;
  error?: WireError;
  /** Pages the invocation wrote: written back before the reply leaves the compute server. */
  dirty: DirtyPages[];
}

/** Sent once when a worker starts: the fault channel's port and doorbell. */
export interface WorkerInit {
  faultPort: import("node:worker_threads").MessagePort;
  doorbell: SharedArrayBuffer;
  serverId: string;
}
