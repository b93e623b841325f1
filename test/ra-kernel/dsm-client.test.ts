/**
 * Tests of the DSM client (ra-kernel/dsm-client.ts): faults fetched once and installed,
 * write upgrades, invalidations racing fetches, write-back grouped by home, and a home's
 * epoch change dropping its pages. The homes are a ScriptedHomeLink: every reply is given
 * by the test, so each race is played in a fixed order.
 */
import { expect } from "chai";
import { DsmClient } from "../../ra-kernel/dsm-client.js";
import { newSysName, PAGE_SIZE, type ServerId, type SysName } from "../../ra-kernel/ids.js";
import { PageState } from "../../ra-kernel/page-state.js";
import { Segment } from "../../ra-kernel/segment.js";
import type { SegmentFrames } from "../../ra-kernel/segment-frames.js";
import { isPending } from "../support/deferred.js";
import { expectRejection } from "../support/expect-rejection.js";
import { ScriptedHomeLink } from "../support/scripted-home-link.js";

const ds1 = "ds1" as ServerId;
const ds2 = "ds2" as ServerId;

/** A page whose every byte is `fill`. */
function pageOf(fill: number): Uint8Array {
  return new Uint8Array(PAGE_SIZE).fill(fill);
}

describe("DsmClient", () => {
  let link: ScriptedHomeLink;
  let dsm: DsmClient;
  let seg: SysName;
  let frames: SegmentFrames;

  beforeEach(() => {
    link = new ScriptedHomeLink();
    dsm = new DsmClient(link);
    seg = newSysName(ds1);
    frames = dsm.framesOf(new Segment(seg, "data"));
  });

  describe("fault", () => {
    it("should fetch a page once however many faults ask for it at once", async () => {
      const faults = [dsm.fault(seg, 3, "read"), dsm.fault(seg, 3, "read"), dsm.fault(seg, 3, "read")];
      expect(link.reads).to.have.length(1);
      expect(link.reads[0]).to.include({ home: ds1, segment: seg, page: 3, mode: "read" });
      link.reads[0].reply.resolve({ bytes: pageOf(7), version: 1, epoch: 1 });
      await Promise.all(faults);
      expect(frames.state(3)).to.equal(PageState.READ);
      expect(frames.copyPage(3)).to.deep.equal(pageOf(7));
      expect(dsm.counters).to.include({ faults: 3, fetches: 1, bytesIn: PAGE_SIZE });
    });

    it("should fetch again for a later fault once the first fetch is done", async () => {
      const first = dsm.fault(seg, 0, "read");
      link.reads[0].reply.resolve({ bytes: null, version: 0, epoch: 1 });
      await first;
      dsm.invalidate([{ segment: seg, page: 0 }]);
      const second = dsm.fault(seg, 0, "read");
      expect(link.reads).to.have.length(2);
      link.reads[1].reply.resolve({ bytes: pageOf(1), version: 1, epoch: 1 });
      await second;
      expect(frames.copyPage(0)).to.deep.equal(pageOf(1));
    });

    it("should install a write fault's page in WRITE state", async () => {
      const f = dsm.fault(seg, 2, "write");
      expect(link.reads[0].mode).to.equal("write");
      link.reads[0].reply.resolve({ bytes: pageOf(9), version: 1, epoch: 1 });
      await f;
      expect(frames.state(2)).to.equal(PageState.WRITE);
      expect(frames.copyPage(2)).to.deep.equal(pageOf(9));
    });

    it("should install zeros for a page its home never stored", async () => {
      frames.install(0, pageOf(0xaa), PageState.READ);
      dsm.invalidate([{ segment: seg, page: 0 }]);
      const f = dsm.fault(seg, 0, "read");
      link.reads[0].reply.resolve({ bytes: null, version: 0, epoch: 1 });
      await f;
      expect(frames.state(0)).to.equal(PageState.READ);
      expect(frames.copyPage(0)).to.deep.equal(pageOf(0));
    });

    it("should raise a READ page to WRITE without fetching", async () => {
      const f = dsm.fault(seg, 1, "read");
      link.reads[0].reply.resolve({ bytes: pageOf(5), version: 1, epoch: 1 });
      await f;
      await dsm.fault(seg, 1, "write");
      expect(link.reads).to.have.length(1);
      expect(frames.state(1)).to.equal(PageState.WRITE);
      expect(frames.copyPage(1)).to.deep.equal(pageOf(5));
    });

    it("should reject a fault on a segment that is not mapped here", async () => {
      const other = newSysName(ds1);
      const err = await expectRejection(dsm.fault(other, 0, "read"), Error);
      expect(err.message).to.contain(other).and.to.contain("not mapped");
      expect(link.reads).to.have.length(0);
    });

    it("should reject every waiter when the home fails, and fetch afresh on the next fault", async () => {
      const a = dsm.fault(seg, 0, "read");
      const b = dsm.fault(seg, 0, "read");
      link.reads[0].reply.reject(new Error("home unreachable"));
      expect((await expectRejection(a, Error)).message).to.equal("home unreachable");
      expect((await expectRejection(b, Error)).message).to.equal("home unreachable");
      expect(frames.state(0)).to.equal(PageState.INVALID);
      const c = dsm.fault(seg, 0, "read");
      expect(link.reads).to.have.length(2);
      link.reads[1].reply.resolve({ bytes: pageOf(3), version: 1, epoch: 1 });
      await c;
      expect(frames.state(0)).to.equal(PageState.READ);
    });

    it("should reject a page past the end of the segment", async () => {
      const f = dsm.fault(seg, 256, "read");
      link.reads[0].reply.resolve({ bytes: null, version: 0, epoch: 1 });
      await expectRejection(f, RangeError);
    });

    // Regression (found and fixed): ra-kernel/dsm-client.ts:85-91 keys in-flight fetches by page AND mode, so a read
    // fault and a write fault on the same INVALID page (two isibas in two workers) start two
    // fetches. If the write fetch lands first, its isiba may write the page; the read fetch
    // landing afterwards (line 104) reinstalls the home's old bytes over those writes and
    // lowers the page from WRITE to READ, breaking SegmentFrames' rule that frame bytes are
    // written only while the page is INVALID. The writer's dirty page is then written back
    // without its writes (a lost update). A fetch should not install over a page that is
    // already at or above the state it brings (or the read should join the write fetch).
    it("should not let a late read fetch overwrite a page a write fault already installed", async () => {
      const read = dsm.fault(seg, 0, "read");
      const write = dsm.fault(seg, 0, "write");
      expect(link.reads).to.have.length(2);
      link.reads[1].reply.resolve({ bytes: pageOf(0), version: 1, epoch: 1 });
      await write;
      new Uint8Array(frames.bytes)[0] = 42; // the writing isiba stores into its WRITE page
      link.reads[0].reply.resolve({ bytes: pageOf(0), version: 1, epoch: 1 });
      await read;
      expect(frames.state(0)).to.equal(PageState.WRITE);
      expect(frames.copyPage(0)[0]).to.equal(42);
    });
  });

  describe("invalidate", () => {
    it("should lower a cached page to INVALID so the next access faults it in again", async () => {
      const f = dsm.fault(seg, 4, "write");
      link.reads[0].reply.resolve({ bytes: pageOf(1), version: 1, epoch: 1 });
      await f;
      dsm.invalidate([{ segment: seg, page: 4 }]);
      expect(frames.state(4)).to.equal(PageState.INVALID);
      expect(dsm.counters.invalidations).to.equal(1);
      expect(dsm.cachedPages()).to.equal(0);
      const again = dsm.fault(seg, 4, "read");
      expect(link.reads).to.have.length(2);
      link.reads[1].reply.resolve({ bytes: pageOf(2), version: 2, epoch: 1 });
      await again;
      expect(frames.copyPage(4)).to.deep.equal(pageOf(2));
    });

    it("should ignore pages of segments that are not mapped here", () => {
      expect(() => dsm.invalidate([{ segment: newSysName(ds2), page: 0 }])).not.to.throw();
      expect(dsm.counters.invalidations).to.equal(1);
    });

    it("should retry a fetch that an invalidation overtook instead of installing the stale page", async () => {
      const f = dsm.fault(seg, 0, "read");
      const first = await link.read(0);
      dsm.invalidate([{ segment: seg, page: 0 }]);
      first.reply.resolve({ bytes: pageOf(0xaa), version: 1, epoch: 1 }); // stale: sent before the commit
      const retry = await link.read(1);
      expect(retry).to.include({ segment: seg, page: 0, mode: "read" });
      expect(frames.state(0)).to.equal(PageState.INVALID);
      expect(frames.copyPage(0)[0], "the stale page must not be installed").to.equal(0);
      expect(await isPending(f)).to.equal(true);
      retry.reply.resolve({ bytes: pageOf(0xbb), version: 2, epoch: 1 });
      await f;
      expect(frames.state(0)).to.equal(PageState.READ);
      expect(frames.copyPage(0)).to.deep.equal(pageOf(0xbb));
      expect(link.reads).to.have.length(2);
    });

    it("should not retry a fetch when another page was invalidated", async () => {
      const f = dsm.fault(seg, 0, "read");
      dsm.invalidate([{ segment: seg, page: 1 }]);
      link.reads[0].reply.resolve({ bytes: pageOf(1), version: 1, epoch: 1 });
      await f;
      expect(link.reads).to.have.length(1);
      expect(frames.state(0)).to.equal(PageState.READ);
    });

    it("should give up on a page that keeps being invalidated while it is fetched", async () => {
      const f = dsm.fault(seg, 0, "read");
      for (let i = 0; i < 8; i++) {
        const call = await link.read(i);
        dsm.invalidate([{ segment: seg, page: 0 }]);
        call.reply.resolve({ bytes: pageOf(i), version: i, epoch: 1 });
      }
      const err = await expectRejection(f, Error);
      expect(err.message).to.contain("kept being invalidated");
      expect(link.reads).to.have.length(8);
      expect(frames.state(0)).to.equal(PageState.INVALID);
    });
  });

  describe("writeBack", () => {
    it("should commit each home's dirty pages in one call and resolve when every home has", async () => {
      const seg2 = newSysName(ds1);
      const seg3 = newSysName(ds2);
      const f2 = dsm.framesOf(new Segment(seg2, "heap"));
      const f3 = dsm.framesOf(new Segment(seg3, "data"));
      frames.install(0, pageOf(1), PageState.WRITE);
      frames.install(2, pageOf(2), PageState.WRITE);
      f2.install(5, pageOf(3), PageState.WRITE);
      f3.install(1, pageOf(4), PageState.WRITE);

      const done = dsm.writeBack([
        { segment: seg, pages: [0, 2] },
        { segment: seg2, pages: [5] },
        { segment: seg3, pages: [1] },
      ]);
      const a = await link.commitCall(0);
      const b = await link.commitCall(1);
      expect(link.commits).to.have.length(2);
      const byHome = new Map([a, b].map((c) => [c.home, c]));
      expect(byHome.get(ds1)!.pages.map((p) => [p.segment, p.page, p.bytes[0]])).to.deep.equal([
        [seg, 0, 1],
        [seg, 2, 2],
        [seg2, 5, 3],
      ]);
      expect(byHome.get(ds2)!.pages.map((p) => [p.segment, p.page, p.bytes[0]])).to.deep.equal([[seg3, 1, 4]]);

      byHome.get(ds1)!.reply.resolve({ epoch: 1 });
      expect(await isPending(done), "must wait for ds2 too").to.equal(true);
      byHome.get(ds2)!.reply.resolve({ epoch: 1 });
      await done;
      expect(dsm.counters.pagesWrittenBack).to.equal(4);
      expect(dsm.counters.bytesOut).to.equal(4 * PAGE_SIZE);
    });

    it("should send copies, not views of the live frames", async () => {
      frames.install(0, pageOf(1), PageState.WRITE);
      const done = dsm.writeBack([{ segment: seg, pages: [0] }]);
      const call = await link.commitCall(0);
      new Uint8Array(frames.bytes)[0] = 99;
      expect(call.pages[0].bytes[0]).to.equal(1);
      call.reply.resolve({ epoch: 1 });
      await done;
    });

    it("should call no home for an empty dirty list", async () => {
      await dsm.writeBack([]);
      expect(link.commits).to.have.length(0);
    });

    it("should reject when a home fails to commit", async () => {
      frames.install(0, pageOf(1), PageState.WRITE);
      const done = dsm.writeBack([{ segment: seg, pages: [0] }]);
      (await link.commitCall(0)).reply.reject(new Error("disk full"));
      expect((await expectRejection(done, Error)).message).to.equal("disk full");
      expect(dsm.counters.pagesWrittenBack).to.equal(0);
    });
  });

  describe("noteEpoch", () => {
    let other: SegmentFrames;
    let otherSeg: SysName;

    /** Faults `page` of `segment` in, answered with `epoch`. */
    async function faultIn(segment: SysName, page: number, epoch: number): Promise<void> {
      const f = dsm.fault(segment, page, "read");
      link.reads[link.reads.length - 1].reply.resolve({ bytes: pageOf(page + 1), version: 1, epoch });
      await f;
    }

    beforeEach(() => {
      otherSeg = newSysName(ds2);
      other = dsm.framesOf(new Segment(otherSeg, "data"));
    });

    it("should keep pages while a home's epoch stays the same", async () => {
      await faultIn(seg, 0, 5);
      await faultIn(seg, 1, 5);
      dsm.noteEpoch(ds1, 5);
      expect(frames.pagesAtLeast(PageState.READ)).to.deep.equal([0, 1]);
      expect(dsm.cachedPages()).to.equal(2);
    });

    it("should drop every page of a restarted home's segments, and only those", async () => {
      const seg2 = newSysName(ds1);
      const f2 = dsm.framesOf(new Segment(seg2, "heap"));
      await faultIn(seg, 0, 5);
      await faultIn(seg, 1, 5);
      await faultIn(seg2, 3, 5);
      await faultIn(otherSeg, 0, 9);
      dsm.noteEpoch(ds1, 6);
      expect(frames.pagesAtLeast(PageState.READ)).to.deep.equal([]);
      expect(f2.pagesAtLeast(PageState.READ)).to.deep.equal([]);
      expect(other.pagesAtLeast(PageState.READ)).to.deep.equal([0]);
      expect(dsm.cachedPages()).to.equal(1);
    });

    it("should notice a new epoch on a fetch reply and keep the page that reply brought", async () => {
      await faultIn(seg, 0, 5);
      await faultIn(seg, 1, 6);
      expect(frames.state(0)).to.equal(PageState.INVALID);
      expect(frames.state(1)).to.equal(PageState.READ);
    });

    it("should notice a new epoch on a commit reply", async () => {
      await faultIn(seg, 0, 5);
      await faultIn(otherSeg, 0, 1);
      frames.install(2, pageOf(2), PageState.WRITE);
      const done = dsm.writeBack([{ segment: seg, pages: [2] }]);
      (await link.commitCall(0)).reply.resolve({ epoch: 7 });
      await done;
      expect(frames.pagesAtLeast(PageState.READ)).to.deep.equal([]);
      expect(other.state(0)).to.equal(PageState.READ);
    });

    it("should drop nothing on the first epoch it learns of a home", async () => {
      frames.install(0, pageOf(1), PageState.READ);
      dsm.noteEpoch(ds1, 3);
      expect(frames.state(0)).to.equal(PageState.READ);
    });
  });
});
