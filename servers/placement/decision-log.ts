/**
 * DecisionLog: the placement decisions this process took, kept per thread for `trace`, and
 * counted per reason for /metrics.
 *
 *   log.record({ thread, depth, object, entry, server, reason, detail, by, at, avoided })
 *   log.of(thread)     that thread's decisions here, oldest first
 *   log.counts         { hint: 3, "stay-warm": 10, ... }, failovers
 *
 * Bounded: at most `decisionsPerThread` per thread (the oldest are dropped) and
 * `decisionThreads` threads (the least recently recorded thread goes first). A decision that
 * failed over (its first choice could not be reached) lists the servers it avoided.
 */
import type { ServerId, SysName } from "../../ra-kernel/ids.js";
import { PLACEMENT_REASONS, type PlacementReason } from "./placement-policy.js";

export interface PlacementRecord {
  thread: string;
  depth: number;
  /** The target; absent for a creation. */
  object?: SysName;
  entry: string;
  server: ServerId;
  reason: PlacementReason;
  detail?: string;
  /** The process that decided (a compute server or a workstation). */
  by: string;
  /** Wall clock (ms since the epoch). */
  at: number;
  /** Servers tried first and found unreachable (the invocation never started there). */
  avoided?: ServerId[];
}

export interface DecisionLogOptions {
  /** @default 32 */
  decisionsPerThread?: number;
  /** @default 1000 */
  decisionThreads?: number;
}

export class DecisionLog {
  /** thread -> its decisions; Map order is recency (re-inserted at each record). */
  private readonly threads = new Map<string, PlacementRecord[]>();
  readonly counts: Record<PlacementReason, number> = Object.fromEntries(PLACEMENT_REASONS.map((r) => [r, 0])) as Record<PlacementReason, number>;
  /** Placements that went elsewhere after their first choice was unreachable. */
  failovers = 0;
  private readonly perThread: number;
  private readonly maxThreads: number;

  constructor(options: DecisionLogOptions = {}) {
    this.perThread = options.decisionsPerThread ?? 32;
    this.maxThreads = options.decisionThreads ?? 1000;
  }

  record(r: PlacementRecord): void {
    this.counts[r.reason]++;
    if (r.avoided?.length) this.failovers++;
    const list = this.threads.get(r.thread) ?? [];
    this.threads.delete(r.thread);
    list.push(r);
    if (list.length > this.perThread) list.shift();
    this.threads.set(r.thread, list);
    if (this.threads.size > this.maxThreads) this.threads.delete(this.threads.keys().next().value!);
  }

  /** A thread's decisions taken here, oldest first (empty if none or forgotten). */
  of(thread: string): PlacementRecord[] {
    return [...(this.threads.get(thread) ?? [])];
  }

  /** The most recent decisions, across threads, newest last (at most `limit`). */
  recent(limit: number): PlacementRecord[] {
    const all = [...this.threads.values()].flat().sort((a, b) => a.at - b.at);
    return all.slice(Math.max(0, all.length - limit));
  }
}
