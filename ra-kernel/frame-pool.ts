/**
 * FramePool: the page frames of a compute server — one shared arena that every cached page's
 * bytes live in, whatever segment it belongs to (DESIGN §8: a bounded page cache).
 *
 * A segment's page table (SegmentFrames) names, for each page present here, the *slot* of the
 * arena holding its bytes; an isiba finds a page's bytes at `(slot - 1) * PAGE_SIZE` (slot 0:
 * none). So a compute server reserves address space for its cache once, not once per segment
 * at the segment's maximum size, and its memory follows the pages it caches, not the objects
 * it has seen.
 *
 *   const pool = new FramePool({ softPages: 65_536, maxPages: 131_072 });
 *   const slot = pool.take(frames, page);   // a free slot (grows the arena if none is free)
 *   pool.give(slot);                       // the page left: its slot is free again
 *   pool.used > pool.softPages             // over the bound: the kernel evicts (PageCache)
 *
 * The arena is a growable SharedArrayBuffer (one reservation of `maxPages` frames) grown in
 * chunks as slots are first used; freed slots are reused first (most recently freed first,
 * their memory is resident already). `softPages` is the cache bound the kernel keeps to by
 * evicting, starting a little before it (`pressureAt`), so the arena — whose touched frames
 * stay resident — spans little more than the bound; past it the arena still grows (pages that
 * hold writes not committed yet cannot be evicted) up to `maxPages`, where `take` throws
 * PageCacheFullError.
 *
 * Rules: kernel thread only (take, give, owner). Isibas only read and write frame bytes of
 * pages their page table publishes (see SegmentFrames).
 */
import { PAGE_SIZE, type PageNo } from "./ids.js";
import { PageCacheFullError } from "./errors.js";

/** Frames the arena grows by at a time (1 MiB). */
const GROW_PAGES = 256;

/** What a slot holds: the page table and page it was taken for. */
export interface FrameOwner {
  readonly sysname: string;
}

export interface FramePoolOptions {
  /** The cache bound (pages): above it, the kernel evicts. */
  softPages: number;
  /** The arena's reservation (pages): `take` fails past it. @default softPages * 5 / 4 */
  maxPages?: number;
  /** Past this fraction of `softPages` in use, `onPressure` is called (reclaim early). @default 0.9 */
  pressureAt?: number;
}

export class FramePool {
  readonly bytes: SharedArrayBuffer;
  readonly softPages: number;
  readonly maxPages: number;
  /** Pages in use past which `onPressure` is called. */
  private readonly pressurePages: number;
  /** Slots in use. */
  private inUse = 0;
  /** Slots ever handed out (the arena spans them); slot numbers are 1..span. */
  private span = 0;
  private readonly free: number[] = [];
  /** Per slot (index slot - 1): its owner and page; undefined while free. */
  private readonly owners: (FrameOwner | undefined)[] = [];
  private readonly pages: PageNo[] = [];
  /** Per slot: the number of the take that gave it out (tells a slot's new page from its old one without holding the old owner). */
  private readonly takes: number[] = [];
  private taken = 0;
  /** Called (synchronously, from `take`) whenever a take leaves more than `pressureAt` of `softPages` in use: schedule a reclaim. */
  onPressure: (() => void) | undefined;

  constructor(options: FramePoolOptions) {
    this.softPages = Math.max(1, Math.floor(options.softPages));
    this.maxPages = Math.max(this.softPages, Math.floor(options.maxPages ?? (this.softPages * 5) / 4));
    this.pressurePages = Math.floor(this.softPages * (options.pressureAt ?? 0.9));
    this.bytes = new SharedArrayBuffer(0, { maxByteLength: this.maxPages * PAGE_SIZE });
  }

  /** A pool for frames of their own (volatile heaps, scratch stores): no eviction, bounded by `maxPages`. */
  static private(maxPages: number): FramePool {
    return new FramePool({ softPages: maxPages, maxPages });
  }

  /** Slots in use. */
  get used(): number {
    return this.inUse;
  }

  /** Slots the arena spans (in use or free): its resident size in pages at most. */
  get spanned(): number {
    return this.span;
  }

  /** A free slot for `page` of `owner`, growing the arena if none is free. */
  take(owner: FrameOwner, page: PageNo): number {
    const slot = this.free.pop() ?? this.extend(owner, page);
    this.owners[slot - 1] = owner;
    this.pages[slot - 1] = page;
    this.takes[slot - 1] = ++this.taken;
    this.inUse++;
    if (this.inUse > this.pressurePages) this.onPressure?.();
    return slot;
  }

  /** The slot is free again (its page left the cache). */
  give(slot: number): void {
    if (slot < 1 || slot > this.span || this.owners[slot - 1] === undefined) throw new Error(`frame slot ${slot} is not in use`);
    this.owners[slot - 1] = undefined;
    this.free.push(slot);
    this.inUse--;
  }

  /** Who holds `slot` (undefined: free), and the number of the take that gave it to them. */
  owner(slot: number): { owner: FrameOwner; page: PageNo; take: number } | undefined {
    const owner = this.owners[slot - 1];
    return owner === undefined ? undefined : { owner, page: this.pages[slot - 1], take: this.takes[slot - 1] };
  }

  private extend(owner: FrameOwner, page: PageNo): number {
    if (this.span >= this.maxPages) {
      throw new PageCacheFullError(
        `the page cache is full: all ${this.maxPages} frames (${(this.maxPages * PAGE_SIZE) >> 20} MiB) hold pages that cannot be evicted (writes not committed yet); ` +
          `page ${page} of ${owner.sysname} cannot be brought in (raise --cache-mb, or commit more often)`,
        { pages: this.maxPages },
      );
    }
    if (this.span * PAGE_SIZE >= this.bytes.byteLength) {
      this.bytes.grow(Math.min(this.maxPages, this.span + GROW_PAGES) * PAGE_SIZE);
    }
    return ++this.span;
  }
}
