/**
 * Errors of the name server. Each crosses processes (CloudsError): a client that asked the
 * name server gets the same named subclass back and may test it with `instanceof`.
 *
 * Expected outcomes are values, not errors: a lookup of a missing name returns null and an
 * unbind of a missing name returns `removed: false`. These errors mean the request itself
 * cannot be carried out; none of them leaves stored bindings changed.
 *
 * Build them with the fields they declare, e.g.
 * `new NameExistsError(`name exists: ${path}`, { path })`.
 */
import { CloudsError, registerError } from "../../ra-kernel/clouds-error.js";
import { ServerUnreachableError } from "../transport/errors.js";

/** Thrown when a bind or rename would overwrite an existing name and `replace` is not set. */
export class NameExistsError extends CloudsError {
  declare readonly path: string;
  static override fieldNames = ["path"];
}

/** Thrown when an operation needs an existing name (rename's source, list) and there is none. */
export class NameNotFoundError extends CloudsError {
  declare readonly path: string;
  static override fieldNames = ["path"];
}

/** Thrown when a path is not well formed: `reason` says why (empty component, `..`, too long...). */
export class BadPathError extends CloudsError {
  declare readonly path: string;
  declare readonly reason: string;
  static override fieldNames = ["path", "reason"];
}

/** Thrown when a path goes through a binding that is not a directory (e.g. `/RectA/x`). */
export class NotADirectoryError extends CloudsError {
  declare readonly path: string;
  static override fieldNames = ["path"];
}

/** Thrown when unbinding or overwriting a directory that still has children. */
export class DirectoryNotEmptyError extends CloudsError {
  declare readonly path: string;
  static override fieldNames = ["path"];
}

/**
 * Thrown when the name server does not answer within the caller's short timeout (stopped,
 * crashed, cut off). A ServerUnreachableError, so code that handles an unreachable server
 * handles it too. What needs only known servers and bound objects goes on without it
 * (ServerDirectory serves its last known registry); new name lookups fail with this.
 */
export class NameServerUnreachableError extends ServerUnreachableError {}

/**
 * Thrown when a change would remove, rename or replace a name the cluster keeps under /sys
 * (servers register there; classes are bound there by load): without it servers and classes
 * cannot be found. `force` unbinds anyway (a server whose entry is removed registers again).
 */
export class ProtectedNameError extends CloudsError {
  declare readonly path: string;
  static override fieldNames = ["path"];
}

for (const cls of [NameExistsError, NameNotFoundError, BadPathError, NotADirectoryError, DirectoryNotEmptyError, NameServerUnreachableError, ProtectedNameError]) {
  registerError(cls);
}
