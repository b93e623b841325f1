/**
 * ThreadTrace: what threads did on this server, in a bounded ring (the oldest events go
 * first, and are counted), for `trace THREAD` (compute.trace, data.trace). On a compute
 * server: invocations arriving and returning, frames entered and left, nested invocations,
 * lock waits, page faults, commits, prints, spawns, errors, and copies taken away for another
 * thread's fault. On a data server: the faults it served for the thread and the recalls and
 * invalidations they cost, and its lock waits.
 *
 * Each event carries the process's Lamport clock (ticked for it): the transport stamps every
 * message with that clock and observes it on receipt, so events of one thread on several
 * servers, merged in (clock, server) order, come in an order consistent with causality — a
 * nested invocation sent before the arrival it caused, its return after (Cluster.trace).
 *
 * Rules: `record` is cheap (no formatting of values it is not given); details are clipped.
 */
import type { LamportClock } from "../../ra-kernel/lamport-clock.js";

/** Events kept per compute server, at most. */
export const TRACE_CAPACITY = 50_000;
/** Longest detail kept. */
const MAX_DETAIL = 200;

export interface TraceEvent {
  /** The Lamport clock when it happened (merge order across servers). */
  clock: number;
  /** Wall time (ms since the Unix epoch), for people. */
  at: number;
  server: string;
  thread: string;
  kind: string;
  detail: string;
  /** How long it took, for events that end something (ms). */
  ms?: number;
}

export class ThreadTrace {
  private readonly ring: (TraceEvent | undefined)[];
  private next = 0;
  /** Events recorded so far, and dropped to make room. */
  recorded = 0;
  dropped = 0;

  constructor(
    private readonly server: string,
    private readonly clock: LamportClock,
    private readonly capacity = TRACE_CAPACITY,
  ) {
    this.ring = new Array(capacity);
  }

  record(thread: string, kind: string, detail: string, ms?: number): void {
    if (this.ring[this.next] !== undefined) this.dropped++;
    // One shape for every event (no conditional spread): this runs several times per frame.
    this.ring[this.next] = {
      clock: this.clock.tick(), at: Date.now(), server: this.server, thread, kind,
      detail: detail.length > MAX_DETAIL ? `${detail.slice(0, MAX_DETAIL)}…` : detail,
      ms: ms === undefined ? undefined : Math.round(ms * 1000) / 1000,
    };
    this.next = (this.next + 1) % this.capacity;
    this.recorded++;
  }

  /** The events of `thread` kept here, oldest first. */
  of(thread: string): TraceEvent[] {
    const out: TraceEvent[] = [];
    for (let i = 0; i < this.capacity; i++) {
      const e = this.ring[(this.next + i) % this.capacity];
      if (e?.thread !== thread) continue;
      const { ms, ...rest } = e;
      out.push(ms === undefined ? rest : { ...rest, ms });
    }
    return out;
  }
}
