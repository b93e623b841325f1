/**
 * PageLogs for tests (ra-kernel/page-log.ts): build one from chosen words, decode one onto a
 * page of zeros, and make an isiba's logged write of a whole page into quiesced frames.
 */
import { expect } from "chai";
import { PAGE_SIZE, type PageNo, type SysName } from "../../ra-kernel/ids.js";
import { applyPageLog, PageLog, WORDS_PER_PAGE } from "../../ra-kernel/page-log.js";
import { PageState } from "../../ra-kernel/page-state.js";
import { recordAt, W_WRITERS, type SegmentFrames } from "../../ra-kernel/segment-frames.js";
import type { WriteLog } from "../../ra-kernel/write-log.js";

/** A log of these [byte offset, u32 value, stamp] writes, in order, in wire form. */
export function logOf(...writes: [number, number, number][]): Uint8Array {
  const log = new PageLog();
  const frame = new Uint8Array(PAGE_SIZE);
  for (const [at, value, stamp] of writes) {
    new DataView(frame.buffer).setUint32(at, value, true);
    log.record(frame, 0, at, at + 4, stamp);
  }
  return log.encode();
}

/** The page a PageLog in wire form makes of zeros, and its highest stamp. */
export function decoded(log: Uint8Array): { page: Uint8Array; max: number } {
  const page = new Uint8Array(PAGE_SIZE);
  return { page, max: applyPageLog(log, page, new Float64Array(WORDS_PER_PAGE)) };
}

/**
 * What an isiba's write of a whole page does inside a commit segment (no isiba runs: the
 * frames are quiesced): the bytes, the page's stamp raised by one, the page logged (and
 * counted as written) in `log`. The page must be WRITE. Returns the stamp.
 */
export function writeWholePage(log: WriteLog, frames: SegmentFrames, segment: SysName, page: PageNo, bytes: Uint8Array): number {
  expect(frames.state(page), "only a WRITE page may be written").to.equal(PageState.WRITE);
  frames.install(page, bytes, PageState.WRITE);
  const stamp = frames.stamp(page) + 1;
  frames.raiseStamp(page, stamp);
  log.pageLog(segment, page, frames.records(), recordAt(page, W_WRITERS)).record(bytes, 0, 0, PAGE_SIZE, stamp);
  return stamp;
}
