/**
 * Errors of the transport layer. Each crosses processes (CloudsError) and is rebuilt by
 * name on the other side.
 */
import { CloudsError, registerError } from "../../ra-kernel/clouds-error.js";

/** Thrown when a message is malformed: names the message kind and the field. */
export class BadRequestError extends CloudsError {
  declare readonly kind: string;
  declare readonly field: string;
  static override fieldNames = ["kind", "field"];
}

/** Thrown when no handler knows a message kind. */
export class UnknownMessageError extends CloudsError {
  declare readonly kind: string;
  static override fieldNames = ["kind"];
}

/** Thrown when a request got no reply within its timeout. */
export class RequestTimeoutError extends CloudsError {
  declare readonly kind: string;
  declare readonly peer: string;
  declare readonly timeoutMs: number;
  static override fieldNames = ["kind", "peer", "timeoutMs"];
}

/** Thrown when the connection to a server closed (or could not be opened). */
export class ServerUnreachableError extends CloudsError {
  declare readonly peer: string;
  declare readonly address: string;
  static override fieldNames = ["peer", "address"];
}

/** Thrown when a connection or HTTP call has no cluster token or the wrong one. */
export class AuthError extends CloudsError {}

for (const cls of [BadRequestError, UnknownMessageError, RequestTimeoutError, ServerUnreachableError, AuthError]) {
  registerError(cls);
}
