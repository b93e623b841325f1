import { expect } from "chai";
import { asServerId, newSysName, type PageNo, type SysName } from "../../ra-kernel/ids.js";
import { FramePool } from "../../ra-kernel/frame-pool.js";
import { PageCache, type PageCacheHost } from "../../ra-kernel/page-cache.js";
import { PageState } from "../../ra-kernel/page-state.js";
import { recordAt, SegmentFrames, W_ACCESSED } from "../../ra-kernel/segment-frames.js";

/** A DSM stand-in: evicts what is not `pinned` by lowering and freeing the frame, as DsmClient does. */
class FakeHost implements PageCacheHost {
  readonly pinned = new Set<string>();
  readonly objects = new Map<SegmentFrames, SysName>();
  readonly evictions: string[] = [];

  evictable(frames: SegmentFrames, page: PageNo): boolean {
    return this.objects.has(frames) && !this.pinned.has(`${frames.sysname}#${page}`);
  }

  async evict(frames: SegmentFrames, page: PageNo): Promise<boolean> {
    if (!this.evictable(frames, page)) return false;
    await frames.lower(page, PageState.INVALID);
    this.evictions.push(`${this.objects.get(frames)}#${page}`);
    return frames.evict(page);
  }

  cachedOf(frames: SegmentFrames): { object: SysName | undefined } | undefined {
    return this.objects.has(frames) ? { object: this.objects.get(frames) } : undefined;
  }
}

/** An accessor entering the page (what MappedSegment does). */
function touch(frames: SegmentFrames, page: PageNo): void {
  frames.records()[recordAt(page, W_ACCESSED)] = 1;
}

describe("PageCache", () => {
  const ds1 = asServerId("ds1");
  let pool: FramePool;
  let host: FakeHost;
  let cache: PageCache;
  let hot: SegmentFrames;
  let cold: SegmentFrames;
  const HOT = "sys:ds1:hot" as SysName, COLD = "sys:ds1:cold" as SysName;

  beforeEach(() => {
    pool = new FramePool({ softPages: 10, maxPages: 40 });
    host = new FakeHost();
    cache = new PageCache(pool, host, { windowMs: 1000, lowWater: 0.5 });
    hot = new SegmentFrames(newSysName(ds1), 100, true, pool);
    cold = new SegmentFrames(newSysName(ds1), 100, true, pool);
    host.objects.set(hot, HOT).set(cold, COLD);
  });

  afterEach(() => cache.stop());

  function fill(frames: SegmentFrames, pages: number): void {
    for (let p = 0; p < pages; p++) frames.install(p, null, PageState.READ);
  }

  it("should count an object's pages used within the window as its working set", () => {
    fill(hot, 3);
    fill(cold, 4);
    cache.sweep(0); // every page just came in: used
    expect(cache.workingSets()).to.deep.equal([{ object: COLD, pages: 4 }, { object: HOT, pages: 3 }]);
    touch(hot, 0);
    touch(hot, 2);
    cache.sweep(1500);
    expect(cache.workingSets(), "only pages used since the window began").to.deep.equal([{ object: HOT, pages: 2 }]);
    expect(cache.workingSet(COLD)).to.equal(0);
    expect([cache.inWorkingSet(hot, 0, 1500), cache.inWorkingSet(hot, 1, 1500)]).to.deep.equal([true, false]);
  });

  it("should do nothing while the pool is within its low water mark", async () => {
    fill(hot, 5);
    expect(await cache.reclaim()).to.equal(0);
    expect(host.evictions).to.deep.equal([]);
  });

  it("should evict pages outside the working sets first, down to the low water mark", async () => {
    fill(cold, 8);
    cache.sweep(performance.now() - 5000); // long ago: the cold pages are old news
    fill(hot, 6);
    expect(pool.used).to.equal(14);
    const freed = await cache.reclaim();
    expect(freed).to.equal(9);
    expect(pool.used).to.equal(5);
    expect(host.evictions.filter((e) => e.startsWith(HOT)), "first the cold object, then the least recently seen").to.have.length(1);
    expect(host.evictions.filter((e) => e.startsWith(COLD))).to.have.length(8);
  });

  it("should leave pages the DSM cannot evict, and count the shortfall", async () => {
    fill(hot, 12);
    for (let p = 0; p < 12; p++) host.pinned.add(`${hot.sysname}#${p}`);
    expect(await cache.reclaim()).to.equal(0);
    expect([pool.used, cache.shortfalls]).to.deep.equal([12, 1]);
    host.pinned.clear();
    await cache.reclaim();
    expect(pool.used).to.equal(5);
  });

  it("should keep the bound under a stream of new pages, touching three times it", async () => {
    for (let p = 0; p < 30; p++) {
      hot.install(p, null, PageState.READ);
      if (cache.over) await cache.reclaim();
    }
    expect(pool.used).to.be.at.most(10);
    expect(pool.spanned, "the arena stays near the bound").to.be.at.most(11);
    expect(hot.pagesAtLeast(PageState.READ)).to.include(29);
  });

  it("should fail clearly when the arena is full of pages it cannot evict", () => {
    fill(hot, 40);
    expect(() => cold.install(0, null, PageState.READ)).to.throw(/page cache is full.*--cache-mb/);
  });
});
