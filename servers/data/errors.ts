/**
 * Errors of the data server. Each crosses processes (CloudsError): a compute server that
 * asks for a missing segment gets the same named error back, rebuilt by name.
 *
 * Construct them with a message and their fields, as every CloudsError:
 *   new SegmentNotFoundError(`segment ${s} not found`, { sysname: s })
 * The storage layer builds them through the small helpers in segment-checks.ts.
 */
import { CloudsError, registerError } from "../../ra-kernel/clouds-error.js";
import type { ClassName, PageNo, SysName } from "../../ra-kernel/ids.js";

// ---- storage ------------------------------------------------------------------------

/** Thrown when a segment sysname is not stored by this data server. */
export class SegmentNotFoundError extends CloudsError {
  declare readonly sysname: SysName;
  static override fieldNames = ["sysname"];
}

/** Thrown when a page number is not an integer in [0, segment's maxPages). */
export class PageOutOfRangeError extends CloudsError {
  declare readonly segment: SysName;
  declare readonly page: PageNo;
  static override fieldNames = ["segment", "page"];
}

/** Thrown when page bytes written are not exactly PAGE_SIZE long. */
export class BadPageSizeError extends CloudsError {
  declare readonly segment: SysName;
  declare readonly page: PageNo;
  declare readonly size: number;
  static override fieldNames = ["segment", "page", "size"];
}

/**
 * Thrown when a stored page's blob breaks the stored layout (page-codec.ts): the store will
 * not serve bytes it cannot read for sure.
 */
export class CorruptPageError extends CloudsError {
  declare readonly segment: SysName;
  declare readonly page: PageNo;
  static override fieldNames = ["segment", "page"];
}

/** Thrown when an object sysname has no descriptor on this data server. */
export class ObjectNotFoundError extends CloudsError {
  declare readonly sysname: SysName;
  static override fieldNames = ["sysname"];
}

/**
 * Thrown when a class (or the given version of it) is not registered; `version` is null
 * when any version was asked for. The field is `className`, not `name`: `name` is the
 * error's own class name, which the wire uses to rebuild it.
 */
export class ClassNotFoundError extends CloudsError {
  declare readonly className: ClassName;
  declare readonly version: number | null;
  static override fieldNames = ["className", "version"];
}

// ---- DSM home (StaleEpochError is the kernel's: ra-kernel/errors.ts) --------------


/**
 * Thrown to a compute server's lease renewal when the home no longer accepts it: the server
 * failed to answer a recall, and the home will take its pages back once the lease runs out.
 */
export class LeaseRevokedError extends CloudsError {
  declare readonly server: string;
  declare readonly holder: string;
  static override fieldNames = ["server", "holder"];
}

for (const cls of [
  LeaseRevokedError,
  SegmentNotFoundError,
  PageOutOfRangeError,
  BadPageSizeError,
  CorruptPageError,
  ObjectNotFoundError,
  ClassNotFoundError,
]) {
  registerError(cls);
}

// ---- locks (LockTable) --------------------------------------------------------------

/**
 * Thrown when a thread releases a monitor or lock it does not hold (semaphores accept such a
 * release as a signal). Names the lock and the (computeServer, thread) that asked.
 * (Not `server`: every CloudsError's `server` is where it was thrown.)
 */
export class LockNotHeldError extends CloudsError {
  declare readonly object: SysName;
  declare readonly key: string;
  declare readonly lock: string;
  declare readonly thread: string;
  declare readonly computeServer: string;
  static override fieldNames = ["object", "key", "lock", "thread", "computeServer"];
}

/**
 * Thrown to a waiting acquire that will never be granted: its compute server was dropped
 * (connection closed, lease expired) or its thread's locks were released (`reason` says which).
 */
export class LockWaitCancelledError extends CloudsError {
  declare readonly object: SysName;
  declare readonly key: string;
  declare readonly lock: string;
  declare readonly thread: string;
  declare readonly computeServer: string;
  declare readonly reason: string;
  static override fieldNames = ["object", "key", "lock", "thread", "computeServer", "reason"];
}

registerError(LockNotHeldError);
registerError(LockWaitCancelledError);
