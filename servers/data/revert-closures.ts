/**
 * RevertClosures: the home's revert closures (PageHome header, `closure`) and the fault
 * barriers they raise.
 *
 * A closure starts from pages whose coherent image holds writes that will never commit. Each
 * round reverts the pages it has under their locks (`round`, given by PageHome: it changes
 * the directory and tells the servers concerned) and returns the pages whose words of some
 * server must go too (those its doomed segments wrote, or all of one that lost its copies);
 * those join — also a page reverted already in this closure, if that server's words were not
 * taken out of it yet — and the next round reverts them. Each (page, server) is taken out at
 * most once per closure, so a closure ends.
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
  /** Reverts these pages (their locks held) and tells everyone; the pages whose words of a server must go too. */
  round(refs: PageRef[]): Promise<{ ref: PageRef; holder: string }[]>;
  /** Marks a server's words in these pages to be taken out by their next revert (PageReverts.takeOut). */
  takeOut(holder: string, refs: PageRef[]): void;
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

  /**
   * Starts a closure from these pages (`holder`: the server whose words in them the caller
   * marked to be taken out, if any); resolves once its last round is done.
   */
  start(from: PageRef[], holder?: string): Promise<void> {
    const group = new Map<string, PageRef>();
    /** Per page, the servers whose words were taken out of it in this closure. */
    const takenOut = new Map<string, Set<string>>();
    let release!: () => void;
    const barrier = new Promise<void>((resolve) => (release = resolve));
    const bars = new Set<string>();
    const add = (ref: PageRef): void => {
      const e = this.host.entryOf(ref);
      e.tainted = true;
      e.reverting = barrier;
      group.set(pageKey(ref.segment, ref.page), ref);
      this.bar(this.host.barKey(ref), barrier, bars);
    };
    const taken = (key: string, h: string): boolean => {
      let set = takenOut.get(key);
      if (!set) takenOut.set(key, (set = new Set()));
      if (set.has(h)) return true;
      set.add(h);
      return false;
    };
    const next = new Map<string, PageRef>();
    for (const ref of from) {
      const key = pageKey(ref.segment, ref.page);
      if (holder !== undefined) taken(key, holder);
      if (!group.has(key)) next.set(key, ref);
      add(ref);
    }
    // A page joins again for a server whose words in it were not taken out yet.
    const join = (items: { ref: PageRef; holder: string }[]): void => {
      for (const { ref, holder: h } of items) {
        const key = pageKey(ref.segment, ref.page);
        if (taken(key, h)) continue;
        this.host.takeOut(h, [ref]);
        next.set(key, ref);
        add(ref);
      }
    };
    const done = (async () => {
      for (let round = 1; next.size > 0; round++) {
        const refs = [...next.values()];
        next.clear();
        join(await this.host.locks.withPages(refs.map((r) => pageKey(r.segment, r.page)), () => this.host.round(refs)));
        if (next.size > 0) log("revert round %d named %d more page(s)", round, next.size);
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
