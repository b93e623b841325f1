/**
 * Options of placement (DESIGN §8): how old load information may be, and the weights and
 * threshold of the load score that policies compare servers by.
 *
 * The load score of a server (see loadScore):
 *   runWeight   * running / workers            isibas in progress per worker, as it reported
 * + lagWeight   * lagMs / lagScaleMs           its event loop's lag
 * + cpuWeight   * cpu                          cores it used
 * + inflightWeight * inflight / workers        calls this caller has in flight there now
 * A server is *overloaded* when the part it reported itself (everything but `inflight`)
 * exceeds that of the lightest live server by more than `imbalanceMargin`, or exceeds
 * `overloadThreshold` while some server does not: then its warm working set no longer
 * attracts invocations (when every server is over the threshold, moving warm objects
 * between them only adds page and monitor trips).
 * Invocations waiting for a monitor do not count: a hot object with an exclusive entry
 * keeps one isiba busy however many callers queue for it, and must stay where it is.
 */
export interface PlacementOptions {
  /** How often a compute server pushes its load report (ms). @default 300 */
  reportIntervalMs?: number;
  /** A report older than this is ignored: its load and working sets are unknown again (ms). @default 2000 */
  reportTtlMs?: number;
  /** A server not heard of (report, reply, registry, gossip) for this long leaves the table (ms). @default 30000 */
  memberTtlMs?: number;
  /** A server marked dead is tried again after this long, unless a report brought it back sooner (ms). @default 5000 */
  deadTtlMs?: number;
  /** How often the name server's registry is read to learn compute servers (ms). @default 3000 */
  registryRefreshMs?: number;
  /** Score above which a server's warm working set stops attracting invocations. @default 2 */
  overloadThreshold?: number;
  /**
   * Reported score above the lightest live server's at which a warm server counts as
   * overloaded (high enough that a hot object's one running isiba and some lag never move it).
   * @default 1.5
   */
  imbalanceMargin?: number;
  /** @default 1 */
  runWeight?: number;
  /** @default 1 */
  lagWeight?: number;
  /** Lag that adds one `lagWeight` to the score (ms). @default 50 */
  lagScaleMs?: number;
  /** CPU is ambiguous (a starved server uses little): off unless asked for. @default 0 */
  cpuWeight?: number;
  /** @default 1 */
  inflightWeight?: number;
  /** Decisions kept per thread in the decision log. @default 32 */
  decisionsPerThread?: number;
  /** Threads kept in the decision log (the oldest go first). @default 1000 */
  decisionThreads?: number;
}

export type ResolvedPlacementOptions = Required<PlacementOptions>;

export const PLACEMENT_DEFAULTS: ResolvedPlacementOptions = {
  reportIntervalMs: 300,
  reportTtlMs: 2000,
  memberTtlMs: 30_000,
  deadTtlMs: 5000,
  registryRefreshMs: 3000,
  overloadThreshold: 2,
  imbalanceMargin: 1.5,
  runWeight: 1,
  lagWeight: 1,
  lagScaleMs: 50,
  cpuWeight: 0,
  inflightWeight: 1,
  decisionsPerThread: 32,
  decisionThreads: 1000,
};

export function resolvePlacementOptions(options: PlacementOptions = {}): ResolvedPlacementOptions {
  const out = { ...PLACEMENT_DEFAULTS };
  for (const [k, v] of Object.entries(options)) if (v !== undefined) (out as Record<string, number>)[k] = v as number;
  return out;
}
