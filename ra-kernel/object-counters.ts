/**
 * ObjectCounters: a set of named counters kept for the whole server and per object, for the
 * DSM's observability (/metrics `..._total{object="sys:..."}` and `pages NAME`).
 *
 *   const c = new ObjectCounters(["readFaults", "writeFaults"] as const);
 *   c.add(object, "readFaults");          // server total and the object's own count
 */
import type { SysName } from "./ids.js";

export class ObjectCounters<K extends string> {
  readonly total: Record<K, number>;
  private readonly objects = new Map<SysName, Record<K, number>>();

  constructor(private readonly names: readonly K[]) {
    this.total = this.zero();
  }

  add(object: SysName | undefined, name: K, n = 1): void {
    this.total[name] += n;
    if (!object) return;
    let own = this.objects.get(object);
    if (!own) this.objects.set(object, (own = this.zero()));
    own[name] += n;
  }

  of(object: SysName): Record<K, number> {
    return { ...(this.objects.get(object) ?? this.zero()) };
  }

  /** Objects with counts, most active first (bounded, for /metrics). */
  busiest(limit: number): [SysName, Record<K, number>][] {
    const sum = (r: Record<K, number>) => this.names.reduce((n, k) => n + r[k], 0);
    return [...this.objects].sort((a, b) => sum(b[1]) - sum(a[1])).slice(0, limit);
  }

  private zero(): Record<K, number> {
    return Object.fromEntries(this.names.map((k) => [k, 0])) as Record<K, number>;
  }
}
