/**
 * WaitingAccesses: non-atomic accesses waiting for an atomic thread to let go of an object,
 * counted per object, so that no other atomic thread takes the object meanwhile.
 *
 * A non-atomic thread never waits behind an atomic one: it wounds the atomic thread holding
 * the object and waits for it to abort (servers/data/lock-table.ts). But if another atomic
 * thread — or the wounded one, run again — takes the object before the non-atomic access got
 * its turn, it is wounded too, and so on: a steady stream of readers starves atomic threads
 * (each aborted until it gives up), and the reader itself may wait as long. So while an
 * access waits (`hold`, released once it was served), atomic threads asking for the object
 * wait first (`none`). The waits are short: an access holds nothing while it waits, and the
 * holder it waits for is already wounded.
 *
 * Rules: every `hold` is released exactly once (the release is idempotent).
 */
export class WaitingAccesses<K> {
  private readonly waiting = new Map<K, { n: number; gone: (() => void)[] }>();

  /** An access of `key` waits (and until it is served, `none(key)` waits); call the result once it was. */
  hold(key: K): () => void {
    let w = this.waiting.get(key);
    if (!w) this.waiting.set(key, (w = { n: 0, gone: [] }));
    w.n++;
    const mine = w;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--mine.n > 0) return;
      if (this.waiting.get(key) === mine) this.waiting.delete(key);
      for (const tell of mine.gone.splice(0)) tell();
    };
  }

  /** Resolves once no access of `key` waits (at once if none does). */
  async none(key: K): Promise<void> {
    for (let w = this.waiting.get(key); w; w = this.waiting.get(key)) {
      const current = w;
      await new Promise<void>((resolve) => current.gone.push(resolve));
    }
  }

  /** Keys with accesses waiting (metrics, tests). */
  get size(): number {
    return this.waiting.size;
  }
}
