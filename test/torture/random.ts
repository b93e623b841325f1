/**
 * Random: a small seeded generator (mulberry32), so a torture run's choices — which object,
 * which update, which compute server, which server to kill and when — repeat for a seed.
 * (The cluster's own timing does not repeat: a seed replays the plan, not the run.)
 */
export class Random {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** An integer in [lo, hi]. */
  between(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("Random.pick: nothing to pick from");
    return items[this.int(items.length)];
  }

  /** A generator of its own, seeded from this one (one per client loop, one for the nemesis). */
  fork(): Random {
    return new Random(Math.floor(this.next() * 2 ** 32));
  }
}
