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

for (const cls of [UnknownEntryError, ArgumentError, ClassLoadError, NotTransferableError, PageFaultError]) registerError(cls);
