/**
 * Tests of the DSM client (ra-kernel/dsm-client.ts), the compute server's side of the IVY-style
 * protocol: faults fetched once and installed, upgrades (`same` grants keep the bytes), owned
 * pages rewritten without a message, recalls (downgrade / invalidate, racing the grant they
 * follow; stamps and `dirty`), reverts, commits of commit segments (PageLogs, never pages;
 * aborted when pages they relied on were dropped, refused by a home, or cut off), fencing of
 * faults and lease terms, and a home's epoch change.
 * The homes are a ScriptedHomeLink: every reply is given by the test, so each race is played
 * in a fixed order.
 */
import { expect } from "chai";
import { DsmClient } from "../../ra-kernel/dsm-client.js";
import type { RecallRequest } from "../../ra-kernel/home-link.js";
import { CommitOutcomeUnknownError, PagesLostError } from "../../ra-kernel/errors.js";
import { StaleEpochError } from "../../ra-kernel/errors.js";
import { newSysName, PAGE_SIZE, type PageNo, type ServerId, type SysName } from "../../ra-kernel/ids.js";
import { PageState } from "../../ra-kernel/page-state.js";
import { PageLog } from "../../ra-kernel/page-log.js";
import { Segment } from "../../ra-kernel/segment.js";
import { recordAt, W_PIN, W_WRITERS, type SegmentFrames } from "../../ra-kernel/segment-frames.js";
import { WriteLog } from "../../ra-kernel/write-log.js";
import { ServerUnreachableError } from "../../servers/transport/errors.js";
import { isPending } from "../support/deferred.js";
import { decoded, writeWholePage } from "../support/page-logs.js";
import { expectRejection } from "../support/expect-rejection.js";
import { applied, grant, refused, ScriptedHomeLink } from "../support/scripted-home-link.js";

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

  const counters = () => dsm.counters.total;

  /** Faults `page` of `segment` in `mode`, answered by the next fault call with `g`. */
  async function faultIn(segment: SysName, page: PageNo, mode: "read" | "write", version: number, bytes: Uint8Array | null, epoch = 1, more: Partial<Parameters<typeof grant>[2]> = {}): Promise<void> {
    const f = dsm.fault(segment, page, mode);
    const n = link.faults.length - 1;
    (await link.faultCall(n)).reply.resolve(grant(version, bytes, { epoch, ...more }));
    await f;
  }

  /** What an isiba does to a page it holds in WRITE state (no isiba runs here: it is quiesced). */
  function store(f: SegmentFrames, page: PageNo, bytes: Uint8Array): void {
    expect(f.state(page), "only a WRITE page may be written").to.equal(PageState.WRITE);
    f.install(page, bytes, PageState.WRITE);
  }

  /** An isiba's logged write of a whole page (test/support/page-logs.ts); returns its stamp. */
  function write(log: WriteLog, page: PageNo, bytes: Uint8Array, segment = seg, f = frames): number {
    return writeWholePage(log, f, segment, page, bytes);
  }

  function recall(page: PageNo, version: number, action: RecallRequest["action"], segment = seg, epoch = 1) {
    return dsm.recall({ segment, page, version, epoch, action });
  }

  function metaOf(page: PageNo, segment = seg) {
    return dsm.pagesOf([segment]).find((p) => p.page === page);
  }

  describe("fault", () => {
    it("should fetch a page once however many faults ask for it at once", async () => {
      const faults = [dsm.fault(seg, 3, "read"), dsm.fault(seg, 3, "read"), dsm.fault(seg, 3, "read")];
      expect(link.faults).to.have.length(1);
      expect(link.faults[0]).to.include({ home: ds1, segment: seg, page: 3, mode: "read", have: 0 });
      link.faults[0].reply.resolve(grant(1, pageOf(7)));
      await Promise.all(faults);
      expect(frames.state(3)).to.equal(PageState.READ);
      expect(frames.copyPage(3)).to.deep.equal(pageOf(7));
      expect(counters()).to.include({ readFaults: 3, fetches: 1, bytesIn: PAGE_SIZE });
      expect(link.faults).to.have.length(1);
    });

    it("should install a write grant in WRITE state and own the page", async () => {
      await faultIn(seg, 2, "write", 4, pageOf(9));
      expect(link.faults[0]).to.include({ mode: "write", have: 0 });
      expect(frames.state(2)).to.equal(PageState.WRITE);
      expect(frames.copyPage(2)).to.deep.equal(pageOf(9));
      expect(metaOf(2)).to.deep.equal({ segment: seg, page: 2, state: "write", version: 4, owned: true, workingSet: false });
    });

    it("should install zeros for a page its home never stored", async () => {
      frames.install(0, pageOf(0xaa), PageState.INVALID);
      await faultIn(seg, 0, "read", 1, null);
      expect(frames.state(0)).to.equal(PageState.READ);
      expect(frames.copyPage(0)).to.deep.equal(pageOf(0));
    });

    it("should upgrade a READ copy with a `same` grant, keeping its bytes", async () => {
      await faultIn(seg, 1, "read", 3, pageOf(5));
      const f = dsm.fault(seg, 1, "write");
      const call = await link.faultCall(1);
      expect(call).to.include({ mode: "write", have: 3 });
      call.reply.resolve(grant(4, null, { same: true }));
      await f;
      expect(frames.state(1)).to.equal(PageState.WRITE);
      expect(frames.copyPage(1), "a same grant carries no bytes: ours stay").to.deep.equal(pageOf(5));
      expect(metaOf(1)).to.include({ version: 4, owned: true });
      expect(counters()).to.include({ upgrades: 1, bytesIn: PAGE_SIZE });
    });

    it("should install the bytes of an upgrade the home answers with a newer page", async () => {
      await faultIn(seg, 1, "read", 3, pageOf(5));
      await faultIn(seg, 1, "write", 6, pageOf(6));
      expect(frames.state(1)).to.equal(PageState.WRITE);
      expect(frames.copyPage(1)).to.deep.equal(pageOf(6));
      expect(counters().upgrades).to.equal(0);
    });

    it("should rewrite a page it still owns without any message", async () => {
      await faultIn(seg, 0, "write", 2, pageOf(1));
      frames.setState(0, PageState.READ); // lowered here while still owned
      await dsm.fault(seg, 0, "write");
      expect(link.faults).to.have.length(1);
      expect(frames.state(0)).to.equal(PageState.WRITE);
      expect(counters().ownedRewrites).to.equal(1);
    });

    it("should keep a page writable while a commit of its words is in flight: no copy, no message", async () => {
      await faultIn(seg, 0, "write", 2, pageOf(1));
      const log = new WriteLog(dsm.dropMark);
      write(log, 0, pageOf(2));
      const done = dsm.commit(log.take(), log.since);
      await link.commitCall(0);
      expect(frames.state(0), "a commit sends the log: the page is never lowered").to.equal(PageState.WRITE);
      await dsm.fault(seg, 0, "write");
      expect(link.faults).to.have.length(1);
      link.commits[0].reply.resolve(applied());
      await done;
      expect(frames.state(0)).to.equal(PageState.WRITE);
    });

    it("should fetch a read and a write fault on one page one after the other", async () => {
      const read = dsm.fault(seg, 0, "read");
      const write = dsm.fault(seg, 0, "write");
      expect(link.faults, "the write waits for the fetch in flight").to.have.length(1);
      link.faults[0].reply.resolve(grant(1, pageOf(3)));
      await read;
      const upgrade = await link.faultCall(1);
      expect(upgrade).to.include({ mode: "write", have: 1 });
      upgrade.reply.resolve(grant(2, null, { same: true }));
      await write;
      expect(frames.state(0)).to.equal(PageState.WRITE);
      expect(frames.copyPage(0)).to.deep.equal(pageOf(3));
    });

    it("should ignore a grant older than its copy and ask again", async () => {
      await faultIn(seg, 0, "read", 5, pageOf(5));
      const f = dsm.fault(seg, 0, "write");
      (await link.faultCall(1)).reply.resolve(grant(3, pageOf(3)));
      const again = await link.faultCall(2);
      expect(frames.copyPage(0), "the stale page must not be installed").to.deep.equal(pageOf(5));
      expect(again).to.include({ mode: "write", have: 5 });
      again.reply.resolve(grant(6, null, { same: true }));
      await f;
      expect(frames.state(0)).to.equal(PageState.WRITE);
      expect(metaOf(0)).to.include({ version: 6, owned: true });
    });

    it("should ignore a `same` grant when it has no copy to keep", async () => {
      const f = dsm.fault(seg, 0, "read");
      (await link.faultCall(0)).reply.resolve(grant(2, null, { same: true }));
      const again = await link.faultCall(1);
      expect(frames.state(0)).to.equal(PageState.INVALID);
      again.reply.resolve(grant(2, pageOf(2)));
      await f;
      expect(frames.copyPage(0)).to.deep.equal(pageOf(2));
    });

    it("should give up on a page whose grants keep being stale", async () => {
      await faultIn(seg, 0, "read", 100, pageOf(1));
      const f = dsm.fault(seg, 0, "write");
      f.catch(() => undefined);
      for (let i = 1; i <= 64; i++) (await link.faultCall(i)).reply.resolve(grant(1, pageOf(9)));
      const err = await expectRejection(f, Error);
      expect(err.message).to.contain("kept being taken away");
      expect(link.faults).to.have.length(65);
      expect(frames.state(0)).to.equal(PageState.READ);
    });

    it("should reject a fault on a segment that is not mapped here", async () => {
      const other = newSysName(ds1);
      const err = await expectRejection(dsm.fault(other, 0, "read"), Error);
      expect(err.message).to.contain(other).and.to.contain("not mapped");
      expect(link.faults).to.have.length(0);
    });

    // BUG (ra-kernel/dsm-client.ts, fault(): `await m.busy.catch(() => undefined)`): a fault
    // that waited for another's fetch swallows that fetch's error and fetches again itself, so
    // N isibas faulting one page of an unreachable home ask it N times, one after the other
    // (each up to the request timeout), instead of all failing with the one error.
    it("should reject every waiter when the home fails, and fetch afresh on the next fault", async () => {
      const a = dsm.fault(seg, 0, "read");
      const b = dsm.fault(seg, 0, "read");
      b.catch(() => undefined);
      link.faults[0].reply.reject(new Error("home unreachable"));
      expect((await expectRejection(a, Error)).message).to.equal("home unreachable");
      const retried = link.faults.length > 1;
      if (retried) link.faults[1].reply.reject(new Error("home unreachable"));
      expect(retried, "the waiting fault asked the home again instead of sharing the failure").to.equal(false);
      expect((await expectRejection(b, Error)).message).to.equal("home unreachable");
      expect(frames.state(0)).to.equal(PageState.INVALID);
      const c = dsm.fault(seg, 0, "read");
      expect(link.faults).to.have.length(2);
      link.faults[1].reply.resolve(grant(1, pageOf(3)));
      await c;
      expect(frames.state(0)).to.equal(PageState.READ);
    });

    it("should reject a page past the end of the segment", async () => {
      const f = dsm.fault(seg, 256, "read");
      (await link.faultCall(0)).reply.resolve(grant(1, null));
      await expectRejection(f, RangeError);
    });

    it("should stamp writes above the stamp its grant carried", async () => {
      await faultIn(seg, 0, "write", 2, pageOf(1), 1, { stamp: 41 });
      expect(frames.stamp(0)).to.equal(41);
      await faultIn(seg, 1, "read", 2, pageOf(1), 1, { stamp: 7 });
      expect(frames.stamp(1)).to.equal(7);
      await faultIn(seg, 0, "read", 3, pageOf(1), 1, { stamp: 12 });
      expect(frames.stamp(0), "a stamp never goes down").to.equal(41);
    });

    it("should fail at once the fault of a segment that began before its home's pages were dropped (fencing)", async () => {
      await faultIn(seg, 0, "read", 2, pageOf(1));
      const since = dsm.dropMark;
      dsm.dropHome(ds1, "the connection to it closed");
      const err = await expectRejection(dsm.fault(seg, 0, "read", since), PagesLostError);
      expect(err.server).to.equal(ds1);
      expect(err.message).to.contain("NOT applied");
      expect(link.faults, "no message for a doomed segment").to.have.length(1);
      const later = dsm.fault(seg, 0, "read", dsm.dropMark);
      (await link.faultCall(1)).reply.resolve(grant(3, pageOf(2)));
      await later;
      expect(frames.copyPage(0), "a segment begun after the drop faults as usual").to.deep.equal(pageOf(2));
    });

    it("should not install a grant whose home's pages were dropped while it waited for readers to leave", async () => {
      await faultIn(seg, 1, "read", 3, pageOf(5));
      const pins = frames.records();
      Atomics.add(pins, recordAt(1, W_PIN), 1); // a reader is still in the page: the upgrade's install must wait
      const f = dsm.fault(seg, 1, "write");
      (await link.faultCall(1)).reply.resolve(grant(4, pageOf(6)));
      await new Promise((resolve) => setImmediate(resolve));
      dsm.dropHome(ds1, "the connection to it closed"); // lands while the grant waits
      Atomics.sub(pins, recordAt(1, W_PIN), 1);
      const again = await link.faultCall(2);
      expect(again, "fetched again: the dropped grant was never installed").to.include({ mode: "write", have: 0 });
      again.reply.resolve(grant(1, pageOf(7), { epoch: 2 }));
      await f;
      expect(frames.copyPage(1)).to.deep.equal(pageOf(7));
      expect(metaOf(1)).to.include({ version: 1, owned: true });
    });

    it("should not install a grant sent before its home's pages were dropped", async () => {
      const f = dsm.fault(seg, 0, "read");
      const first = await link.faultCall(0);
      dsm.dropHome(ds1, "its lease ran out");
      first.reply.resolve(grant(2, pageOf(1)));
      const again = await link.faultCall(1);
      again.reply.resolve(grant(3, pageOf(2)));
      await f;
      expect(frames.copyPage(0)).to.deep.equal(pageOf(2));
      expect(metaOf(0)).to.include({ version: 3 });
    });

    it("should not fence faults on pages of another home", async () => {
      const other = newSysName(ds2);
      const f2 = dsm.framesOf(new Segment(other, "data"));
      const since = dsm.dropMark;
      dsm.dropHome(ds1, "test");
      const f = dsm.fault(other, 0, "read", since);
      (await link.faultCall(0)).reply.resolve(grant(1, pageOf(5)));
      await f;
      expect(f2.state(0)).to.equal(PageState.READ);
    });

    it("should count faults and fetches per object", async () => {
      const object = newSysName(ds1);
      const s2 = newSysName(ds1);
      dsm.framesOf(new Segment(s2, "heap"), object);
      await faultIn(s2, 0, "write", 2, pageOf(1));
      expect(dsm.counters.of(object)).to.include({ writeFaults: 1, fetches: 1, bytesIn: PAGE_SIZE });
      expect(dsm.objectOf(s2)).to.equal(object);
      expect(dsm.faultLatency.count).to.be.greaterThan(0);
    });
  });

  describe("recall", () => {
    const none = (stamp = 0) => ({ held: false, bytes: null, stamp, dirty: false });

    it("should drop a read copy on an invalidation, sending no bytes", async () => {
      await faultIn(seg, 4, "read", 2, pageOf(1));
      expect(await recall(4, 2, "invalidate")).to.deep.equal({ held: true, bytes: null, stamp: 0, dirty: false });
      expect(frames.state(4)).to.equal(PageState.INVALID);
      expect(dsm.cachedPages()).to.equal(0);
      expect(counters()).to.include({ invalidationsReceived: 1, recallsReceived: 0, bytesOut: 0 });
      const again = dsm.fault(seg, 4, "read");
      expect((await link.faultCall(1)).have, "no usable copy left").to.equal(0);
      link.faults[1].reply.resolve(grant(3, pageOf(2)));
      await again;
      expect(frames.copyPage(4)).to.deep.equal(pageOf(2));
    });

    it("should send an owned page's bytes and keep it read-only on a downgrade", async () => {
      await faultIn(seg, 0, "write", 2, pageOf(0));
      store(frames, 0, pageOf(42));
      const r = await recall(0, 2, "downgrade");
      expect(r).to.deep.equal({ held: true, bytes: pageOf(42), stamp: 0, dirty: false });
      expect(frames.state(0)).to.equal(PageState.READ);
      expect(metaOf(0)).to.include({ version: 2, owned: false });
      expect(counters()).to.include({ recallsReceived: 1, bytesOut: PAGE_SIZE });
      const f = dsm.fault(seg, 0, "write");
      expect((await link.faultCall(1)).have, "writing again needs the home").to.equal(2);
      link.faults[1].reply.resolve(grant(3, null, { same: true }));
      await f;
      expect(frames.copyPage(0)).to.deep.equal(pageOf(42));
    });

    it("should let its grant of the replaced version land before answering a refresh, and send the owner's bytes", async () => {
      const f = dsm.fault(seg, 0, "write");
      const call = await link.faultCall(0);
      const refreshed = dsm.recall({ segment: seg, page: 0, version: 3, epoch: 1, action: "refresh", current: 2 });
      expect(await isPending(refreshed), "the grant of v2 is on its way: not lost").to.equal(true);
      call.reply.resolve(grant(2, pageOf(5)));
      await f;
      expect(await refreshed).to.deep.equal({ held: true, bytes: pageOf(5), stamp: 0, dirty: false });
      expect(frames.state(0), "dropped").to.equal(PageState.INVALID);
    });

    it("should send an owned page's bytes and drop it on an invalidation", async () => {
      await faultIn(seg, 0, "write", 2, pageOf(0));
      store(frames, 0, pageOf(7));
      expect(await recall(0, 2, "invalidate")).to.deep.equal({ held: true, bytes: pageOf(7), stamp: 0, dirty: false });
      expect(frames.state(0)).to.equal(PageState.INVALID);
      expect(metaOf(0), "nothing held any more: not listed").to.equal(undefined);
    });

    it("should tell the home the copy's stamp and that it holds writes not committed yet, until their commit is answered", async () => {
      await faultIn(seg, 0, "write", 2, pageOf(0), 1, { stamp: 10 });
      const log = new WriteLog(dsm.dropMark);
      expect(write(log, 0, pageOf(3))).to.equal(11);
      expect(await recall(0, 2, "downgrade")).to.deep.equal({ held: true, bytes: pageOf(3), stamp: 11, dirty: true });
      const done = dsm.commit(log.take(), log.since);
      const call = await link.commitCall(0);
      expect(call.pages[0], "no other segment here wrote it; sent at stamp 11").to.include({ left: 0, stamp: 11 });
      expect(await recall(0, 2, "invalidate"), "its commit is on its way, and may yet be refused").to.deep.equal({ held: true, bytes: null, stamp: 11, dirty: true });
      call.reply.resolve(applied());
      await done;
      expect(frames.writersOf(0)).to.equal(0);
      await faultIn(seg, 0, "read", 4, pageOf(3), 1, { stamp: 11 });
      expect(await recall(0, 4, "invalidate"), "answered: nothing uncommitted here").to.deep.equal({ held: true, bytes: null, stamp: 11, dirty: false });
    });

    it("should count a page dirty while another segment that wrote it has not committed", async () => {
      await faultIn(seg, 0, "write", 2, pageOf(0));
      const first = new WriteLog(dsm.dropMark);
      const second = new WriteLog(dsm.dropMark);
      write(first, 0, pageOf(1));
      write(second, 0, pageOf(2));
      expect(frames.writersOf(0)).to.equal(2);
      const done = dsm.commit(first.take(), first.since);
      const call = await link.commitCall(0);
      expect(call.pages[0].left, "the second segment still has writes in the page").to.equal(1);
      expect(await recall(0, 2, "downgrade")).to.include({ held: true, dirty: true });
      call.reply.resolve(applied());
      await done;
      expect(frames.writersOf(0)).to.equal(1);
    });

    it("should answer held:false for a version it does not have", async () => {
      expect(await recall(0, 1, "invalidate"), "never fetched").to.deep.equal(none());
      await faultIn(seg, 0, "read", 3, pageOf(3));
      expect(await recall(0, 2, "invalidate"), "older").to.deep.equal(none());
      expect(await recall(0, 4, "invalidate"), "newer, nothing in flight").to.deep.equal(none());
      expect(frames.state(0)).to.equal(PageState.READ);
      expect(await dsm.recall({ segment: newSysName(ds1), page: 0, version: 1, epoch: 1, action: "invalidate" }), "unmapped").to.deep.equal(none());
      expect(counters()).to.include({ invalidationsReceived: 0, recallsReceived: 0 });
    });

    it("should let a recall that overtook its grant wait for the fetch in flight, then answer", async () => {
      const f = dsm.fault(seg, 0, "write");
      const call = await link.faultCall(0);
      const r = recall(0, 2, "downgrade"); // the home granted v2, then recalled it; the grant is still on its way
      expect(await isPending(r), "must wait for the grant").to.equal(true);
      call.reply.resolve(grant(2, pageOf(4)));
      await f;
      expect(await r).to.deep.equal({ held: true, bytes: pageOf(4), stamp: 0, dirty: false });
      expect(frames.state(0)).to.equal(PageState.READ);
      expect(metaOf(0)).to.include({ version: 2, owned: false });
    });

    it("should let a recall of a version granted again after its invalidation wait for that grant, then drop it", async () => {
      await faultIn(seg, 0, "read", 2, pageOf(1));
      expect(await recall(0, 2, "invalidate")).to.include({ held: true });
      // The write fault that invalidated us gave the page's lock back (a revert first), and
      // our next read fault got v2 again; that write fault now invalidates v2 once more.
      const f = dsm.fault(seg, 0, "read");
      const call = await link.faultCall(1);
      const r = recall(0, 2, "invalidate");
      expect(await isPending(r), "the second grant of v2 is on its way: wait for it").to.equal(true);
      call.reply.resolve(grant(2, pageOf(9)));
      await f;
      expect(await r).to.include({ held: true });
      expect(frames.state(0), "no copy the home thinks gone may stay readable").to.equal(PageState.INVALID);
      expect(metaOf(0)?.version ?? 0).to.equal(0);
    });

    it("should answer held:false when the fetch it waited for failed", async () => {
      const f = dsm.fault(seg, 0, "read");
      f.catch(() => undefined);
      const call = await link.faultCall(0);
      const r = recall(0, 1, "invalidate");
      call.reply.reject(new Error("home unreachable"));
      expect(await r).to.deep.equal(none());
      await expectRejection(f, Error);
    });

    it("should drop the home's pages when a recall carries a new epoch", async () => {
      await faultIn(seg, 0, "read", 2, pageOf(1));
      expect(await recall(0, 2, "invalidate", seg, 2)).to.deep.equal(none());
      expect(frames.state(0)).to.equal(PageState.INVALID);
    });
  });

  describe("revert", () => {
    it("should drop the copy and doom the segments that wrote the page: their commit is an abort", async () => {
      await faultIn(seg, 0, "write", 2, pageOf(0));
      const log = new WriteLog(dsm.dropMark);
      write(log, 0, pageOf(5));
      expect(await recall(0, 3, "revert")).to.deep.equal({ held: true, bytes: null, stamp: 1, dirty: true });
      expect(frames.state(0)).to.equal(PageState.INVALID);
      expect(metaOf(0)).to.equal(undefined);
      expect(counters().revertsReceived).to.equal(1);
      const done = dsm.commit(log.take(), log.since);
      const call = await link.commitCall(0);
      expect(call.abort, "the home must apply none of it and revert what it wrote").to.equal(true);
      call.reply.resolve(refused("gave the segment up"));
      const err = await expectRejection(done, PagesLostError);
      expect(err.message).to.contain("NOT applied");
      expect(counters().segmentsAborted).to.equal(1);
    });

    it("should doom nothing when no segment here wrote the page", async () => {
      await faultIn(seg, 0, "read", 2, pageOf(1));
      await faultIn(seg, 1, "write", 2, pageOf(1));
      const log = new WriteLog(dsm.dropMark);
      write(log, 1, pageOf(6));
      expect(await recall(0, 3, "revert")).to.deep.equal({ held: true, bytes: null, stamp: 0, dirty: false });
      const done = dsm.commit(log.take(), log.since);
      const call = await link.commitCall(0);
      expect(call.abort).to.equal(false);
      call.reply.resolve(applied());
      await done;
    });

    it("should answer at once while a fetch of the page is in flight, and ignore grants older than the revert", async () => {
      const f = dsm.fault(seg, 0, "read");
      const call = await link.faultCall(0);
      const r = recall(0, 5, "revert");
      expect(await isPending(r), "the fetch may be queued at the home behind this revert").to.equal(false);
      expect(await r).to.include({ held: false, dirty: false });
      call.reply.resolve(grant(4, pageOf(4)));
      const again = await link.faultCall(1);
      expect(frames.state(0), "the stale grant is not installed").to.equal(PageState.INVALID);
      again.reply.resolve(grant(6, pageOf(6)));
      await f;
      expect(frames.copyPage(0)).to.deep.equal(pageOf(6));
    });
  });

  describe("commit", () => {
    it("should carry the home's count of refused commits of the object, and abort segments of it begun before a refusal", async () => {
      const obj = newSysName(ds1), s2 = newSysName(ds1);
      const f2 = dsm.framesOf(new Segment(s2, "data"), obj);
      await faultIn(s2, 0, "write", 1, null);
      const first = new WriteLog(dsm.dropMark);
      write(first, 0, pageOf(1), s2, f2);
      const c1 = dsm.commit(first.take(), first.since);
      const next = new WriteLog(dsm.dropMark); // begun before the refusal: it may have read first's words
      const call0 = await link.commitCall(0);
      expect(call0.seen, "nothing refused yet").to.equal(0);
      call0.reply.resolve({ ...refused("fenced by the test"), refused: 1 });
      await expectRejection(c1, PagesLostError);
      write(next, 0, pageOf(2), s2, f2);
      const c2 = dsm.commit(next.take(), next.since);
      const call1 = await link.commitCall(1);
      expect(call1.abort, "aborted here, whatever the home would say").to.equal(true);
      call1.reply.resolve({ ...refused("aborted by its writer"), refused: 2 });
      await expectRejection(c2, PagesLostError);
      const later = new WriteLog(dsm.dropMark);
      write(later, 0, pageOf(3), s2, f2);
      const c3 = dsm.commit(later.take(), later.since);
      const call2 = await link.commitCall(2);
      expect([call2.abort, call2.seen], "begun after it learned: sent, with the count").to.deep.equal([false, 2]);
      call2.reply.resolve(applied());
      await c3;
    });

    it("should send each page's PageLog with the epoch and lease term, and wait for the home", async () => {
      await faultIn(seg, 0, "write", 2, pageOf(0), 5, { term: 3, stamp: 20 });
      const log = new WriteLog(dsm.dropMark);
      write(log, 0, pageOf(9));
      expect(frames.writersOf(0)).to.equal(1);
      const done = dsm.commit(log.take(), log.since);
      const call = await link.commitCall(0);
      expect(call).to.include({ home: ds1, epoch: 5, term: 3, abort: false });
      expect(call.pages.map((p) => [p.segment, p.page, p.left])).to.deep.equal([[seg, 0, 0]]);
      expect(call.pages[0].log).to.deep.equal(PageLog.ofPage(pageOf(9), 21).encode());
      expect(await isPending(done), "must wait for the commit").to.equal(true);
      call.reply.resolve(applied(5));
      await done;
      expect(frames.state(0)).to.equal(PageState.WRITE);
      expect(frames.writersOf(0), "counted off once answered").to.equal(0);
      expect(counters()).to.include({ segmentsCommitted: 1, pagesWrittenBack: 1, bytesOut: call.pages[0].log.length });
    });

    it("should send a page several segments wrote once, their logs merged, and count off every writer (an atomic thread's frames)", async () => {
      await faultIn(seg, 0, "write", 2, pageOf(0), 1, { stamp: 20 });
      const frame1 = new WriteLog(dsm.dropMark), frame2 = new WriteLog(dsm.dropMark);
      write(frame1, 0, pageOf(1));
      write(frame2, 0, pageOf(2));
      expect(frames.writersOf(0)).to.equal(2);
      const done = dsm.commit([...frame1.take(), ...frame2.take()], frame1.since);
      const call = await link.commitCall(0);
      expect(call.pages.map((p) => [p.page, p.left]), "one entry, no writer of ours left outside it").to.deep.equal([[0, 0]]);
      expect(call.pages[0].log).to.deep.equal(PageLog.ofPage(pageOf(2), 22).encode());
      call.reply.resolve(applied());
      await done;
      expect(frames.writersOf(0), "both writers counted off").to.equal(0);
    });

    it("should send only the words the segment wrote", async () => {
      await faultIn(seg, 0, "write", 2, pageOf(0));
      const log = new WriteLog(dsm.dropMark);
      const bytes = pageOf(0);
      bytes.set([1, 2, 3, 4], 8);
      store(frames, 0, bytes);
      frames.raiseStamp(0, 1);
      log.pageLog(seg, 0, frames.records(), recordAt(0, W_WRITERS)).record(bytes, 0, 8, 12, 1);
      const done = dsm.commit(log.take(), log.since);
      const call = await link.commitCall(0);
      expect(call.pages[0].log.length, "one word").to.equal(8 + 14);
      expect(decoded(call.pages[0].log).page).to.deep.equal(bytes);
      call.reply.resolve(applied());
      await done;
    });

    it("should commit each home's part in one call and resolve when every home has", async () => {
      const seg2 = newSysName(ds1);
      const seg3 = newSysName(ds2);
      const f2 = dsm.framesOf(new Segment(seg2, "heap"));
      const f3 = dsm.framesOf(new Segment(seg3, "data"));
      await faultIn(seg, 0, "write", 2, pageOf(0));
      await faultIn(seg, 2, "write", 2, pageOf(0));
      await faultIn(seg2, 5, "write", 2, pageOf(0));
      await faultIn(seg3, 1, "write", 2, pageOf(0));
      const log = new WriteLog(dsm.dropMark);
      write(log, 2, pageOf(2));
      write(log, 0, pageOf(1));
      write(log, 5, pageOf(3), seg2, f2);
      write(log, 1, pageOf(4), seg3, f3);
      const done = dsm.commit(log.take(), log.since);
      const [a, b] = [await link.commitCall(0), await link.commitCall(1)];
      expect(link.commits).to.have.length(2);
      const byHome = new Map([a, b].map((c) => [c.home, c]));
      const firstBytes = (c: typeof a) => c.pages.map((p) => [p.segment, p.page, decoded(p.log).page[0]]);
      expect(firstBytes(byHome.get(ds1)!)).to.deep.equal([[seg, 0, 1], [seg, 2, 2], [seg2, 5, 3]]);
      expect(firstBytes(byHome.get(ds2)!)).to.deep.equal([[seg3, 1, 4]]);
      byHome.get(ds1)!.reply.resolve(applied());
      expect(await isPending(done), "must wait for ds2 too").to.equal(true);
      byHome.get(ds2)!.reply.resolve(applied());
      await done;
      expect(counters().pagesWrittenBack).to.equal(4);
    });

    it("should commit the words a segment wrote to a page that was recalled away since", async () => {
      await faultIn(seg, 0, "write", 2, pageOf(1));
      const log = new WriteLog(dsm.dropMark);
      write(log, 0, pageOf(8));
      await recall(0, 2, "invalidate");
      const done = dsm.commit(log.take(), log.since);
      const call = await link.commitCall(0);
      expect(call.abort, "the page went home with its bytes: nothing was lost").to.equal(false);
      expect(decoded(call.pages[0].log).page).to.deep.equal(pageOf(8));
      call.reply.resolve(applied());
      await done;
    });

    it("should call no home for an empty segment", async () => {
      await dsm.commit([]);
      await dsm.commit(new WriteLog(dsm.dropMark).take());
      expect(link.commits).to.have.length(0);
    });

    it("should throw PagesLostError with the home's reason when a home refuses the segment", async () => {
      await faultIn(seg, 0, "write", 2, pageOf(1));
      const log = new WriteLog(dsm.dropMark);
      write(log, 0, pageOf(2));
      const done = dsm.commit(log.take(), log.since);
      (await link.commitCall(0)).reply.resolve(refused("the lease term 1 of cs1 is over (now 2)"));
      const err = await expectRejection(done, PagesLostError);
      expect(err).to.include({ server: ds1, pages: 1 });
      expect(err.message).to.contain("NOT applied").and.to.contain("lease term 1");
      expect(frames.writersOf(0)).to.equal(0);
      expect(counters()).to.include({ segmentsAborted: 1, segmentsCommitted: 0 });
    });

    it("should pass on a home's own error, counting the page's writer off", async () => {
      await faultIn(seg, 0, "write", 2, pageOf(1));
      const log = new WriteLog(dsm.dropMark);
      write(log, 0, pageOf(2));
      const done = dsm.commit(log.take(), log.since);
      const refusal = new StaleEpochError("data server ds1 restarted", { server: ds1, epoch: 1, current: 1 });
      (await link.commitCall(0)).reply.reject(refusal);
      expect(await expectRejection(done, StaleEpochError)).to.equal(refusal);
      expect(frames.writersOf(0)).to.equal(0);
      expect(counters().pagesWrittenBack).to.equal(0);
    });

    it("should reject with CommitOutcomeUnknownError when the home could not answer", async () => {
      await faultIn(seg, 0, "write", 2, pageOf(1));
      const log = new WriteLog(dsm.dropMark);
      write(log, 0, pageOf(2));
      const done = dsm.commit(log.take(), log.since);
      (await link.commitCall(0)).reply.reject(new Error("socket hang up"));
      const err = await expectRejection(done, CommitOutcomeUnknownError);
      expect(err.server).to.equal(ds1);
      expect(err.message).to.contain("may or may not");
      expect(frames.writersOf(0)).to.equal(0);
    });

    // The transport's own errors are CloudsErrors too (servers/transport/errors.ts): a commit whose
    // connection closed or timed out must not pass for a home's verdict.
    it("should reject with CommitOutcomeUnknownError when the connection to the home closed mid-commit", async () => {
      await faultIn(seg, 0, "write", 2, pageOf(1));
      const log = new WriteLog(dsm.dropMark);
      write(log, 0, pageOf(2));
      const done = dsm.commit(log.take(), log.since);
      (await link.commitCall(0)).reply.reject(new ServerUnreachableError("connection to ds1 closed", { peer: ds1, address: "mem:ds1:1" }));
      const err = await expectRejection(done, CommitOutcomeUnknownError);
      expect(err.server).to.equal(ds1);
    });

    it("should abort a segment that relied on pages dropped since it began, at every home it wrote, naming the home that dropped them", async () => {
      const seg3 = newSysName(ds2);
      const f3 = dsm.framesOf(new Segment(seg3, "data"));
      await faultIn(seg, 0, "write", 2, pageOf(1));
      await faultIn(seg3, 1, "write", 2, pageOf(2));
      const log = new WriteLog(dsm.dropMark);
      write(log, 1, pageOf(3), seg3, f3);
      write(log, 0, pageOf(4));
      dsm.dropHome(ds1, "the connection to it closed");
      expect(frames.state(0)).to.equal(PageState.INVALID);
      const done = dsm.commit(log.take(), log.since);
      const calls = [await link.commitCall(0), await link.commitCall(1)];
      expect(calls.map((c) => [c.home, c.abort]).sort()).to.deep.equal([[ds1, true], [ds2, true]]);
      for (const c of calls) c.reply.resolve(refused(`${c.home}: given up by its writer`));
      const err = await expectRejection(done, PagesLostError);
      expect(err.server).to.equal(ds1);
      expect(err.message).to.contain("NOT applied").and.to.contain("ds1");
    });

    it("should abort a broken segment (a page fault failed inside it), whatever it holds, saying why", async () => {
      await faultIn(seg, 0, "write", 2, pageOf(1));
      const log = new WriteLog(dsm.dropMark);
      write(log, 0, pageOf(2));
      const done = dsm.commit(log.take(), log.since, "a page fault failed inside it (PageFaultError: ds1 unreachable)");
      const call = await link.commitCall(0);
      expect(call.abort, "half-done accesses are never applied").to.equal(true);
      call.reply.resolve(refused("given up"));
      const err = await expectRejection(done, PagesLostError);
      expect(err.message).to.contain("NOT applied").and.to.contain("a page fault failed inside it");
    });

    it("should abort a segment that wrote a page it no longer owned when the home was dropped", async () => {
      await faultIn(seg, 0, "write", 2, pageOf(1));
      const log = new WriteLog(dsm.dropMark);
      write(log, 0, pageOf(2));
      await recall(0, 2, "downgrade");
      dsm.dropHome(ds1, "its lease ran out");
      const done = dsm.commit(log.take(), log.since);
      const call = await link.commitCall(0);
      expect(call.abort, "its words are in a copy the home may have to revert").to.equal(true);
      call.reply.resolve(refused("given up"));
      await expectRejection(done, PagesLostError);
    });

    it("should throw PagesLostError for an aborted segment even when its home cannot be told", async () => {
      await faultIn(seg, 0, "write", 2, pageOf(1));
      const log = new WriteLog(dsm.dropMark);
      write(log, 0, pageOf(2));
      dsm.dropHome(ds1, "the connection to it closed");
      const done = dsm.commit(log.take(), log.since);
      (await link.commitCall(0)).reply.reject(new Error("not connected"));
      const err = await expectRejection(done, PagesLostError);
      expect(err.message, "nothing of an aborted segment can be applied").to.contain("NOT applied");
    });

    it("should not abort a segment that began after the pages were dropped", async () => {
      await faultIn(seg, 0, "write", 2, pageOf(1));
      dsm.dropHome(ds1, "test");
      const log = new WriteLog(dsm.dropMark);
      await faultIn(seg, 0, "write", 3, pageOf(2));
      write(log, 0, pageOf(3));
      const done = dsm.commit(log.take(), log.since);
      const call = await link.commitCall(0);
      expect(call.abort).to.equal(false);
      call.reply.resolve(applied());
      await done;
    });
  });

  describe("abandon", () => {
    it("should take a dead worker's counts off and have the home abort its pages, dooming other segments that wrote them", async () => {
      await faultIn(seg, 0, "write", 2, pageOf(0), 4, { term: 2 });
      await faultIn(seg, 1, "write", 2, pageOf(0), 4, { term: 2 });
      const live = new WriteLog(dsm.dropMark);
      write(live, 0, pageOf(3));
      frames.addWriter(0); // the dead worker's segment wrote page 0
      frames.addWriter(1); // and page 1
      const done = dsm.abandon([{ frames, page: 0 }, { frames, page: 1 }], false, "worker died");
      const call = await link.commitCall(0);
      expect(call).to.include({ home: ds1, epoch: 4, term: 2, abort: true });
      expect(call.pages.map((p) => [p.page, decoded(p.log).max])).to.deep.equal([[0, 0], [1, 0]]);
      expect([frames.writersOf(0), frames.writersOf(1)], "only the live segment's count is left").to.deep.equal([1, 0]);
      expect(await isPending(done), "the dead isibas fail (and unlock) only once the home answered").to.equal(true);
      call.reply.resolve(refused("aborted", 4));
      await done;
      const commit = dsm.commit(live.take(), live.since);
      const abort = await link.commitCall(1);
      expect(abort.abort, "its copy of page 0 holds the dead worker's words").to.equal(true);
      abort.reply.resolve(refused("aborted", 4));
      await expectRejection(commit, PagesLostError);
    });

    it("should abort every page written here when the ledger overflowed", async () => {
      await faultIn(seg, 0, "write", 2, pageOf(0));
      await faultIn(seg, 3, "write", 2, pageOf(0));
      frames.addWriter(3);
      const done = dsm.abandon([], true, "worker died");
      const call = await link.commitCall(0);
      expect(call.pages.map((p) => p.page)).to.deep.equal([3]);
      call.reply.resolve(refused("aborted"));
      await done;
    });

    it("should resolve even if the home cannot be told", async () => {
      await faultIn(seg, 0, "write", 2, pageOf(0));
      frames.addWriter(0);
      const done = dsm.abandon([{ frames, page: 0 }], false, "worker died");
      (await link.commitCall(0)).reply.reject(new Error("connection closed"));
      await done;
      expect(frames.writersOf(0)).to.equal(0);
    });
  });

  describe("noteTerm", () => {
    it("should drop a home's pages when a grant carries a new lease term, and commit under the new one", async () => {
      await faultIn(seg, 0, "read", 2, pageOf(1), 1, { term: 1 });
      await faultIn(seg, 1, "write", 2, pageOf(2), 1, { term: 2 });
      expect(frames.state(0), "the home took our pages back").to.equal(PageState.INVALID);
      expect(frames.state(1), "the grant that told us is kept").to.equal(PageState.WRITE);
      const log = new WriteLog(dsm.dropMark);
      write(log, 1, pageOf(3));
      const done = dsm.commit(log.take(), log.since);
      const call = await link.commitCall(0);
      expect(call).to.include({ term: 2, abort: false });
      call.reply.resolve(applied());
      await done;
    });

    it("should keep the pages while the term stays the same", async () => {
      await faultIn(seg, 0, "read", 2, pageOf(1), 1, { term: 4 });
      dsm.noteTerm(ds1, 4);
      expect(frames.state(0)).to.equal(PageState.READ);
    });
  });

  describe("noteEpoch", () => {
    let other: SegmentFrames;
    let otherSeg: SysName;

    beforeEach(() => {
      otherSeg = newSysName(ds2);
      other = dsm.framesOf(new Segment(otherSeg, "data"));
    });

    it("should keep pages while a home's epoch stays the same", async () => {
      await faultIn(seg, 0, "read", 1, pageOf(1), 5);
      await faultIn(seg, 1, "read", 1, pageOf(2), 5);
      dsm.noteEpoch(ds1, 5);
      expect(frames.pagesAtLeast(PageState.READ)).to.deep.equal([0, 1]);
      expect(dsm.cachedPages()).to.equal(2);
    });

    it("should drop every page of a restarted home's segments, and only those", async () => {
      const seg2 = newSysName(ds1);
      const f2 = dsm.framesOf(new Segment(seg2, "heap"));
      await faultIn(seg, 0, "read", 1, pageOf(1), 5);
      await faultIn(seg, 1, "write", 2, pageOf(1), 5);
      await faultIn(seg2, 3, "read", 1, pageOf(1), 5);
      await faultIn(otherSeg, 0, "read", 1, pageOf(1), 9);
      dsm.noteEpoch(ds1, 6);
      expect(frames.pagesAtLeast(PageState.READ)).to.deep.equal([]);
      expect(f2.pagesAtLeast(PageState.READ)).to.deep.equal([]);
      expect(other.pagesAtLeast(PageState.READ)).to.deep.equal([0]);
      expect(dsm.cachedPages()).to.equal(1);
      expect(counters().pagesDropped).to.equal(3);
      expect(metaOf(1)).to.equal(undefined);
    });

    it("should notice a new epoch on a grant and keep the page that grant brought", async () => {
      await faultIn(seg, 0, "read", 1, pageOf(1), 5);
      await faultIn(seg, 1, "read", 1, pageOf(2), 6);
      expect(frames.state(0)).to.equal(PageState.INVALID);
      expect(frames.state(1)).to.equal(PageState.READ);
    });

    it("should ignore a recall of an epoch that is over, and not go back to it", async () => {
      await faultIn(seg, 0, "read", 1, pageOf(1), 5);
      await faultIn(seg, 1, "read", 1, pageOf(2), 6);
      expect(await recall(1, 1, "invalidate", seg, 5), "sent by the dead process: stale").to.include({ held: false });
      expect(frames.state(1), "the new epoch's page stays").to.equal(PageState.READ);
      expect(dsm.noteEpoch(ds1, 5)).to.equal(false);
      expect(frames.state(1)).to.equal(PageState.READ);
    });

    it("should notice a new epoch on a commit reply", async () => {
      await faultIn(seg, 0, "read", 1, pageOf(1), 5);
      await faultIn(seg, 2, "write", 2, pageOf(2), 5);
      await faultIn(otherSeg, 0, "read", 1, pageOf(1), 1);
      const log = new WriteLog(dsm.dropMark);
      write(log, 2, pageOf(3));
      const done = dsm.commit(log.take(), log.since);
      (await link.commitCall(0)).reply.resolve(applied(7));
      await done;
      expect(frames.pagesAtLeast(PageState.READ)).to.deep.equal([]);
      expect(other.state(0)).to.equal(PageState.READ);
    });

    it("should abort no segment begun after the connection closed when the restart's news drops nothing more", async () => {
      await faultIn(seg, 0, "read", 1, pageOf(1), 5);
      const before = dsm.dropMark;
      dsm.dropHome(ds1, "the connection to it closed");
      const since = dsm.dropMark; // a segment that begins now, after the close
      const first = dsm.fault(seg, 1, "read", since);
      (await link.faultCall(1)).reply.resolve(grant(1, pageOf(2), { epoch: 6 })); // brings the news of the restart
      await first;
      expect(frames.state(1)).to.equal(PageState.READ);
      const second = dsm.fault(seg, 2, "read", since);
      (await link.faultCall(2)).reply.resolve(grant(1, pageOf(3), { epoch: 6 }));
      await second;
      expect(frames.state(2), "it goes on").to.equal(PageState.READ);
      await expectRejection(dsm.fault(seg, 3, "read", before), PagesLostError);
    });

    it("should drop nothing on the first epoch it learns of a home", () => {
      frames.install(0, pageOf(1), PageState.READ);
      dsm.noteEpoch(ds1, 3);
      expect(frames.state(0)).to.equal(PageState.READ);
    });

    it("should drop a home's pages when a commit is refused because the home restarted", async () => {
      await faultIn(seg, 0, "read", 1, pageOf(1), 5);
      await faultIn(seg, 1, "write", 2, pageOf(2), 5);
      const log = new WriteLog(dsm.dropMark);
      write(log, 1, pageOf(3));
      const done = dsm.commit(log.take(), log.since);
      const refusal = new StaleEpochError("data server ds1 restarted (epoch 5 is over, now 6): the segment was not applied", { server: ds1, epoch: 5, current: 6 });
      (await link.commitCall(0)).reply.reject(refusal);
      await expectRejection(done, StaleEpochError);
      expect(frames.pagesAtLeast(PageState.READ), "the restarted home's pages").to.deep.equal([]);
    });

    it("should abort the segment of an owned page a restart dropped", async () => {
      await faultIn(seg, 0, "write", 2, pageOf(1), 5);
      const log = new WriteLog(dsm.dropMark);
      write(log, 0, pageOf(2));
      dsm.noteEpoch(ds1, 6);
      const done = dsm.commit(log.take(), log.since);
      const call = await link.commitCall(0);
      expect(call).to.include({ abort: true, epoch: 6 });
      call.reply.resolve(refused("given up", 6));
      const err = await expectRejection(done, PagesLostError);
      expect(err.server).to.equal(ds1);
    });
  });

  describe("dropPage, pagesOf, holdsPagesOf", () => {
    it("should forget one page so the next fault goes to the home", async () => {
      await faultIn(seg, 0, "read", 2, pageOf(1));
      await dsm.dropPage(seg, 0);
      expect(frames.state(0)).to.equal(PageState.INVALID);
      const f = dsm.fault(seg, 0, "read");
      expect((await link.faultCall(1)).have).to.equal(0);
      link.faults[1].reply.resolve(grant(2, pageOf(1)));
      await f;
    });

    it("should describe the pages cached here, and which homes it holds pages of", async () => {
      expect(dsm.holdsPagesOf(ds1)).to.equal(false);
      await faultIn(seg, 0, "read", 2, pageOf(1));
      await faultIn(seg, 3, "write", 5, pageOf(1));
      expect(dsm.pagesOf([seg])).to.deep.equal([
        { segment: seg, page: 0, state: "read", version: 2, owned: false, workingSet: false },
        { segment: seg, page: 3, state: "write", version: 5, owned: true, workingSet: false },
      ]);
      expect(dsm.pagesOf([newSysName(ds1)])).to.deep.equal([]);
      expect(dsm.holdsPagesOf(ds1)).to.equal(true);
      expect(dsm.holdsPagesOf(ds2)).to.equal(false);
    });
  });
});
