/**
 * Options of a NameServer. All optional; the process host passes its own clock so pushes
 * carry stamps from the same Lamport clock as every other message of the process.
 */
import type { LamportClock } from "../../ra-kernel/lamport-clock.js";

export interface NameServerOptions {
  /**
   * Stamps each `name.changed` push (`clock` field): ticked once per change.
   * @default a new LamportClock private to the server
   */
  clock?: LamportClock;
  /**
   * Most prefixes one peer may watch; a further `name.watch` is a BadRequestError.
   * @default 1000
   */
  maxWatchesPerPeer?: number;
  /**
   * How long a push may wait for its (ignored) reply before the transport drops it.
   * @default 10000
   */
  pushTimeoutMs?: number;
}
