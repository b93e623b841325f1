/**
 * PageCache: keeps a compute server's cached pages within their bound, and measures the
 * working set of each object it holds (DESIGN §8) — a WSClock over the FramePool's slots.
 *
 *   const cache = new PageCache(dsm.pool, dsm, { windowMs: 2000 });
 *   cache.start();                       // sweeps every sweepMs; reclaims when over the bound
 *   cache.workingSet(object)             // its pages used in the last window, here
 *   cache.inWorkingSet(frames, page)     // for `pages NAME`
 *   cache.stop();
 *
 * The MMU sets a page's accessed bit whenever an accessor enters it (MappedSegment); each
 * sweep reads and clears the bits of every page in the pool and stamps the used ones with
 * the time: an object's working set is its pages used within the last `windowMs` and still
 * cached here (a page taken away since is warm elsewhere, not here).
 * When the pool holds more than its bound, `reclaim` moves a clock hand over the slots:
 * a page whose bit is set is used (stamped, skipped); one unused for longer than the window
 * and evictable (DsmClient: not being fetched or committed, no writes here not committed
 * yet, nobody in it) is evicted — a clean copy dropped, an owned one's bytes given home
 * first. Only if a whole turn frees too little are pages of the working sets taken too
 * (oldest first in clock order). The cache goes down to `lowWater` of its bound, so it is
 * not swept for every new page.
 *
 * Rules: kernel thread only; one reclaim at a time.
 */
import createDebug from "debug";
import type { FramePool } from "./frame-pool.js";
import type { PageNo, SysName } from "./ids.js";
import type { SegmentFrames } from "./segment-frames.js";
import { PageState } from "./page-state.js";

const log = createDebug("ra:cache");

/** What the cache needs from the DSM client (DsmClient implements it). */
export interface PageCacheHost {
  evictable(frames: SegmentFrames, page: PageNo): boolean;
  evict(frames: SegmentFrames, page: PageNo): Promise<boolean>;
  /** The object whose segment `frames` are, if the frames are the DSM's. */
  cachedOf(frames: SegmentFrames): { object: SysName | undefined } | undefined;
}

export interface PageCacheOptions {
  /** A page used within this long is in its object's working set (ms). @default 2000 */
  windowMs?: number;
  /** How often the accessed bits are swept (ms). @default 250 */
  sweepMs?: number;
  /** A reclaim frees pages down to this fraction of the bound. @default 0.8 */
  lowWater?: number;
  /** Evictions in flight at once during a reclaim. @default 64 */
  batch?: number;
}

/** One object's working set here. */
export interface ObjectWorkingSet {
  object: SysName;
  pages: number;
}

export class PageCache {
  readonly windowMs: number;
  private readonly sweepMs: number;
  private readonly lowWater: number;
  private readonly batch: number;
  /**
   * Per slot (index slot - 1): when its page was last seen used, and the take (FramePool) it
   * was seen under — a number, not the owner: a page table gone from the kernel must not be
   * kept alive here.
   */
  private readonly lastUse: number[] = [];
  private readonly seenTake: number[] = [];
  private hand = 1;
  private sets = new Map<SysName, number>();
  /** Per object, its working set's warmth here (see warmth). */
  private warm = new Map<SysName, number>();
  private timer: NodeJS.Timeout | undefined;
  private reclaiming: Promise<number> | undefined;
  private pressured = false;
  /** Pages evicted by reclaims so far, and reclaims that could not reach the bound. */
  evicted = 0;
  shortfalls = 0;

  constructor(private readonly pool: FramePool, private readonly host: PageCacheHost, options: PageCacheOptions = {}) {
    this.windowMs = options.windowMs ?? 2000;
    this.sweepMs = options.sweepMs ?? 250;
    this.lowWater = options.lowWater ?? 0.8;
    this.batch = options.batch ?? 64;
  }

  start(): void {
    if (this.timer) return;
    // Past the bound, reclaim soon (not at the next sweep: a fast fault stream would run the
    // arena up to its reservation first) — but never inside the install that took the frame.
    this.pool.onPressure = () => {
      if (this.reclaiming || this.pressured) return;
      this.pressured = true;
      setImmediate(() => {
        this.pressured = false;
        void this.reclaim();
      });
    };
    this.timer = setInterval(() => this.tick(), this.sweepMs);
    this.timer.unref();
  }

