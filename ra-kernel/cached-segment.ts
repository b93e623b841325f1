/**
 * CachedSegment: what a compute server's DSM client knows about one segment it caches —
 * the shared frames (bytes, page table, pins) plus, per page, the kernel-only metadata
 * the coherence protocol needs (PageMeta).
 *
 *   version   the version of the copy in the frame (from its grant); 0 when it holds none (never
 *             granted, or invalidated or dropped since). Read grants do not raise a page's
 *             version, so the same version may be granted again after an invalidation: 0 is
 *             what tells a recall of it that arrives while that grant lands (wait for it) from
 *             one of the copy already invalidated.
 *   owned     this server owns the page (the home granted it writable and has not recalled
 *             it). The page table may say READ while owned: a write-back lowers it for the
 *             instant of its copy; a write fault then just raises it again.
 *   busy      the one operation on the page in progress here (a fetch from the home, or a
 *             write-back's copy); others wait for it
 *   lostSeq   set when the page was owned and had to be dropped without giving its bytes
 *             home (connection lost, lease expired, home restarted): writes to it are lost
 *   committing  commit segments of this page sent to the home and not answered yet (their
 *             writers are still counted in the frames: see SegmentFrames.writers)
 *   floor     the version of the last revert: grants older than it are stale
 *   heldSince when the current copy was installed (ms, performance.now): a recall waits
 *             until the copy has been usable for a moment, so two servers writing one page
 *             each make progress instead of taking it from each other forever
 *
 * writeRun  the sequential write run in progress: `next` is the page a continuing run faults on
 *           next, `count` how many pages the last fault of the run asked for (DsmClient asks
 *           for twice as many each time the run continues, up to MAX_FAULT_PAGES)
 *
 * Rules: PageMeta and writeRun are touched only by the kernel thread (DsmClient).
 */
import type { PageNo, ServerId, SysName } from "./ids.js";
import type { Segment } from "./segment.js";
import { SegmentFrames } from "./segment-frames.js";
import type { FramePool } from "./frame-pool.js";

export interface PageMeta {
  version: number;
  owned: boolean;
  busy: Promise<void> | undefined;
  lostSeq: number;
  committing: number;
  floor: number;
  heldSince: number;
}

export class CachedSegment {
  readonly frames: SegmentFrames;
  readonly writeRun = { next: -1, count: 1 };
  private readonly metas = new Map<PageNo, PageMeta>();

  constructor(
    readonly segment: Segment,
    /** The object whose O space maps this segment (for per-object counters), if known. */
    public object: SysName | undefined,
    pool: FramePool,
  ) {
    this.frames = new SegmentFrames(segment.sysname, segment.maxPages, true, pool);
  }

  get sysname(): SysName {
    return this.segment.sysname;
  }

  get home(): ServerId {
    return this.segment.home;
  }

  meta(page: PageNo): PageMeta {
    let m = this.metas.get(page);
    if (!m) this.metas.set(page, (m = { version: 0, owned: false, busy: undefined, lostSeq: 0, committing: 0, floor: 0, heldSince: 0 }));
    return m;
  }

  /** Pages with metadata (ever granted here), ascending. */
  knownPages(): PageNo[] {
    return [...this.metas.keys()].sort((a, b) => a - b);
  }
}
