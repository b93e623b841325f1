/**
 * CallOutcomes: what a failed invocation says about its update — the harness's reading of
 * the error classes, in one place.
 *
 * - "lost": the error says the call's writes are gone (PagesLostError: "those writes are
 *   lost, and the caller must know"; StaleEpochError: the pages "and their uncommitted
 *   writes are gone"), or the call never left the workstation (UnknownServerError; a
 *   ServerUnreachableError thrown here, not by a server, because the connection was
 *   refused). Its update must not be found.
 * - "corrupt": the error is one only a torn object or a broken heap raises in these
 *   race-free entries (a stale view of a container the entry still holds, "heap
 *   corruption", an unknown value tag, an own log that is not there, a TypeError or
 *   RangeError out of object code that reads only whole values). A violation by itself;
 *   its update may or may not be there (an entry's writes before it threw stay).
 * - "unknown": anything else. The call may have run and committed before the error (its
 *   compute server died after the commit, the reply was lost, the client timed out while it
 *   ran), so its update may or may not be found; the harness counts which, per class.
 * No error class today says "outcome unknown" in so many words: transport errors
 * (ServerUnreachableError, RequestTimeoutError) and the kernel's relays of a dead server
 * are read as unknown, which is the safe reading for a harness that must not cry wolf.
 */
export type Outcome = "lost" | "corrupt" | "unknown";

const LOST = new Set(["PagesLostError", "StaleEpochError", "UnknownServerError"]);

const CORRUPT_CLASSES = new Set(["StaleViewError", "TypeError", "RangeError", "ReferenceError"]);
const CORRUPT_MESSAGES = [/heap corruption/i, /corrupt object memory/i, /no own log for client/, /persistent heap is full/];

/** `server`: where the error was thrown (undefined: on this workstation). */
export function outcomeOf(name: string, message: string, server?: string): Outcome {
  if (LOST.has(name)) return "lost";
  if (name === "ServerUnreachableError" && server === undefined && /ECONNREFUSED/.test(message)) return "lost";
  if (CORRUPT_CLASSES.has(name) || CORRUPT_MESSAGES.some((re) => re.test(message))) return "corrupt";
  return "unknown";
}
