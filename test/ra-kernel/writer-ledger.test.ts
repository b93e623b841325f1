/**
 * Tests of WriterLedger (ra-kernel/writer-ledger.ts) and of how a WriteLog keeps it: an entry
 * per writer count a worker's segments hold, cleared when the log is taken (the count is then
 * the kernel's), readable from the shared memory once the worker is gone.
 */
import { expect } from "chai";
import { currentWriterLedger, setWriterLedger, WriterLedger } from "../../ra-kernel/writer-ledger.js";
import { WriteLog } from "../../ra-kernel/write-log.js";
import { newSysName, asServerId } from "../../ra-kernel/ids.js";
import { runLogging } from "../../ra-kernel/write-log.js";
import { MappedSegment } from "../../ra-kernel/mapped-segment.js";
import { PIN_WRITER, recordAt, SegmentFrames, W_PIN } from "../../ra-kernel/segment-frames.js";
import { PageState } from "../../ra-kernel/page-state.js";
import { SyncFaulter } from "../support/sync-faulter.js";

describe("WriterLedger", () => {
  it("should list the entries added and not cleared, from its shared memory alone", () => {
    const buffer = WriterLedger.allocate(8);
    const ledger = new WriterLedger(buffer);
    const a = ledger.add(1, 0);
    ledger.add(1, 7);
    ledger.add(2, 3);
    ledger.clear(a);
    expect(WriterLedger.read(buffer)).to.deep.equal({ entries: [{ segment: 1, page: 7 }, { segment: 2, page: 3 }], overflowed: false, held: null });
  });

  it("should reuse cleared entries and say when it was too small", () => {
    const buffer = WriterLedger.allocate(2);
    const ledger = new WriterLedger(buffer);
    ledger.clear(ledger.add(1, 1));
    expect(ledger.add(1, 2)).to.be.at.least(0);
    expect(ledger.add(1, 3)).to.be.at.least(0);
    expect(ledger.add(1, 4), "full").to.equal(-1);
    ledger.clear(-1);
    const read = WriterLedger.read(buffer);
    expect(read.overflowed).to.equal(true);
    expect(read.entries.map((e) => e.page).sort()).to.deep.equal([2, 3]);
  });

  describe("kept by a WriteLog", () => {
    const seg = newSysName(asServerId("ds1"));
    let buffer: SharedArrayBuffer;
    const saved = currentWriterLedger();

    beforeEach(() => {
      buffer = WriterLedger.allocate(16);
      setWriterLedger(new WriterLedger(buffer));
    });
    afterEach(() => setWriterLedger(saved));

    it("should record each page once per segment with its count, and hand them over on take", () => {
      const writers = new Int32Array(8);
      const log = new WriteLog(0);
      log.pageLog(seg, 2, writers, 2, 5);
      log.pageLog(seg, 2, writers, 2, 5);
      log.pageLog(seg, 4, writers, 4, 5);
      expect([...writers.slice(0, 5)]).to.deep.equal([0, 0, 1, 0, 1]);
      expect(WriterLedger.read(buffer).entries).to.deep.equal([{ segment: 5, page: 2 }, { segment: 5, page: 4 }]);
      log.take();
      expect(WriterLedger.read(buffer).entries, "the kernel owns the counts now").to.deep.equal([]);
      expect([...writers.slice(0, 5)], "counts stay until the commit is answered").to.deep.equal([0, 0, 1, 0, 1]);
    });

    it("should name the page a MappedSegment holds exclusively while it holds it, so a dead worker's pin can be let go", () => {
      const frames = new SegmentFrames(seg, 4);
      frames.install(0, null, PageState.WRITE);
      const mem = new MappedSegment({ ...frames.share(), ledgerId: 3 }, new SyncFaulter());
      const inside = runLogging(new WriteLog(0), () => mem.withPageExclusive(0, () => {
        mem.setU32(8, 1);
        return WriterLedger.read(buffer).held;
      }));
      expect(inside).to.deep.equal({ segment: 3, page: 0 });
      expect(WriterLedger.read(buffer).held, "let go").to.equal(null);
      expect(frames.pinned(0)).to.equal(0);
      Atomics.add(frames.records(), recordAt(0, W_PIN), PIN_WRITER); // a worker that died holding it
      frames.releaseDeadWriter(0);
      frames.releaseDeadWriter(0);
      expect(frames.pinned(0), "released once").to.equal(0);
    });

    it("should not record pages of frames the pool gave no ledger id", () => {
      const log = new WriteLog(0);
      log.pageLog(seg, 1, new Int32Array(4), 1);
      expect(WriterLedger.read(buffer).entries).to.deep.equal([]);
    });
  });
});
