/**
 * ObjectCounters: a set of named counters kept for the whole server and per object, for the
 * DSM's observability (/metrics `..._total{object="sys:..."}` and `pages NAME`).
 *
 *   const c = new ObjectCounters(["readFaults", "writeFaults"] as const);
 *   c.add(object, "readFaults");          // server total and the object's own count
 *
 * Per-object counts are kept for the `maxObjects` most recently counted objects only (a
 * server may see millions): the least recently counted one's are dropped first; totals
 * are never dropped.
 */
import type { SysName } from "./ids.js";

export class ObjectCounters<K extends string> {
  readonly total: Record<K, number>;
  private readonly objects = new Map<SysName, Record<K, number>>();

  constructor(
    private readonly names: readonly K[],
    /** Objects whose own counts are kept. @default 10000 */
    private readonly maxObjects = 10_000,
  ) {
    this.total = this.zero();
  }

  add(object: SysName | undefined, name: K, n = 1): void {
    this.total[name] += n;
    if (!object) return;
    let own = this.objects.get(object);
    if (own) this.objects.delete(object); // re-inserted last: the map is in order of last use
    else {
      own = this.zero();
      if (this.objects.size >= this.maxObjects) this.objects.delete(this.objects.keys().next().value!);
    }
    this.objects.set(object, own);
    own[name] += n;
  }

  /** Drops an object's own counts (it is gone from this server); the totals keep them. */
  forget(object: SysName): void {
    this.objects.delete(object);
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
