/**
 * WorkingSetSource: the working set of each object held on this compute server, in pages —
 * what LoadReports and compute.invoke replies tell others, so invocations go where an
 * object's pages are warm (DESIGN §8).
 *
 *   const ws = new CachedPagesWorkingSet({ objects, dsm, descriptor: (s) => homes.descriptor(s) });
 *   ws.learn(descriptor)           the segments of an object created here (no fetch needed)
 *   ws.pagesOf(object)             its pages cached here now (0 until its segments are known)
 *   ws.workingSets(limit)          the largest ones, largest first
 *
 * Which objects, and how many pages: the kernel's WSClock (PageCache, `recent`) counts each
 * object's pages used within its window and still cached here — a page invalidated since
 * is warm where it went, not here (a hot object whose pages moved away must not look warm
 * where they were: placement would follow it there and make them ping-pong) — plus the
 * objects asked about here (replies) within TOUCHED_MS, which its next sweep has not seen
 * yet, counted by their pages cached readable or writable now (DsmClient.pagesOf over the
 * object's data and heap segments). With the kernel's warmth (PageCache.warmSets and
 * warmthNow), "pages" is the working set's *warmth*: a writable page counts twice a read
 * copy, and a page not used within the window (a creation's spare pages) not at all, for
 * replies as for reports — measured otherwise, a read copy left where an object ran before
 * tied with where it runs now, and 28% of the calls on 32 hot objects moved them. Without
 * `recent`: every loaded object, so counted. A reply's figure (pagesOf) needs no window: the
 * object was just used. Segment names come from the object's descriptor, fetched once per object
 * in the background (at most FETCHES_AT_ONCE at a time) and kept while the object is
 * loaded. Synchronous reads never wait for a fetch.
 */
import type { ObjectDescriptor } from "../../ra-kernel/object-descriptor.js";
import type { PageNo, SysName } from "../../ra-kernel/ids.js";
import type { WarmObject } from "../placement/load-report.js";
import type { SegmentFrames } from "../../ra-kernel/segment-frames.js";

export interface WorkingSetSource {
  /** The largest working sets here, largest first (at most `limit`). */
  workingSets(limit: number): WarmObject[];
  /** One object's working set here (pages); 0 if none or not known yet. */
  pagesOf(object: SysName): number;
}

export interface CachedPagesDeps {
  objects: { loadedObjects(): SysName[] };
  dsm: { pagesOf(segments: SysName[], ws?: (frames: SegmentFrames, page: PageNo) => boolean): { state: "invalid" | "read" | "write" }[] };
  /** The object's descriptor (its segments), e.g. from its home. */
  descriptor(object: SysName): Promise<ObjectDescriptor>;
  /** The segments of an object loaded here, if known without a fetch (UserObjectManager). */
  segmentsOf?(object: SysName): SysName[] | undefined;
  /**
   * The kernel's working sets (PageCache: pages used within its window and still cached
   * here), largest first; absent: every loaded object, counted by its cached pages.
   */
  recent?: { workingSets(limit?: number): { object: SysName; pages: number }[] };
  /**
   * A cached page's warmth now (PageCache.warmthNow: 0 unused within the window, 1 a read
   * copy, 2 writable); absent: every cached page counts one.
   */
  warmthNow?(frames: SegmentFrames, page: PageNo): number;
}

/** Descriptor fetches in flight at once (the rest wait for a later sweep). */
const FETCHES_AT_ONCE = 8;
/** How long an object whose pages a reply counted stays listed without the kernel's word (ms). */
const TOUCHED_MS = 2000;

export class CachedPagesWorkingSet implements WorkingSetSource {
  /** object -> its data and heap segments; entries of objects no longer loaded are swept. */
  private readonly segments = new Map<SysName, SysName[]>();
  private readonly fetching = new Set<SysName>();
  /** Objects counted for a reply, and when: listed until the kernel's sweep catches up. */
  private readonly touched = new Map<SysName, number>();

  constructor(private readonly deps: CachedPagesDeps) {}

  learn(descriptor: ObjectDescriptor): void {
    this.segments.set(descriptor.sysname, [descriptor.segments.data, descriptor.segments.heap]);
  }

  pagesOf(object: SysName): number {
    const pages = this.cachedPagesOf(object);
    if (pages > 0) this.touched.set(object, performance.now());
    return pages;
  }

  workingSets(limit: number): WarmObject[] {
    return this.deps.recent ? this.fromKernel(limit) : this.fromLoaded(limit);
  }

  /** The kernel's working sets, plus the objects replies counted since its last sweep. */
  private fromKernel(limit: number): WarmObject[] {
    const out = new Map(this.deps.recent!.workingSets(limit).map((w) => [w.object, w.pages]));
    const now = performance.now();
    for (const [object, at] of this.touched) {
      if (now - at > TOUCHED_MS) this.touched.delete(object);
      else if (!out.has(object)) {
        const pages = this.cachedPagesOf(object);
        if (pages > 0) out.set(object, pages);
      }
    }
    if (this.segments.size > 0) this.sweep(new Set(this.deps.objects.loadedObjects()));
    return [...out].map(([object, pages]) => ({ object, pages })).sort((a, b) => b.pages - a.pages).slice(0, limit);
  }

  /**
   * The object's pages cached readable or writable here now, or with warmthNow their warmth
   * (used within the window, a writable one twice): the measure the kernel's sweep gives
   * `recent`, so a reply and a report never disagree on it (0 until its segments are known).
   */
  private cachedPagesOf(object: SysName): number {
    const segments = this.segments.get(object) ?? this.deps.segmentsOf?.(object);
    if (!segments) {
      this.fetch(object);
      return 0;
    }
    const warmth = this.deps.warmthNow;
    if (!warmth) return this.deps.dsm.pagesOf(segments).filter((p) => p.state !== "invalid").length;
    // pagesOf hands each cached page to its working-set test: the warmth is summed there.
    let sum = 0;
    this.deps.dsm.pagesOf(segments, (frames, page) => {
      sum += warmth(frames, page);
      return false;
    });
    return sum;
  }

  /** Without the kernel's word: every loaded object, counted by its cached pages. */
  private fromLoaded(limit: number): WarmObject[] {
    const loaded = this.deps.objects.loadedObjects();
    this.sweep(new Set(loaded));
    const out: WarmObject[] = [];
    for (const object of loaded) {
      const pages = this.cachedPagesOf(object);
      if (pages > 0) out.push({ object, pages });
    }
    return out.sort((a, b) => b.pages - a.pages).slice(0, limit);
  }

  private fetch(object: SysName): void {
    if (this.fetching.has(object) || this.fetching.size >= FETCHES_AT_ONCE) return;
    this.fetching.add(object);
    this.deps.descriptor(object).then(
      (d) => this.learn(d),
      () => undefined, // deleted or home down: asked again at the next sweep
    ).finally(() => this.fetching.delete(object));
  }

  private sweep(loaded: Set<SysName>): void {
    for (const object of this.segments.keys()) if (!loaded.has(object)) this.segments.delete(object);
  }
}
