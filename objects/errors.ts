/**
 * Errors of the objects runtime and the class compiler.
 */
import { CloudsError, registerError } from "../ra-kernel/clouds-error.js";

/** Thrown when a class file cannot be bundled or holds no persistent class. */
export class CompileError extends CloudsError {
  declare readonly file: string;
  static override fieldNames = ["file"];
}

registerError(CompileError);

/**
 * Thrown when a runtime method that needs a running invocation (`lock`, `withLock`,
 * `semaphore`) is called on something that is not the `this` of one.
 */
export class OutsideInvocationError extends CloudsError {
  declare readonly method: string;
  static override fieldNames = ["method"];
}

registerError(OutsideInvocationError);

/**
 * Thrown when a change made through a live view of a persistent value (a `Uint8Array` or
 * `Date` read from a field) cannot be written through to object memory: a byte past the end
 * of a fixed-length array, a property that is not an element, the `buffer` of a view. `path`
 * names the field (and the element). The change is refused, never silently dropped.
 */
export class WriteThroughError extends CloudsError {
  declare readonly path: string;
  static override fieldNames = ["path"];
}

registerError(WriteThroughError);
