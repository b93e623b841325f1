/**
 * Errors of the compute server role.
 */
import { CloudsError, registerError } from "../../ra-kernel/clouds-error.js";

/** Thrown when an invocation's deadline passed before it could run. */
export class DeadlineExceededError extends CloudsError {
  declare readonly entry: string;
  static override fieldNames = ["entry"];
}

/** Thrown when an invocation names an object no data server knows. */
export class UnknownObjectError extends CloudsError {
  declare readonly sysname: string;
  static override fieldNames = ["sysname"];
}

registerError(DeadlineExceededError);
registerError(UnknownObjectError);

/** Thrown when a nested invocation would go deeper than MAX_INVOCATION_DEPTH on its thread. */
export class InvocationDepthError extends CloudsError {
  declare readonly thread: string;
  declare readonly depth: number;
  static override fieldNames = ["thread", "depth"];
}

/** Thrown when `this.bind(name)` names nothing, or something that is not an object. */
export class UnknownNameError extends CloudsError {
  declare readonly path: string;
  static override fieldNames = ["path"];
}

registerError(InvocationDepthError);
registerError(UnknownNameError);
