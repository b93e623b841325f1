/**
 * Tests of the pages a DsmClient (ra-kernel/dsm-client.ts) is granted without faulting on each:
 * sequential write runs (a write fault that continues a run asks its home for the following
 * pages too, twice as many each time; those granted are installed owned, with the stamps they
 * carry, recalled and committed like any other) and a new object's first pages, adopted with
 * its creation. The home is
 * a ScriptedHomeLink: every reply is given by the test, so each race is played in a fixed order.
 */
import { expect } from "chai";
import { DsmClient, MAX_FAULT_PAGES } from "../../ra-kernel/dsm-client.js";
import { newSysName, PAGE_SIZE, type PageNo, type ServerId, type SysName } from "../../ra-kernel/ids.js";
import { PageState } from "../../ra-kernel/page-state.js";
import { Segment } from "../../ra-kernel/segment.js";
import type { SegmentFrames } from "../../ra-kernel/segment-frames.js";
import { WriteLog } from "../../ra-kernel/write-log.js";
import { isPending } from "../support/deferred.js";
import { decoded, writeWholePage } from "../support/page-logs.js";
import { applied, grant, ScriptedHomeLink } from "../support/scripted-home-link.js";

const ds1 = "ds1" as ServerId;

function pageOf(fill: number): Uint8Array {
  return new Uint8Array(PAGE_SIZE).fill(fill);
}

