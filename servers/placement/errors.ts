/**
 * Errors of placement.
 */

/**
 * Thrown by a Placer attempt when its call never left this process: the connection was
 * refused, or found closed before the request was sent. The Placer then marks the server
 * dead and places the call elsewhere; it never crosses processes (the caller sees either
 * the result from the next server or the ServerUnreachableError in `cause`).
 */
export class NotDeliveredError extends Error {
  override readonly name = "NotDeliveredError";

  constructor(readonly server: string, readonly address: string, override readonly cause: Error) {
    super(`not delivered to ${server} at ${address}: ${cause.message}`);
  }
}
