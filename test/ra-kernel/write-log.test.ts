/**
 * Tests of WriteLog (ra-kernel/write-log.ts), one commit segment's writes page by page: the
 * frames' writer counts (once per page per segment), `take()` (the segment in wire form,
 * ascending pages; a new generation begins), and `runLogging` / `currentWriteLog` following
 * an invocation through its awaits.
 */
import { expect } from "chai";
import { asServerId, newSysName, PAGE_SIZE } from "../../ra-kernel/ids.js";
import { applyPageLog, WORDS_PER_PAGE } from "../../ra-kernel/page-log.js";
import { currentWriteLog, runLogging, WriteLog } from "../../ra-kernel/write-log.js";

describe("WriteLog", () => {
  const seg = newSysName(asServerId("ds1"));
  const seg2 = newSysName(asServerId("ds1"));
  let writers: Int32Array;

  beforeEach(() => {
    writers = new Int32Array(8);
  });

  /** Logs the u32 `value` at byte `at` of `page` of `segment` in `log` (as the MMU would). */
  function write(log: WriteLog, segment: typeof seg, page: number, at: number, value: number, stamp: number): void {
    const frame = new Uint8Array(PAGE_SIZE);
    new DataView(frame.buffer).setUint32(at, value, true);
    log.pageLog(segment, page, writers, page).record(frame, 0, at, at + 4, stamp);
  }

  it("should count a page's writer once per segment, however often it writes it", () => {
    const a = new WriteLog(0);
    const b = new WriteLog(0);
    expect(a.pageLog(seg, 2, writers, 2)).to.equal(a.pageLog(seg, 2, writers, 2));
    a.pageLog(seg, 3, writers, 3);
    b.pageLog(seg, 2, writers, 2);
    expect([...writers.subarray(0, 5)]).to.deep.equal([0, 0, 2, 1, 0]);
  });

  it("should hand out the segment in wire form, pages ascending per memory segment, and start over", () => {
    const log = new WriteLog(5);
    expect(log.empty).to.equal(true);
    write(log, seg, 3, 0, 30, 1);
    write(log, seg2, 0, 4, 7, 1);
    write(log, seg, 1, 8, 10, 2);
    expect(log.empty).to.equal(false);
    const taken = log.take();
    expect(taken.map((l) => [l.segment, l.pages.map((p) => p.page)])).to.deep.equal([[seg, [1, 3]], [seg2, [0]]]);
    const page = new Uint8Array(PAGE_SIZE);
    applyPageLog(taken[0].pages[0].log, page, new Float64Array(WORDS_PER_PAGE));
    expect(new DataView(page.buffer).getUint32(8, true)).to.equal(10);
    expect(log.empty).to.equal(true);
    expect(log.take()).to.deep.equal([]);
    expect(log.since, "the start mark stays").to.equal(5);
  });

  it("should begin a new generation at take(): the next write to a page gets a fresh PageLog, counted again", () => {
    const log = new WriteLog(0);
    const first = log.pageLog(seg, 0, writers, 0);
    const generation = log.generation;
    log.take();
    expect(log.generation).to.equal(generation + 1);
    const second = log.pageLog(seg, 0, writers, 0);
    expect(second).not.to.equal(first);
    expect(writers[0], "one writer per segment that wrote it").to.equal(2);
    expect(second.words).to.equal(0);
  });

  describe("runLogging", () => {
    it("should make the log current for the code it runs and everything that code awaits", async () => {
      const log = new WriteLog(0);
      expect(currentWriteLog()).to.equal(undefined);
      const seen = await runLogging(log, async () => {
        const before = currentWriteLog();
        await new Promise((resolve) => setImmediate(resolve));
        return [before, currentWriteLog()];
      });
      expect(seen).to.deep.equal([log, log]);
      expect(currentWriteLog()).to.equal(undefined);
    });

    it("should keep two invocations interleaved in one worker apart", async () => {
      const a = new WriteLog(0);
      const b = new WriteLog(0);
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const slow = runLogging(a, async () => {
        await gate;
        return currentWriteLog();
      });
      const fast = runLogging(b, async () => currentWriteLog());
      expect(await fast).to.equal(b);
      release();
      expect(await slow).to.equal(a);
    });
  });
});