describe("DsmClient grants without a fault", () => {
  let link: ScriptedHomeLink;
  let dsm: DsmClient;
  let seg: SysName;
  let frames: SegmentFrames;

  beforeEach(() => {
    link = new ScriptedHomeLink();
    dsm = new DsmClient(link);
    seg = newSysName(ds1);
    frames = dsm.framesOf(new Segment(seg, "heap"));
  });

  const extra = (pages: PageNo[], version = 2) => pages.map((page) => ({ page, version, stamp: 0, bytes: null }));

  /** An isiba's logged write of a whole page (test/support/page-logs.ts); returns its stamp. */
  function write(log: WriteLog, page: PageNo, bytes: Uint8Array): number {
    return writeWholePage(log, frames, seg, page, bytes);
  }

  /** A write fault on `page`, answered with version 2 and `more` pages granted with it. */
  async function writeFault(page: PageNo, more: PageNo[] = []): Promise<number | undefined> {
    const n = link.faults.length;
    const f = dsm.fault(seg, page, "write");
    const call = await link.faultCall(n);
    call.reply.resolve(grant(2, null, more.length > 0 ? { extra: extra(more) } : {}));
    await f;
    return call.count;
  }

  function metaOf(page: PageNo) {
    return dsm.pagesOf([seg]).find((p) => p.page === page);
  }

  describe("write runs", () => {
    it("should ask for one page first, then twice as many each time the run continues", async () => {
      expect(await writeFault(10)).to.equal(undefined);
      expect(await writeFault(11, [12])).to.equal(2);
      expect(await writeFault(13, [14, 15, 16])).to.equal(4);
      expect(await writeFault(17, [18, 19, 20, 21, 22, 23, 24])).to.equal(8);
      expect(await writeFault(40), "a fault elsewhere ends the run").to.equal(undefined);
    });

    it("should never ask for more than MAX_FAULT_PAGES", async () => {
      const counts: number[] = [];
      for (let page = 0, i = 0; i < 10; i++) {
        const f = dsm.fault(seg, page, "write");
        const call = await link.faultCall(i);
        const k = call.count ?? 1;
        call.reply.resolve(grant(2, null, { extra: extra(Array.from({ length: k - 1 }, (_, j) => page + 1 + j)) }));
        await f;
        counts.push(k);
        page += k;
      }
      expect(counts).to.deep.equal([1, 2, 4, 8, 16, 32, 64, 64, 64, 64]);
      expect(MAX_FAULT_PAGES).to.equal(64);
    });

    it("should install the pages granted with the fault as owned, so writing them faults no more", async () => {
      await writeFault(0);
      await writeFault(1, [2]);
      expect(metaOf(2)).to.deep.equal({ segment: seg, page: 2, state: "write", version: 2, owned: true, workingSet: false });
      await dsm.fault(seg, 2, "write");
      expect(link.faults).to.have.length(2);
      expect(dsm.counters.total).to.include({ writeFaults: 3, fetches: 2, pagesPrefetched: 1, ownedRewrites: 0 });
    });

    it("should not ask for pages it already caches", async () => {
      await writeFault(0);
      const r = dsm.fault(seg, 3, "read");
      (await link.faultCall(1)).reply.resolve(grant(1, pageOf(1)));
      await r;
      expect(await writeFault(1, [2])).to.equal(2);
      const n = link.faults.length;
      const f = dsm.fault(seg, 4, "write");
      expect((await link.faultCall(n)).count, "page 3 is cached: not a continuing run").to.equal(undefined);
      link.faults[n].reply.resolve(grant(2, null));
      await f;
    });

    it("should hold a recall of a page granted with a fault until that reply has landed", async () => {
      await writeFault(0);
      const f = dsm.fault(seg, 1, "write");
      const call = await link.faultCall(1);
      expect(call.count).to.equal(2);
      const recalled = dsm.recall({ segment: seg, page: 2, version: 2, epoch: 1, action: "invalidate" });
      expect(await isPending(recalled)).to.equal(true);
      call.reply.resolve(grant(2, null, { extra: [{ page: 2, version: 2, stamp: 3, bytes: pageOf(6) }] }));
      await f;
      expect(await recalled).to.deep.equal({ held: true, bytes: pageOf(6), stamp: 3, dirty: false });
      expect(frames.state(2)).to.equal(PageState.INVALID);
    });

    it("should stamp writes to a page granted with a fault above the stamp it carried, and commit them", async () => {
      await writeFault(0);
      const f = dsm.fault(seg, 1, "write");
      (await link.faultCall(1)).reply.resolve(grant(2, null, { extra: [{ page: 2, version: 2, stamp: 30, bytes: null }] }));
      await f;
      expect(frames.stamp(2)).to.equal(30);
      const log = new WriteLog(dsm.dropMark);
      expect(write(log, 2, pageOf(8))).to.equal(31);
      const done = dsm.commit(log.take(), log.since);
      const c = await link.commitCall(0);
      expect(c.pages.map((p) => [p.segment, p.page, p.left])).to.deep.equal([[seg, 2, 0]]);
      expect(decoded(c.pages[0].log)).to.deep.equal({ page: pageOf(8), max: 31 });
      c.reply.resolve(applied());
      await done;
    });

    it("should not install a page granted with a fault at a version older than a revert of it", async () => {
      await writeFault(0);
      const f = dsm.fault(seg, 1, "write");
      const call = await link.faultCall(1);
      expect(call.count).to.equal(2);
      // The home reverted page 2 (v3) while this reply, granting it at v2, was on its way.
      await dsm.recall({ segment: seg, page: 2, version: 3, epoch: 1, action: "revert" });
      call.reply.resolve(grant(2, null, { extra: extra([2]) }));
      await f;
      expect(frames.state(2)).to.equal(PageState.INVALID);
      expect(metaOf(2)).to.equal(undefined);
    });
  });

  describe("adoptCreated", () => {
    it("should install a new object's granted pages as owned zeros, so its constructor faults on none", async () => {
      frames.install(1, pageOf(0xaa), PageState.INVALID);
      dsm.adoptCreated(ds1, 1, [{ segment: seg, page: 0, version: 2 }, { segment: seg, page: 1, version: 2 }]);
      for (const page of [0, 1]) {
        expect(metaOf(page)).to.deep.equal({ segment: seg, page, state: "write", version: 2, owned: true, workingSet: false });
        expect(frames.copyPage(page)).to.deep.equal(new Uint8Array(PAGE_SIZE));
      }
      await dsm.fault(seg, 0, "write");
      await dsm.fault(seg, 1, "read");
      expect(link.faults).to.have.length(0);
      expect(dsm.counters.total).to.include({ pagesGrantedAtCreation: 2, fetches: 0 });
    });

    it("should give an adopted page's bytes to a recall, marked dirty, and still commit its words after", async () => {
      dsm.adoptCreated(ds1, 1, [{ segment: seg, page: 0, version: 2 }], 1);
      const log = new WriteLog(dsm.dropMark);
      write(log, 0, pageOf(4));
      expect(await dsm.recall({ segment: seg, page: 0, version: 2, epoch: 1, action: "downgrade" })).to.deep.equal({ held: true, bytes: pageOf(4), stamp: 1, dirty: true });
      expect(frames.state(0)).to.equal(PageState.READ);
      const done = dsm.commit(log.take(), log.since);
      const c = await link.commitCall(0);
      expect(c).to.include({ term: 1, abort: false });
      expect(decoded(c.pages[0].log).page, "the segment's words, not the recalled page").to.deep.equal(pageOf(4));
      c.reply.resolve(applied());
      await done;
    });

    it("should learn its lease term with the creation, dropping the home's pages if it changed", async () => {
      const r = dsm.fault(seg, 5, "read");
      (await link.faultCall(0)).reply.resolve(grant(1, pageOf(1), { term: 1 }));
      await r;
      dsm.adoptCreated(ds1, 1, [{ segment: seg, page: 0, version: 2 }], 2);
      expect(frames.state(5), "an old term's page").to.equal(PageState.INVALID);
      expect(metaOf(0)).to.include({ state: "write", owned: true });
    });

    it("should refuse a page that is already cached here", () => {
      dsm.adoptCreated(ds1, 1, [{ segment: seg, page: 0, version: 2 }]);
      expect(() => dsm.adoptCreated(ds1, 1, [{ segment: seg, page: 0, version: 2 }])).to.throw(/already cached/);
    });
  });
});
