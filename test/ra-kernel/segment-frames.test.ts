import { expect } from "chai";
import { asServerId, newSysName, PAGE_SIZE } from "../../ra-kernel/ids.js";
import { PageState } from "../../ra-kernel/page-state.js";
import { PIN_WRITER, recordAt, SegmentFrames, W_PIN } from "../../ra-kernel/segment-frames.js";
import { FramePool } from "../../ra-kernel/frame-pool.js";
import { PageLog } from "../../ra-kernel/page-log.js";
import { isPending } from "../support/deferred.js";

function filled(value: number, length = PAGE_SIZE): Uint8Array {
  return new Uint8Array(length).fill(value);
}

describe("SegmentFrames", () => {
  const sysname = newSysName(asServerId("ds1"));
  let frames: SegmentFrames;

  beforeEach(() => {
    frames = new SegmentFrames(sysname, 1024); // a large table: grown as pages come (small ones are whole)
  });

  it("should start with one page of span and every page invalid", () => {
    expect(frames.spanPages).to.equal(1);
    expect([frames.state(0), frames.state(1), frames.state(500)]).to.deep.equal([PageState.INVALID, PageState.INVALID, PageState.INVALID]);
  });

  it("should install a page's bytes and publish its state", () => {
    frames.install(0, filled(7), PageState.READ);
    expect(frames.state(0)).to.equal(PageState.READ);
    expect(frames.copyPage(0)).to.deep.equal(filled(7));
  });

  it("should zero a page installed with null, whatever it held", () => {
    frames.install(0, filled(0xaa), PageState.WRITE);
    frames.install(0, null, PageState.READ);
    expect(frames.copyPage(0)).to.deep.equal(filled(0));
    expect(frames.state(0)).to.equal(PageState.READ);
  });

  it("should copy at most one page of bytes into a frame", () => {
    frames.install(1, filled(1), PageState.READ);
    frames.install(0, filled(0xff, 2 * PAGE_SIZE), PageState.READ);
    expect(frames.copyPage(1)).to.deep.equal(filled(1));
  });

  it("should hand out copies of pages, not views", () => {
    frames.install(0, filled(3), PageState.READ);
    frames.copyPage(0).fill(9);
    expect(frames.copyPage(0)[0]).to.equal(3);
  });

  it("should grow to install a page past its span, keeping what it held", () => {
    frames.install(0, filled(5), PageState.WRITE);
    frames.install(100, filled(6), PageState.READ);
    expect(frames.spanPages).to.be.at.least(101);
    expect(frames.pool.used, "frames only for the pages present").to.equal(2);
    expect(frames.copyPage(0)).to.deep.equal(filled(5));
    expect(frames.copyPage(100)).to.deep.equal(filled(6));
    expect(frames.state(50)).to.equal(PageState.INVALID);
  });

  it("should never grow past maxPages", () => {
    const large = new SegmentFrames(sysname, 1030);
    large.install(600, null, PageState.READ);
    large.install(1029, null, PageState.READ);
    expect(large.spanPages).to.equal(1030);
  });

  it("should allocate a small segment's table whole, never growing it", () => {
    const small = new SegmentFrames(sysname, 256);
    expect([small.spanPages, small.table.growable]).to.deep.equal([256, false]);
    small.install(255, null, PageState.READ);
    expect(small.state(255)).to.equal(PageState.READ);
  });

  it("should refuse a page past maxPages, naming the segment", () => {
    expect(() => frames.install(1024, null, PageState.READ)).to.throw(RangeError, new RegExp(`page 1024 is past the end of segment ${sysname} \\(1024 pages\\)`));
    expect(frames.spanPages).to.equal(1);
  });

  it("should lower a page's state and keep its bytes", () => {
    frames.install(0, filled(4), PageState.WRITE);
    frames.setState(0, PageState.INVALID);
    expect(frames.state(0)).to.equal(PageState.INVALID);
    expect(frames.copyPage(0)).to.deep.equal(filled(4));
  });

  it("should ignore setState for a page past its span", () => {
    frames.setState(50, PageState.WRITE);
    expect(frames.spanPages).to.equal(1);
    expect(frames.state(50)).to.equal(PageState.INVALID);
  });

  it("should list the pages at least in a state, and invalidate them all", () => {
    frames.install(0, null, PageState.WRITE);
    frames.install(2, null, PageState.READ);
    frames.install(3, null, PageState.WRITE);
    expect(frames.pagesAtLeast(PageState.READ)).to.deep.equal([0, 2, 3]);
    expect(frames.pagesAtLeast(PageState.WRITE)).to.deep.equal([0, 3]);
    frames.invalidateAll();
    expect(frames.pagesAtLeast(PageState.READ)).to.deep.equal([]);
  });

  it("should share its own buffers", () => {
    const share = frames.share();
    expect(share).to.deep.equal({ sysname, table: frames.table, frames: frames.pool.bytes, maxPages: 1024, logged: true });
    expect(share.table).to.equal(frames.table);
    expect(share.frames).to.equal(frames.pool.bytes);
    expect(new SegmentFrames(sysname, 4, false).share().logged, "volatile frames are never committed").to.equal(false);
  });

  it("should only raise a page's stamp, and grow the stamps and writer counts with the page table", () => {
    expect(frames.stamp(100)).to.equal(0);
    frames.raiseStamp(100, 7);
    frames.raiseStamp(100, 3);
    expect(frames.stamp(100)).to.equal(7);
    expect(frames.spanPages).to.be.at.least(101);
    expect([frames.writersOf(0), frames.writersOf(100), frames.writersOf(500)]).to.deep.equal([0, 0, 0]);
  });

  it("should log a page the kernel wrote whole, stamped above the page's stamp, as one writer", () => {
    frames.install(2, filled(5), PageState.WRITE);
    frames.raiseStamp(2, 10);
    const log = frames.logWholePage(2);
    expect(log).to.deep.equal(PageLog.ofPage(filled(5), 11).encode());
    expect(frames.stamp(2)).to.equal(11);
    expect(frames.writersOf(2)).to.equal(1);
    frames.writersDone([2, 120]);
    expect(frames.writersOf(2)).to.equal(0);
    expect(frames.writersOf(120), "a page past the span is left alone").to.equal(0);
  });

  it("should grow the pin words with the page table, all unpinned", () => {
    frames.install(100, null, PageState.READ);
    expect([frames.pinned(0), frames.pinned(100), frames.pinned(500)]).to.deep.equal([0, 0, 0]);
  });

  it("should keep pages of many segments in one pool, each page in its own slot", () => {
    const pool = new FramePool({ softPages: 8 });
    const a = new SegmentFrames(sysname, 1000, true, pool);
    const b = new SegmentFrames(newSysName(asServerId("ds1")), 1000, true, pool);
    a.install(900, filled(1), PageState.READ);
    b.install(0, filled(2), PageState.WRITE);
    a.install(3, filled(3), PageState.READ);
    expect(pool.used).to.equal(3);
    expect(new Set([a.slotOf(900), b.slotOf(0), a.slotOf(3)]).size, "distinct slots").to.equal(3);
    expect([a.copyPage(900)[0], b.copyPage(0)[0], a.copyPage(3)[0]]).to.deep.equal([1, 2, 3]);
    expect(pool.owner(b.slotOf(0))).to.deep.equal({ owner: b, page: 0, take: 2 });
  });

  it("should give an invalid, unpinned page's frame back to the pool on evict, and reuse it", () => {
    frames.install(5, filled(4), PageState.READ);
    const slot = frames.slotOf(5);
    expect(frames.evict(5), "mapped: refused").to.equal(false);
    frames.setState(5, PageState.INVALID);
    Atomics.add(frames.records(), recordAt(5, W_PIN), 1);
    expect(frames.evict(5), "pinned: refused").to.equal(false);
    Atomics.sub(frames.records(), recordAt(5, W_PIN), 1);
    expect(frames.evict(5)).to.equal(true);
    expect([frames.slotOf(5), frames.pool.used]).to.deep.equal([0, 0]);
    expect(frames.copyPage(5), "no frame: zeros").to.deep.equal(filled(0));
    frames.install(7, filled(8), PageState.READ);
    expect(frames.slotOf(7), "the freed slot is reused").to.equal(slot);
    expect(() => frames.setState(5, PageState.READ), "nothing to map").to.throw(/no frame/);
  });

  it("should report and clear a page's accessed bit", () => {
    frames.install(2, null, PageState.READ);
    expect(frames.takeAccessed(2)).to.equal(false);
    frames.records()[recordAt(2, 4)] = 1; // what an accessor entering the page sets
    expect(frames.takeAccessed(2)).to.equal(true);
    expect(frames.takeAccessed(2), "cleared").to.equal(false);
  });

  describe("lower", () => {
    let pins: Int32Array;

    beforeEach(() => {
      frames.install(0, filled(1), PageState.WRITE);
      pins = frames.records();
    });

    it("should lower the state at once and resolve at once when nothing is pinned", async () => {
      const lowered = frames.lower(0, PageState.READ);
      expect(frames.state(0)).to.equal(PageState.READ);
      expect(await isPending(lowered)).to.equal(false);
    });

    it("should never raise a state", async () => {
      frames.setState(0, PageState.READ);
      await frames.lower(0, PageState.WRITE);
      expect(frames.state(0)).to.equal(PageState.READ);
    });

    it("should wait for a reader to unpin before resolving an invalidation", async () => {
      Atomics.add(pins, recordAt(0, W_PIN), 1);
      const lowered = frames.lower(0, PageState.INVALID);
      expect(frames.state(0)).to.equal(PageState.INVALID);
      expect(await isPending(lowered)).to.equal(true);
      expect(await isPending(lowered)).to.equal(true);
      Atomics.sub(pins, recordAt(0, W_PIN), 1);
      await lowered;
      expect(frames.pinned(0)).to.equal(0);
    });

    it("should wait for a writer, not for readers, before resolving a downgrade to READ", async () => {
      Atomics.add(pins, recordAt(0, W_PIN), 1);
      expect(await isPending(frames.lower(0, PageState.READ))).to.equal(false);
      Atomics.sub(pins, recordAt(0, W_PIN), 1);
      frames.setState(0, PageState.WRITE);
      Atomics.add(pins, recordAt(0, W_PIN), PIN_WRITER);
      const lowered = frames.lower(0, PageState.READ);
      expect(await isPending(lowered)).to.equal(true);
      Atomics.sub(pins, recordAt(0, W_PIN), PIN_WRITER);
      await lowered;
    });

    it("should resolve at once for a page past its span", async () => {
      expect(await isPending(frames.lower(50, PageState.INVALID))).to.equal(false);
      expect(frames.spanPages).to.equal(1);
    });
  });
});
