/**
 * Latency: timing sequential async operations and summarizing them (p50, p99, mean in µs).
 *
 *   await warmUp(2_000, () => peer.request("echo", {}));
 *   const rtt = await timeSequential(10_000, () => peer.request("echo", {}));
 *   say(formatLatency("socket.io round trip", rtt));
 *
 * One operation in flight at a time, each timed alone with the monotonic clock
 * (process.hrtime.bigint). Percentiles are nearest-rank over every sample.
 *
 * Figures that are compared with each other should come from `timeInterleaved`: it runs the
 * operations in alternating rounds, so drift (other load on the machine, CPU frequency,
 * which cores the threads land on) hits each of them alike.
 */

/** What one measured run came to (microseconds). */
export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  mean: number;
  max: number;
}

/** One operation; `i` counts from 0 (so a benchmark can vary its arguments). */
export type TimedOperation = (i: number) => Promise<unknown>;

/** Runs `op` `count` times, one after the other, untimed. */
export async function warmUp(count: number, op: TimedOperation): Promise<void> {
  for (let i = 0; i < count; i++) await op(i);
}

/** Runs `op` `count` times, one after the other, and summarizes their latencies. */
export async function timeSequential(count: number, op: TimedOperation): Promise<LatencySummary> {
  const samples = new Float64Array(count);
  await sampleInto(samples, 0, count, op);
  return summarize(samples);
}

/** `rounds` rounds; in each, every operation runs `perRound` times in turn. */
export async function timeInterleaved<K extends string>(
  ops: Record<K, TimedOperation>,
  rounds: number,
  perRound: number,
): Promise<Record<K, LatencySummary>> {
  const names = Object.keys(ops) as K[];
  const samples = new Map(names.map((k) => [k, new Float64Array(rounds * perRound)]));
  for (let r = 0; r < rounds; r++) {
    for (const k of names) await sampleInto(samples.get(k)!, r * perRound, perRound, ops[k]);
  }
  return Object.fromEntries(names.map((k) => [k, summarize(samples.get(k)!)])) as Record<K, LatencySummary>;
}

/** Times `count` runs of `op` into samples[from..]; `op` sees the sample's index. */
async function sampleInto(samples: Float64Array, from: number, count: number, op: TimedOperation): Promise<void> {
  for (let i = from; i < from + count; i++) {
    const start = process.hrtime.bigint();
    await op(i);
    samples[i] = Number(process.hrtime.bigint() - start) / 1_000;
  }
}

export function summarize(samplesUs: Float64Array): LatencySummary {
  if (samplesUs.length === 0) throw new RangeError("no samples to summarize");
  const sorted = Float64Array.from(samplesUs).sort();
  let total = 0;
  for (const s of sorted) total += s;
  return {
    count: sorted.length,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    mean: total / sorted.length,
    max: sorted[sorted.length - 1],
  };
}

/** Nearest-rank percentile of ascending samples. */
function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)];
}

/** `label   p50  98.1 µs   p99 180.2 µs   mean 105.0 µs` (label padded so columns line up). */
export function formatLatency(label: string, s: LatencySummary): string {
  return `${label.padEnd(LABEL_WIDTH)} p50 ${us(s.p50)}   p99 ${us(s.p99)}   mean ${us(s.mean)}`;
}

export const LABEL_WIDTH = 40;

function us(value: number): string {
  return `${value.toFixed(1).padStart(6)} µs`;
}
