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
