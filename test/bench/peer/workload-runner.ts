/**
 * WorkloadRunner: runs one Workload (driver-protocol.ts) on a CounterTarget and checks the
 * answers — the same code for the peer baseline and for Clouds, inside their drivers.
 *
 *   const result = await runWorkload(target, { kind: "sequential-increment", id: "seq", warmUp: 200, count: 2000 });
 *
 * After every increment workload the counters are read back: each must have grown by
 * exactly the increments acknowledged (else LostUpdateError). Sequential increments are
 * also checked one by one (each returns the count before it plus one). The checks run
 * outside the timed sections, except that one comparison per sequential increment.
 */
import { summarize, timeSequential, warmUp, type LatencySummary, type TimedOperation } from "../latency.js";
import type { CounterTarget } from "./counter-target.js";
import type { Workload, WorkloadResult } from "./driver-protocol.js";
import { LostUpdateError } from "./errors.js";

export async function runWorkload(target: CounterTarget, w: Workload): Promise<WorkloadResult> {
  switch (w.kind) {
    case "prepare":
      await target.prepare(w.ids);
      return { kind: "done" };
    case "sequential-increment":
      return { kind: "latency", summary: await sequentialIncrements(target, w.id, w.warmUp, w.count) };
    case "sequential-read":
      return { kind: "latency", summary: await sequentialReads(target, w.id, w.warmUp, w.count) };
    case "null-round-trip":
      return { kind: "latency", summary: await nullRoundTrips(target, w.warmUp, w.count) };
    case "increment-loops":
      return incrementLoops(target, w.ids, w.loops, w.ms);
  }
}

async function sequentialIncrements(target: CounterTarget, id: string, warm: number, count: number): Promise<LatencySummary> {
  const start = await target.read(id);
  let expected = start;
  const op: TimedOperation = async () => {
    const got = await target.increment(id);
    if (got !== ++expected) throw new LostUpdateError(id, expected, got, "sequential increment");
  };
  await warmUp(warm, op);
  const summary = await timeSequential(count, op);
  await expectCount(target, id, start + warm + count, "sequential increment");
  return summary;
}

/** Reads of a counter nobody changes meanwhile: each must see the same count. */
async function sequentialReads(target: CounterTarget, id: string, warm: number, count: number): Promise<LatencySummary> {
  const expected = await target.read(id);
  const op: TimedOperation = async () => {
    const got = await target.read(id);
    if (got !== expected) throw new Error(`sequential read: counter ${id} read ${got}, then ${expected} (nothing increments it)`);
  };
  await warmUp(warm, op);
  return timeSequential(count, op);
}

async function nullRoundTrips(target: CounterTarget, warm: number, count: number): Promise<LatencySummary> {
  const roundTrip = target.nullRoundTrip?.bind(target);
  if (!roundTrip) throw new Error("this system has no null round trip");
  await warmUp(warm, roundTrip);
  return timeSequential(count, roundTrip);
}

/** `loops` loops for `ms`, loop i incrementing ids[i % ids.length]; then every counter is checked. */
async function incrementLoops(target: CounterTarget, ids: string[], loops: number, ms: number): Promise<WorkloadResult> {
  const distinct = [...new Set(ids)];
  const before = new Map(await Promise.all(distinct.map(async (id) => [id, await target.read(id)] as const)));
  const acked = new Map(distinct.map((id) => [id, 0]));
  const latencies: number[] = [];
  let failure: unknown = null; // the first failed increment stops every loop
  const started = performance.now();
  const end = started + ms;
  await Promise.all(Array.from({ length: loops }, async (_, loop) => {
    const id = ids[loop % ids.length];
    while (failure === null && performance.now() < end) {
      const t = performance.now();
      try {
        await target.increment(id);
      } catch (err) {
        failure ??= err;
        return;
      }
      latencies.push((performance.now() - t) * 1000);
      acked.set(id, acked.get(id)! + 1);
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  if (failure !== null) throw failure;
  for (const id of distinct) await expectCount(target, id, before.get(id)! + acked.get(id)!, `${loops} loops on ${distinct.length} counter(s)`);
  const increments = latencies.length;
  return { kind: "throughput", increments, seconds, perSecond: increments / seconds, latency: summarize(Float64Array.from(latencies)) };
}

async function expectCount(target: CounterTarget, id: string, expected: number, workload: string): Promise<void> {
  const actual = await target.read(id);
  if (actual !== expected) throw new LostUpdateError(id, expected, actual, workload);
}
