/**
 * The messages between the peer benchmark and its driver processes (http-driver.ts,
 * clouds-driver.ts), over the IPC channel of `fork`.
 *
 *   driver -> bench   DriverReady once it is connected to its system (or could not be)
 *   bench  -> driver  DriverRequest {seq, workload}, one at a time
 *   driver -> bench   DriverReply {seq, result} or {seq, error}
 *
 * Workloads are the same for both systems: that is the point of the benchmark. Latencies
 * are in microseconds (LatencySummary), as everywhere in test/bench.
 */
import type { LatencySummary } from "../latency.js";

export type Workload =
  /** Make the counters exist at 0 (not measured). */
  | { kind: "prepare"; ids: string[] }
  /** `warmUp` untimed, then `count` timed increments of one counter, one at a time. */
  | { kind: "sequential-increment"; id: string; warmUp: number; count: number }
  /** `warmUp` untimed, then `count` timed reads of one counter, one at a time. */
  | { kind: "sequential-read"; id: string; warmUp: number; count: number }
  /** `warmUp` untimed, then `count` timed round trips that do no work. */
  | { kind: "null-round-trip"; warmUp: number; count: number }
  /** `loops` concurrent loops for `ms`; loop i increments ids[i % ids.length]. */
  | { kind: "increment-loops"; ids: string[]; loops: number; ms: number };

export type WorkloadResult =
  | { kind: "done" }
  | { kind: "latency"; summary: LatencySummary }
  /** `increments` acknowledged in `seconds` (until the last loop's last call returned). */
  | { kind: "throughput"; increments: number; seconds: number; perSecond: number; latency: LatencySummary };

export type DriverReady = { ready: true } | { error: string };

export interface DriverRequest {
  seq: number;
  workload: Workload;
}

export type DriverReply = { seq: number; result: WorkloadResult } | { seq: number; error: string };
