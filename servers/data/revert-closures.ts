/**
 * RevertClosures: the home's revert closures (PageHome header, `closure`) and the fault
 * barriers they raise.
 *
 * A closure starts from pages whose coherent image holds writes that will never commit. Each
 * round reverts the pages it has under their locks (`round`, given by PageHome: it changes
 * the directory and tells the servers concerned) and returns the pages those servers named
 * as written by the segments they had to doom; those join, and the next round reverts them.
 * From its start until its last round is done, the closure bars faults of every page of the
 * objects it touches (`barrierOf`), not only of its pages: a page named in a later round must
 * not be fetched before it joins.
 *
 * Rules: `start` marks its pages tainted and raises its barriers synchronously, so a caller
 * holding a page's lock can start one and then give the lock back (rounds take page locks).
 * A closure never rejects; its barriers are lifted as it ends, before any waiting fault runs
 * again.
 */
import createDebug from "debug";
import type { PageDirectory, PageEntry, PageRef } from "./page-directory.js";
import { pageKey } from "./page-directory.js";
import type { PageLocks } from "./page-locks.js";

const log = createDebug("servers:data:home");

export interface ClosureHost {
  readonly directory: PageDirectory;
  readonly locks: PageLocks;
  /** The page's entry, created if it has none. */
  entryOf(ref: PageRef): PageEntry;
  /** What a barrier bars: the page's object (or, for a segment of no object, the page). */
  barKey(ref: PageRef): string;
  /** Reverts these pages (their locks held) and tells everyone; the pages they named. */
  round(refs: PageRef[]): Promise<PageRef[]>;
}

export class RevertClosures {
  /** Closures not done yet. */
  private readonly running = new Set<Promise<void>>();
  /** Barrier per bar key (see ClosureHost.barKey). */
  private readonly barred = new Map<string, Promise<void>>();

  constructor(private readonly host: ClosureHost) {}

  /** What a page is barred by, if anything. */
  barrierOf(ref: PageRef): Promise<void> | undefined {
    return this.barred.get(this.host.barKey(ref)) ?? this.host.directory.peek(ref)?.reverting ?? undefined;
  }

  /** Starts a closure from these pages; resolves once its last round is done. */
  start(from: PageRef[]): Promise<void> {
    const group = new Map<string, PageRef>();
    let release!: () => void;
    const barrier = new Promise<void>((resolve) => (release = resolve));
    const bars = new Set<string>();
    const join = (refs: PageRef[]): PageRef[] => refs.filter((ref) => {
      const key = pageKey(ref.segment, ref.page);
      if (group.has(key)) return false;
      const e = this.host.entryOf(ref);
      e.tainted = true;
      e.reverting = barrier;
      group.set(key, ref);
      this.bar(this.host.barKey(ref), barrier, bars);
      return true;
    });
    let next = join(from);
    const done = (async () => {
      for (let round = 1; next.length > 0; round++) {
        const refs = next;
        const lost = await this.host.locks.withPages(refs.map((r) => pageKey(r.segment, r.page)), () => this.host.round(refs));
        next = join(lost);
        if (next.length > 0) log("revert round %d named %d more page(s)", round, next.length);
      }
    })().catch((err: Error) => log("reverting %d page(s) failed: %s", group.size, err.message)).finally(() => {
      for (const ref of group.values()) {
        const e = this.host.directory.peek(ref);
        if (e?.reverting === barrier) e.reverting = null;
      }
      release();
    });
    this.running.add(done);
    void done.finally(() => this.running.delete(done));
    return barrier;
  }

  /**
   * Resolves once the closures running now are done (not those started later: with servers
   * dying every few seconds, waiting for "none left" could last for ever).
   */
  settled(): Promise<void> {
    return this.running.size === 0 ? Promise.resolve() : Promise.all([...this.running]).then(() => undefined);
  }

  /** Bars `key` until `barrier` (and any closure barring it already) is done. */
  private bar(key: string, barrier: Promise<void>, bars: Set<string>): void {
    if (bars.has(key)) return;
    bars.add(key);
    const before = this.barred.get(key);
    const until = before ? Promise.all([before, barrier]).then(() => undefined) : barrier;
    this.barred.set(key, until);
    // Lifted as it resolves, before any fault waiting for it runs again (registered first).
    void until.then(() => {
      if (this.barred.get(key) === until) this.barred.delete(key);
    });
  }
}
