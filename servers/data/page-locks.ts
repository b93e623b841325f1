/**
 * PageLocks: serializes requests for one page at its home (DESIGN §7).
 *
 * `withPages(keys, fn)` runs `fn` once every listed page's earlier holders are done; pages
 * are taken in sorted order, so two multi-page requests never deadlock. Waiters are served
 * in arrival order (FIFO per page). A read and a commit of one page thus never interleave:
 * a reader never gets the old bytes after the commit that replaced them began.
 */
export class PageLocks {
  private readonly tails = new Map<string, Promise<void>>();

  /** Whether nobody holds or waits for the page now (a grant made synchronously cannot interleave). */
  isFree(key: string): boolean {
    return !this.tails.has(key);
  }

  async withPages<T>(keys: string[], fn: () => Promise<T> | T): Promise<T> {
    const sorted = [...new Set(keys)].sort();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const before = sorted.map((k) => this.tails.get(k) ?? Promise.resolve());
    for (const k of sorted) this.tails.set(k, mine);
    try {
      await Promise.all(before);
      return await fn();
    } finally {
      release();
      for (const k of sorted) if (this.tails.get(k) === mine) this.tails.delete(k);
    }
  }
}
