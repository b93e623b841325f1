/**
 * Errors of the syscall channel (object code -> kernel) and of the kernel's LockManager.
 * Each crosses processes (CloudsError): thrown in the kernel, rebuilt in the worker and
 * again in the caller of the invocation. (Kept apart from errors.ts so that the locks work
 * could land while errors.ts was being edited; they may move there.)
 */
import { CloudsError, registerError } from "./clouds-error.js";

/** Thrown when object code asks for a syscall this kernel does not offer. */
export class UnknownSyscallError extends CloudsError {
  declare readonly op: string;
  static override fieldNames = ["op"];
}

/** Thrown when a syscall's arguments are malformed (a bad lock key, a reserved lock kind...). */
export class BadSyscallError extends CloudsError {
  declare readonly op: string;
  static override fieldNames = ["op"];
}

/**
 * Thrown when a syscall arrives for an isiba that has already returned (object code that
 * kept running after its entry returned, e.g. a promise it did not await, or a Lock /
 * Semaphore handle kept in a module variable and used by a later invocation). Locks are
 * per invocation: whatever such a call would have taken could never be released.
 */
export class IsibaEndedError extends CloudsError {
  declare readonly isiba: number;
  declare readonly op: string;
  static override fieldNames = ["isiba", "op"];
}

/** Thrown when a kernel built without a lock link (unit tests) is asked for a lock. */
export class LocksUnavailableError extends CloudsError {
  declare readonly object: string;
  static override fieldNames = ["object"];
}

for (const cls of [UnknownSyscallError, BadSyscallError, IsibaEndedError, LocksUnavailableError]) registerError(cls);
