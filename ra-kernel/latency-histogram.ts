/**
 * LatencyHistogram: a fixed-bucket histogram of durations in microseconds, cheap enough to
 * record on every page fault, rendered as a Prometheus histogram by the metrics endpoint.
 */
export const LATENCY_BUCKETS_US = [50, 100, 200, 400, 800, 1_600, 3_200, 6_400, 12_800, 51_200, 204_800] as const;

export interface HistogramSnapshot {
  /** Upper bounds (µs) and cumulative counts; the last bucket (+Inf) is `count`. */
  buckets: { le: number; count: number }[];
  count: number;
  sumUs: number;
}

export class LatencyHistogram {
  private readonly counts = new Array<number>(LATENCY_BUCKETS_US.length).fill(0);
  count = 0;
  sumUs = 0;

  record(us: number): void {
    this.count++;
    this.sumUs += us;
    for (let i = 0; i < LATENCY_BUCKETS_US.length; i++) {
      if (us <= LATENCY_BUCKETS_US[i]) {
        this.counts[i]++;
        return;
      }
    }
  }

  snapshot(): HistogramSnapshot {
    let running = 0;
    const buckets = LATENCY_BUCKETS_US.map((le, i) => ({ le, count: (running += this.counts[i]) }));
    return { buckets, count: this.count, sumUs: Math.round(this.sumUs) };
  }

  /** The smallest bucket bound below which at least `q` of the samples fall (0 if empty). */
  quantileBoundUs(q: number): number {
    const want = q * this.count;
    let running = 0;
    for (let i = 0; i < LATENCY_BUCKETS_US.length; i++) if ((running += this.counts[i]) >= want && running > 0) return LATENCY_BUCKETS_US[i];
    return this.count ? Infinity : 0;
  }
}
