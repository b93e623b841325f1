/**
 * Tests of PageLog (ra-kernel/page-log.ts), the redo record of one commit segment's writes to
 * one page: recording whole words with their stamps, the wire form, `applyPageLog` (word by
 * word, the newest stamp of each word wins whatever order the logs are applied in) and
 * `checkPageLog` (malformed logs are refused, naming what is wrong), and `mergePageLogs`.
 */
import { expect } from "chai";
import { PAGE_SIZE } from "../../ra-kernel/ids.js";
import { applyPageLog, checkPageLog, mergePageLogs, PageLog, WORD_SIZE, WORDS_PER_PAGE } from "../../ra-kernel/page-log.js";
import { logOf } from "../support/page-logs.js";

/** A durable image: a page and the stamp of each of its words. */
function image(): { page: Uint8Array; stamps: Float64Array } {
  return { page: new Uint8Array(PAGE_SIZE), stamps: new Float64Array(WORDS_PER_PAGE) };
}

const u32 = (page: Uint8Array, at: number) => new DataView(page.buffer, page.byteOffset).getUint32(at, true);

describe("PageLog", () => {
  describe("record", () => {
    it("should count each word once, however often it is written, keeping its last value and stamp", () => {
      const log = new PageLog();
      const frame = new Uint8Array(PAGE_SIZE);
      frame[8] = 1;
      log.record(frame, 0, 8, 12, 1);
      frame[8] = 2;
      log.record(frame, 0, 8, 12, 2);
      expect(log.words).to.equal(1);
      const { page, stamps } = image();
      expect(applyPageLog(log.encode(), page, stamps)).to.equal(2);
      expect(page[8]).to.equal(2);
      expect(stamps[2]).to.equal(2);
    });

    it("should log every word a range touches, whole, as the frame holds it", () => {
      const frame = new Uint8Array(PAGE_SIZE).fill(9);
      const log = new PageLog();
      log.record(frame, 0, 5, 10, 1); // bytes 5..9: words 1 and 2
      expect(log.words).to.equal(2);
      const { page, stamps } = image();
      applyPageLog(log.encode(), page, stamps);
      expect([...page.subarray(0, 16)]).to.deep.equal([0, 0, 0, 0, 9, 9, 9, 9, 9, 9, 9, 9, 0, 0, 0, 0]);
    });

    it("should read the page at its offset in a larger frame", () => {
      const frames = new Uint8Array(3 * PAGE_SIZE);
      frames[2 * PAGE_SIZE + 4] = 0x5a;
      const log = new PageLog();
      log.record(frames, 2 * PAGE_SIZE, 4, 8, 3);
      const { page, stamps } = image();
      applyPageLog(log.encode(), page, stamps);
      expect(page[4]).to.equal(0x5a);
    });

    it("should log a whole page with ofPage", () => {
      const bytes = Uint8Array.from({ length: PAGE_SIZE }, (_, i) => i & 0xff);
      const log = PageLog.ofPage(bytes, 4);
      expect(log.words).to.equal(WORDS_PER_PAGE);
      const { page, stamps } = image();
      expect(applyPageLog(log.encode(), page, stamps)).to.equal(4);
      expect(page).to.deep.equal(bytes);
      expect(stamps.every((s) => s === 4)).to.equal(true);
    });
  });

  describe("encode", () => {
    it("should take 8 bytes plus 14 per word, the word count first, words in ascending order", () => {
      const log = logOf([40, 1, 7], [4, 2, 5]);
      expect(log.length).to.equal(8 + 14 * 2);
      const view = new DataView(log.buffer);
      expect(view.getUint32(0, true)).to.equal(2);
      expect([view.getFloat64(8, true), view.getFloat64(16, true)], "stamps").to.deep.equal([5, 7]);
      expect([view.getUint32(24, true), view.getUint32(28, true)], "values").to.deep.equal([2, 1]);
      expect([view.getUint16(32, true), view.getUint16(34, true)], "word indexes").to.deep.equal([1, 10]);
      expect(new PageLog().encode()).to.deep.equal(new Uint8Array(8));
    });
  });

  describe("applyPageLog", () => {
    it("should apply only the logged words, leaving every other word of the image alone", () => {
      const { page, stamps } = image();
      page.fill(0xee);
      expect(applyPageLog(logOf([8, 0x01020304, 3]), page, stamps)).to.equal(3);
      expect(u32(page, 8)).to.equal(0x01020304);
      expect(u32(page, 4)).to.equal(0xeeeeeeee);
      expect(u32(page, 12)).to.equal(0xeeeeeeee);
      expect([...stamps.subarray(1, 4)]).to.deep.equal([0, 3, 0]);
    });

    it("should keep the newest stamp of each word whatever order the commits arrive in", () => {
      // Two segments wrote word 0 (stamps 1 then 3); the older one also wrote word 1 (stamp 2).
      const older = logOf([0, 10, 1], [4, 11, 2]);
      const newer = logOf([0, 30, 3]);
      for (const order of [[older, newer], [newer, older]]) {
        const { page, stamps } = image();
        for (const log of order) applyPageLog(log, page, stamps);
        expect([u32(page, 0), u32(page, 4)], `applied ${order[0] === older ? "in" : "out of"} order`).to.deep.equal([30, 11]);
        expect([stamps[0], stamps[1]]).to.deep.equal([3, 2]);
      }
    });

    it("should be idempotent: the same log applied again changes nothing", () => {
      const log = logOf([0, 1, 2], [8, 3, 4]);
      const a = image();
      applyPageLog(log, a.page, a.stamps);
      const b = { page: a.page.slice(), stamps: a.stamps.slice() };
      applyPageLog(log, b.page, b.stamps);
      expect(b).to.deep.equal(a);
    });

    it("should answer 0 for an empty log and change nothing", () => {
      const { page, stamps } = image();
      expect(applyPageLog(new PageLog().encode(), page, stamps)).to.equal(0);
      expect(page.every((b) => b === 0)).to.equal(true);
    });

    it("should apply a log given as a view into a larger buffer", () => {
      const log = logOf([12, 77, 1]);
      const carrier = new Uint8Array(log.length + 3);
      carrier.set(log, 3);
      const { page, stamps } = image();
      applyPageLog(carrier.subarray(3), page, stamps);
      expect(u32(page, 12)).to.equal(77);
    });
  });

  describe("checkPageLog", () => {
    it("should accept well-formed logs, empty or full", () => {
      expect(() => checkPageLog(logOf([0, 1, 1], [4092, 2, 2]))).not.to.throw();
      expect(() => checkPageLog(new PageLog().encode())).not.to.throw();
      expect(() => checkPageLog(PageLog.ofPage(new Uint8Array(PAGE_SIZE), Number.MAX_SAFE_INTEGER).encode())).not.to.throw();
    });

    const malformed: [string, () => Uint8Array, RegExp][] = [
      ["shorter than its header", () => new Uint8Array(7), /at least 8 bytes/],
      ["a length that does not match its word count", () => logOf([0, 1, 1]).subarray(0, 20), /must be 22 bytes/],
      ["trailing bytes", () => {
        const out = new Uint8Array(8 + 14 + 2);
        out.set(logOf([0, 1, 1]));
        return out;
      }, /must be 22 bytes/],
      ["more words than a page has", () => {
        const out = new Uint8Array(8);
        new DataView(out.buffer).setUint32(0, WORDS_PER_PAGE + 1, true);
        return out;
      }, /words must be/],
      ["a word index outside the page", () => {
        const log = logOf([0, 1, 1]);
        new DataView(log.buffer).setUint16(8 + 12, WORDS_PER_PAGE, true);
        return log;
      }, /word 0 is outside the page/],
    ];
    for (const [what, make, message] of malformed) {
      it(`should refuse a log with ${what}, naming the problem`, () => {
        expect(() => checkPageLog(make())).to.throw(RangeError, message);
      });
    }

    for (const stamp of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      it(`should refuse a word stamped ${stamp}`, () => {
        const log = logOf([0, 1, 1], [4, 1, 1]);
        new DataView(log.buffer).setFloat64(16, stamp, true);
        expect(() => checkPageLog(log)).to.throw(RangeError, /word 1 has a bad stamp/);
      });
    }
  });

  describe("mergePageLogs", () => {
    it("should make one log that applies as the logs it merges would, in any order, and pass a single log through", () => {
      const older = logOf([0, 10, 1], [4, 11, 2]);
      const newer = logOf([0, 30, 3], [8, 12, 4]);
      const merged = mergePageLogs([newer, older]);
      checkPageLog(merged);
      const viaMerge = image(), viaBoth = image();
      viaMerge.page.fill(0xee);
      viaBoth.page.fill(0xee);
      applyPageLog(merged, viaMerge.page, viaMerge.stamps);
      for (const log of [older, newer]) applyPageLog(log, viaBoth.page, viaBoth.stamps);
      expect(viaMerge).to.deep.equal(viaBoth);
      expect([u32(viaMerge.page, 0), u32(viaMerge.page, 4), u32(viaMerge.page, 8)]).to.deep.equal([30, 11, 12]);
      expect(merged.length).to.equal(8 + 14 * 3);
      expect(mergePageLogs([older])).to.equal(older);
    });
  });

  it("should have 4-byte words, a page of them", () => {
    expect(WORD_SIZE * WORDS_PER_PAGE).to.equal(PAGE_SIZE);
  });
});
