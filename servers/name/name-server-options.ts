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
  /**
   * The name server's own server id: the registry shows it up whenever it answers.
   * @default undefined (no self binding)
   */
  selfId?: string;
  /**
   * How long a registration stays up without a renewal. Servers renew every 500 ms
   * (Registration), so 1500 tolerates two lost or late renewals of a busy server.
   * @default 1500
   */
  leaseMs?: number;
  /**
   * After the name server starts, how long a stored server binding without a lease counts as
   * up: its server is reconnecting and registering again.
   * @default 3 * leaseMs
   */
  restartGraceMs?: number;
  /**
   * How often leases that ran out are looked for, to push the change to watchers (the view
   * itself is computed when asked and never lags).
   * @default 250
   */
  sweepMs?: number;
  /**
   * The clock leases are measured with (tests drive it).
   * @default Date.now
   */
  now?: () => number;
}
