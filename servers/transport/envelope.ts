/**
 * Envelope: what both transports check and stamp at the boundary, before any handler runs.
 *
 * A request envelope is `{ kind, clock, body }`; a reply is `{ ok, clock, body | error }`.
 * The transport checks only the envelope (kind a short string, clock a sane number); the
 * body belongs to the protocol module that handles the kind (see schema.ts). The handshake
 * that opens a connection carries `{ token, localId }`, checked here too.
 *
 * Rules:
 * - Every function here is total: any input (null, numbers, huge strings, cycles) gives an
 *   answer, never a throw, so a hostile peer cannot crash the process.
 * - The clock is ticked when an envelope is stamped for sending and observed (by the peer)
 *   when one is received; stamping happens only here.
 * - Nothing here copies or re-encodes a body.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { CloudsError, isWireError, toWireError } from "../../ra-kernel/clouds-error.js";
import type { LamportClock } from "../../ra-kernel/lamport-clock.js";
import { AuthError, BadRequestError } from "./errors.js";
import type { ReplyEnvelope, RequestEnvelope } from "./transport.js";

/** Longest message kind accepted ("name.lookup", "dsm.fault", ...). */
export const MAX_KIND_LENGTH = 64;
/** Longest id a connecting side may declare. */
export const MAX_LOCAL_ID_LENGTH = 128;
/** A request with no `timeoutMs` gives up after this long. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** Opening a connection gives up after this long. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
/** Message of the AuthError a refused connection rejects with. */
export const AUTH_REFUSED = "the cluster token was missing or wrong";

/** Returns the name of the first bad envelope field ("envelope", "kind", "clock"), or undefined. */
export function requestProblem(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "envelope";
  const env = value as Record<string, unknown>;
  const kind = env.kind;
  if (typeof kind !== "string" || kind.length === 0 || kind.length > MAX_KIND_LENGTH) return "kind";
  if (!isClock(env.clock)) return "clock";
  return undefined;
}

/** Returns the name of the first bad reply field, or undefined. */
export function replyProblem(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "envelope";
  const env = value as Record<string, unknown>;
  if (typeof env.ok !== "boolean") return "ok";
  if (!isClock(env.clock)) return "clock";
  if (!env.ok && !isWireError(env.error)) return "error";
  return undefined;
}

/**
 * A Lamport stamp we accept: a finite number in [0, MAX_SAFE_INTEGER]. (Stricter than
 * "finite": a stamp of 1e308 would otherwise freeze every clock it reaches.)
 */
export function isClock(value: unknown): value is number {
  return typeof value === "number" && value >= 0 && value <= Number.MAX_SAFE_INTEGER;
}

/** The BadRequestError a malformed request envelope is answered with. */
export function malformedRequest(value: unknown, field: string): BadRequestError {
  const kind = typeof value === "object" && value !== null && typeof (value as RequestEnvelope).kind === "string"
    ? (value as RequestEnvelope).kind.slice(0, MAX_KIND_LENGTH)
    : "";
  return new BadRequestError(`malformed request envelope: field '${field}' is missing or invalid`, { kind, field });
}

export function stampRequest(clock: LamportClock, kind: string, body: unknown): RequestEnvelope {
  return { kind, clock: clock.tick(), body };
}

export function okReply(clock: LamportClock, body: unknown): ReplyEnvelope {
  return { ok: true, clock: clock.tick(), body };
}

/** Whatever was thrown, as an error reply (toWireError describes even a value that cannot be read). */
export function errorReply(clock: LamportClock, err: unknown, localId: string): ReplyEnvelope {
  return { ok: false, clock: clock.tick(), error: toWireError(err, localId) };
}

/** The error sent back when a handler's reply could not be serialized. */
export function unsendableReply(kind: string, err: unknown): CloudsError {
  return new CloudsError(`reply to '${kind}' could not be sent: ${describeThrown(err)}`);
}

/** A short description of any thrown value; never throws. */
export function describeThrown(err: unknown): string {
  if (err instanceof Error) return err.message;
  try {
    return String(err);
  } catch {
    return typeof err;
  }
}

/** Timing-safe token check: digests first, so lengths leak nothing either. */
export function tokenMatches(expected: string, given: unknown): boolean {
  if (typeof given !== "string" || given.length === 0 || expected.length === 0) return false;
  return timingSafeEqual(digest(expected), digest(given));
}

function digest(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}

/** Checks a connection handshake `{ token, localId }`; returns the error to refuse it with. */
export function handshakeProblem(expectedToken: string, auth: unknown): CloudsError | undefined {
  const a = (typeof auth === "object" && auth !== null ? auth : {}) as Record<string, unknown>;
  if (!tokenMatches(expectedToken, a.token)) return new AuthError(`connection refused: ${AUTH_REFUSED}`);
  const id = a.localId;
  if (typeof id !== "string" || id.length === 0 || id.length > MAX_LOCAL_ID_LENGTH) {
    return new BadRequestError("connection refused: handshake field 'localId' is missing or invalid", {
      kind: "handshake",
      field: "localId",
    });
  }
  return undefined;
}
