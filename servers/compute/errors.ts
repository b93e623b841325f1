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
