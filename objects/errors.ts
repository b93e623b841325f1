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
