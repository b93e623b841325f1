/**
 * Errors of the Ra kernel: invocation and class-loading failures. All cross processes.
 */
import { CloudsError, registerError } from "./clouds-error.js";

/** Thrown when an invocation names an entry the object's class does not have. */
export class UnknownEntryError extends CloudsError {
  declare readonly className: string;
  declare readonly entry: string;
  static override fieldNames = ["className", "entry"];
}

/** Thrown when an invocation's arguments do not fit the entry (count or type). */
export class ArgumentError extends CloudsError {
  declare readonly className: string;
  declare readonly entry: string;
  static override fieldNames = ["className", "entry"];
}

/** Thrown when a class's code segment cannot be evaluated or lacks the class. */
export class ClassLoadError extends CloudsError {
  declare readonly className: string;
  static override fieldNames = ["className"];
}

/** Thrown when a value cannot leave the object (a result or argument that is not plain data). */
export class NotTransferableError extends CloudsError {
  declare readonly what: string;
  static override fieldNames = ["what"];
}

/** Thrown in an isiba when the kernel could not bring a page in (its home is unreachable...). */
export class PageFaultError extends CloudsError {
  declare readonly segment: string;
  declare readonly page: number;
  static override fieldNames = ["segment", "page"];
}

/**
 * Thrown when an invocation's writes since its last commit point were NOT applied: pages it
 * relied on were taken back from its compute server (the connection to their home was lost,
 * its lease ran out or was revoked, a crash elsewhere reverted them), so its segment was
 * aborted — nothing of it is durable, and a retry is safe. `server` is the home.
 */
export class PagesLostError extends CloudsError {
  declare readonly server: string;
  declare readonly pages: number;
  static override fieldNames = ["server", "pages"];
}

/**
 * The thread was killed (`kill`, Ctrl-C in the shell): every frame of it, on every compute
 * server, stopped where it was; its uncommitted writes are discarded as a crash's would be
 * (DESIGN §7a), its locks given back. `thread` names it, `server` where this frame died.
 */
export class ThreadKilledError extends CloudsError {
  declare readonly thread: string;
  declare readonly server: string;
  static override fieldNames = ["thread", "server"];
}

/**
 * Thrown when the isiba worker running an invocation died under it (it ran out of its heap,
 * `--worker-heap-mb`, or crashed): the invocation's writes since its last commit point are
 * NOT applied (a retry is safe unless the entry itself exhausts the heap again); the compute
 * server goes on with a new worker.
 */
export class IsibaWorkerDiedError extends CloudsError {
  declare readonly reason: string;
  static override fieldNames = ["reason"];
}

/**
 * The isiba worker running the invocation went past its heap limit (`--max-invocation-memory`,
 * alias `--worker-heap-mb`): the invocation — or another running in the same worker — allocated
 * too much. Its writes since its last commit point are NOT applied; a new worker takes over.
 */
export class ResourceLimitError extends CloudsError {
  declare readonly limitMb: number;
  static override fieldNames = ["limitMb"];
}

/**
 * Thrown when a commit got no answer from a home (the connection broke while it was under
 * way): the writes may or may not be applied, so a retry is NOT known to be safe.
 */
export class CommitOutcomeUnknownError extends CloudsError {
  declare readonly server: string;
  static override fieldNames = ["server"];
}

/**
 * Thrown when a commit names an epoch of this home that is over: the home restarted
 * since the writer got its pages, so those pages (and their uncommitted writes) are gone.
 */
export class StaleEpochError extends CloudsError {
  declare readonly server: string;
  declare readonly epoch: number;
  declare readonly current: number;
  static override fieldNames = ["server", "epoch", "current"];
}

/**
 * Thrown when a page cannot be brought into a compute server's page cache: every frame up to
 * the cache's reservation holds a page that cannot be evicted (writes not committed yet).
 */
export class PageCacheFullError extends CloudsError {
  declare readonly pages: number;
  static override fieldNames = ["pages"];
}

/**
 * An atomic thread aborted: nothing it wrote, in any object, was applied. `reason` says why
 * (a conflict it lost after its retries, a lost page or server, a limit of this version);
 * `atomic` names it, `retries` how often it was run again before giving up.
 */
export class AtomicAbortedError extends CloudsError {
  declare readonly atomic: string;
  declare readonly reason: string;
  declare readonly retries: number;
  static override fieldNames = ["atomic", "reason", "retries"];
}

for (const cls of [ThreadKilledError, ResourceLimitError, AtomicAbortedError, PageCacheFullError, StaleEpochError, UnknownEntryError, ArgumentError, ClassLoadError, NotTransferableError, PageFaultError, PagesLostError, CommitOutcomeUnknownError, IsibaWorkerDiedError]) registerError(cls);