  stop(): void {
    this.pool.onPressure = undefined;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Whether the pool holds more pages than its low water mark (a reclaim has work to do). */
  get over(): boolean {
    return this.pool.used > Math.floor(this.pool.softPages * this.lowWater);
  }

  /** One sweep, and a reclaim if the pool is over its bound (what the timer runs). */
  tick(now = performance.now()): void {
    this.sweep(now);
    if (this.pool.used > this.pool.softPages * 0.9) void this.reclaim();
  }

  /** Reads and clears every accessed bit; recomputes the working sets. */
  sweep(now = performance.now()): void {
    const sets = new Map<SysName, number>();
    const warm = new Map<SysName, number>();
    for (let slot = 1; slot <= this.pool.spanned; slot++) {
      const held = this.pool.owner(slot);
      if (!held) continue;
      const frames = held.owner as SegmentFrames;
      const used = this.touch(slot, frames, held.page, held.take, now);
      // Warm means here now: a page used in the window but taken away since does not count.
      const state = frames.state(held.page);
      if (now - used > this.windowMs || state < PageState.READ) continue;
      const object = this.host.cachedOf(frames)?.object;
      if (!object) continue;
      sets.set(object, (sets.get(object) ?? 0) + 1);
      warm.set(object, (warm.get(object) ?? 0) + warmthOf(state));
    }
    this.sets = sets;
    this.warm = warm;
  }

  /**
   * Every object's warmth here, warmest first (at most `limit`): its working set's pages, a
   * writable one counting twice — where an object's written pages are is where it runs
   * without a message; a read copy left behind where it ran before must not tie with that.
   */
  warmSets(limit = Infinity): ObjectWorkingSet[] {
    return [...this.warm].map(([object, pages]) => ({ object, pages })).sort((a, b) => b.pages - a.pages).slice(0, limit);
  }

  /**
   * A cached page's warmth now (0: not used within the window): what warmSets counts, but
   * current — an accessed bit not swept yet, or a page brought in since, counts as used.
   */
  warmthNow(frames: SegmentFrames, page: PageNo, now = performance.now()): number {
    const slot = frames.slotOf(page);
    const held = slot === 0 ? undefined : this.pool.owner(slot);
    const state = frames.state(page);
    if (!held || held.owner !== frames || held.page !== page || state < PageState.READ) return 0;
    const used = frames.accessed(page) || this.seenTake[slot - 1] !== held.take || now - this.lastUse[slot - 1] <= this.windowMs;
    return used ? warmthOf(state) : 0;
  }

  /** If the pool is over its low water mark, frees pages until it is back under it; resolves with how many. */
  reclaim(): Promise<number> {
    this.reclaiming ??= this.reclaimNow().finally(() => (this.reclaiming = undefined));
    return this.reclaiming;
  }

  workingSet(object: SysName): number {
    return this.sets.get(object) ?? 0;
  }

  /** Every object's working set here, largest first (at most `limit`). */
  workingSets(limit = Infinity): ObjectWorkingSet[] {
    return [...this.sets].map(([object, pages]) => ({ object, pages })).sort((a, b) => b.pages - a.pages).slice(0, limit);
  }

  /** Whether a cached page was used within the window (as of the last sweep). */
  inWorkingSet(frames: SegmentFrames, page: PageNo, now = performance.now()): boolean {
    const slot = frames.slotOf(page);
    const held = slot === 0 ? undefined : this.pool.owner(slot);
    if (!held || held.owner !== frames || held.page !== page || this.seenTake[slot - 1] !== held.take) return false;
    return now - this.lastUse[slot - 1] <= this.windowMs;
  }

  /**
   * When the slot's page was last used: now if its accessed bit was set, or if the slot
   * holds a page it did not hold at the last look (just brought in: used).
   */
  private touch(slot: number, frames: SegmentFrames, page: PageNo, take: number, now: number): number {
    const i = slot - 1;
    if (frames.takeAccessed(page) || this.seenTake[i] !== take) {
      this.seenTake[i] = take;
      this.lastUse[i] = now;
    }
    return this.lastUse[i];
  }

  private async reclaimNow(): Promise<number> {
    if (!this.over) return 0;
    const target = Math.floor(this.pool.softPages * this.lowWater);
    let freed = 0;
    // First turn: pages outside every working set; second: any evictable page.
    for (let turn = 0; turn < 2 && this.pool.used > target; turn++) {
      for (let scanned = 0, span = this.pool.spanned; scanned < span && this.pool.used > target; ) {
        const picked = this.pick(Math.min(this.batch, this.pool.used - target), turn === 1, span - scanned);
        scanned += picked.scanned;
        const done = await Promise.all(picked.pages.map(({ frames, page }) => this.host.evict(frames, page)));
        freed += done.filter(Boolean).length;
      }
    }
    this.evicted += freed;
    if (this.pool.used > target) {
      this.shortfalls++;
      log("reclaim freed %d pages but %d are still cached (bound %d): the rest hold writes not committed yet or are in use", freed, this.pool.used, this.pool.softPages);
    }
    return freed;
  }

  /** Moves the hand over at most `limit` slots, picking up to `want` pages to evict. */
  private pick(want: number, anyAge: boolean, limit: number): { pages: { frames: SegmentFrames; page: PageNo }[]; scanned: number } {
    const now = performance.now();
    const pages: { frames: SegmentFrames; page: PageNo }[] = [];
    let scanned = 0;
    while (scanned < limit && pages.length < want) {
      const slot = this.hand;
      this.hand = slot >= this.pool.spanned ? 1 : slot + 1;
      scanned++;
      const held = this.pool.owner(slot);
      if (!held) continue;
      const frames = held.owner as SegmentFrames;
      const used = this.touch(slot, frames, held.page, held.take, now);
      if (!anyAge && now - used <= this.windowMs) continue;
      if (this.host.evictable(frames, held.page)) pages.push({ frames, page: held.page });
    }
    return { pages, scanned };
  }
}

/** A working-set page's weight for placement: a writable one twice a read copy. */
function warmthOf(state: number): number {
  return state === PageState.WRITE ? 2 : 1;
}
