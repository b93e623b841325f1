/**
 * CounterTarget: a system under test as the workloads see it — named counters to increment
 * and read. A driver process makes one (HttpCounterTarget for the peer baseline,
 * CloudsCounterTarget for Clouds) and WorkloadRunner runs the same workloads on either.
 *
 * Every method answers only once the system acknowledged the operation: an increment has
 * returned its new count, which the system promises is durable.
 */
export interface CounterTarget {
  /** Makes the counters exist at 0 before the first workload (creation is not measured). */
  prepare(ids: readonly string[]): Promise<void>;
  /** Adds one; resolves with the new count. */
  increment(id: string): Promise<number>;
  /** The current count. */
  read(id: string): Promise<number>;
  /** A round trip to the server that does no work, where the system has one (for context). */
  nullRoundTrip?(): Promise<void>;
  close(): Promise<void>;
}
