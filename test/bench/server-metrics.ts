/**
 * ServerMetrics: one server's GET /metrics, read by a benchmark (with the cluster token).
 *
 *   const m = await ServerMetrics.fetch(server.address, token);
 *   m.value("process_resident_bytes");                   // 123456789
 *   m.histogram("dsm_fault_latency_us");                 // [{le: 50, count: 3}, ...]
 *   histogramBound(delta(after, before), 0.5);           // 200 (µs: half the faults took <= 200)
 *
 * Names are given without the `clouds_` prefix and without the server/role labels, as the
 * roles name their figures (servers/host/metrics.ts).
 */

export interface Bucket {
  /** Upper bound (µs); Infinity for +Inf. */
  le: number;
  /** Cumulative count. */
  count: number;
}

const LINE_RE = /^clouds_([A-Za-z0-9_]+)(?:\{([^}]*)\})?\s+(\S+)$/;
const LE_RE = /(?:^|,)le="([^"]+)"/;

export class ServerMetrics {
  private constructor(private readonly lines: { name: string; labels: string; value: number }[]) {}

  static async fetch(address: string, token: string): Promise<ServerMetrics> {
    const res = await fetch(`http://${address}/metrics`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5000) });
    if (!res.ok) throw new Error(`GET http://${address}/metrics: ${res.status} ${await res.text()}`);
    const lines = [];
    for (const line of (await res.text()).split("\n")) {
      const m = LINE_RE.exec(line);
      if (m) lines.push({ name: m[1], labels: m[2] ?? "", value: Number(m[3]) });
    }
    return new ServerMetrics(lines);
  }

  /** The value of an unlabelled figure (besides server/role), or undefined. */
  value(name: string): number | undefined {
    return this.lines.find((l) => l.name === name && !LE_RE.test(l.labels) && !l.labels.includes("object="))?.value;
  }

  /** A histogram's cumulative buckets, ascending, +Inf last (empty if the server has none). */
  histogram(name: string): Bucket[] {
    const out: Bucket[] = [];
    for (const l of this.lines) {
      if (l.name !== `${name}_bucket`) continue;
      const le = LE_RE.exec(l.labels)?.[1];
      if (le !== undefined) out.push({ le: le === "+Inf" ? Infinity : Number(le), count: l.value });
    }
    return out.sort((a, b) => a.le - b.le);
  }
}

/** What was recorded between two readings of one histogram. */
export function bucketDelta(after: Bucket[], before: Bucket[]): Bucket[] {
  return after.map((b) => ({ le: b.le, count: b.count - (before.find((x) => x.le === b.le)?.count ?? 0) }));
}

/** The smallest bucket bound at or below which at least `q` of the samples fall (NaN if none). */
export function histogramBound(buckets: Bucket[], q: number): number {
  const total = buckets[buckets.length - 1]?.count ?? 0;
  if (total === 0) return NaN;
  return buckets.find((b) => b.count >= q * total)!.le;
}
