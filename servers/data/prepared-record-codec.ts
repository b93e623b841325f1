/**
 * PreparedRecordCodec: how a prepared atomic thread's pages (PreparedRecord.pages) are laid out
 * in one blob, the `pages` column of `atomic_prepared` (SqliteSegmentStore). One blob, not a
 * row per page: a prepared record is written, read and deleted whole, and only at a prepare,
 * a decision and a start-up.
 *
 * Layout, all integers little-endian:
 *   u32 count
 *   count times:  u16 segment length, that many bytes of the segment's sysname (UTF-8)
 *                 u32 page number
 *                 f64 stamp (NaN: the writer gave none)
 *                 u32 log length, that many bytes of the encoded PageLog
 * and nothing after the last page.
 *
 *   const blob = encodePreparedPages(record.pages);
 *   const pages = decodePreparedPages(blob);   // fresh copies: the blob is not aliased
 *
 * Rules: encodePreparedPages refuses what the layout cannot hold (a page number that is not
 * a u32, a sysname over 64 KiB) rather than store something else; decodePreparedPages refuses
 * a blob that breaks the layout, naming where, rather than hand a participant pages it would
 * apply wrong. A stamp of NaN is "no stamp": it decodes as an absent `stamp`.
 */
import type { PageNo, SysName } from "../../ra-kernel/ids.js";
import type { PreparedPage } from "./segment-store.js";

/** Bytes of the leading page count. */
const COUNT_BYTES = 4;
/** Bytes of a page entry's fields after its segment: page number, stamp, log length. */
const AFTER_SEGMENT = 4 + 8 + 4;
/** Bytes of a page entry's fixed fields: the segment length, then AFTER_SEGMENT. */
const FIXED_BYTES = 2 + AFTER_SEGMENT;
const MAX_U16 = 0xffff;
const MAX_U32 = 0xffffffff;

/** The blob of `pages` (a fresh Buffer: the caller may reuse its logs at once). */
export function encodePreparedPages(pages: readonly PreparedPage[]): Buffer {
  const segments = pages.map((p, i) => segmentBytes(p, i));
  let size = COUNT_BYTES;
  pages.forEach((p, i) => (size += FIXED_BYTES + segments[i].length + p.log.length));
  const out = Buffer.allocUnsafe(size);
  let at = out.writeUInt32LE(pages.length, 0);
  pages.forEach((p, i) => (at = writePage(out, at, p, segments[i])));
  return out;
}

/** The pages a blob holds, each log a fresh copy; throws an Error naming what is corrupt. */
export function decodePreparedPages(blob: Uint8Array): PreparedPage[] {
  const buf = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  const corrupt = (why: string) => new Error(`prepared pages blob of ${buf.length} bytes is corrupt: ${why}`);
  if (buf.length < COUNT_BYTES) throw corrupt("truncated page count");
  const count = buf.readUInt32LE(0);
  const pages: PreparedPage[] = [];
  let at = COUNT_BYTES;
  for (let i = 0; i < count; i++) {
    if (at + 2 > buf.length) throw corrupt(`truncated segment length of page entry ${i}`);
    const segmentEnd = at + 2 + buf.readUInt16LE(at);
    if (segmentEnd + AFTER_SEGMENT > buf.length) throw corrupt(`truncated page entry ${i}`);
    const logAt = segmentEnd + AFTER_SEGMENT;
    const logEnd = logAt + buf.readUInt32LE(segmentEnd + 12);
    if (logEnd > buf.length) throw corrupt(`truncated log of page entry ${i}`);
    pages.push(pageOf(buf, at + 2, segmentEnd, logAt, logEnd));
    at = logEnd;
  }
  if (at !== buf.length) throw corrupt(`${buf.length - at} bytes after the last of ${count} page entries`);
  return pages;
}

/** The UTF-8 of a page's segment, checked against what the layout holds. */
function segmentBytes(p: PreparedPage, i: number): Buffer {
  const bytes = Buffer.from(p.segment, "utf8");
  if (bytes.length > MAX_U16) throw new Error(`prepared page ${i}: segment name of ${bytes.length} bytes (at most ${MAX_U16})`);
  if (!Number.isInteger(p.page) || p.page < 0 || p.page > MAX_U32) throw new Error(`prepared page ${i}: page number ${p.page} is not a u32`);
  if (p.log.length > MAX_U32) throw new Error(`prepared page ${i}: log of ${p.log.length} bytes (at most ${MAX_U32})`);
  return bytes;
}

/** Writes one page entry at `at`; returns where the next one starts. */
function writePage(out: Buffer, at: number, p: PreparedPage, segment: Buffer): number {
  at = out.writeUInt16LE(segment.length, at);
  at += segment.copy(out, at);
  at = out.writeUInt32LE(p.page, at);
  at = out.writeDoubleLE(p.stamp ?? Number.NaN, at);
  at = out.writeUInt32LE(p.log.length, at);
  out.set(p.log, at);
  return at + p.log.length;
}

/** One decoded entry, bounds already checked: segment in [segmentAt, segmentEnd), log in [logAt, logEnd). */
function pageOf(buf: Buffer, segmentAt: number, segmentEnd: number, logAt: number, logEnd: number): PreparedPage {
  const stamp = buf.readDoubleLE(segmentEnd + 4);
  const page: PreparedPage = {
    segment: buf.toString("utf8", segmentAt, segmentEnd) as SysName,
    page: buf.readUInt32LE(segmentEnd) as PageNo,
    log: new Uint8Array(buf.subarray(logAt, logEnd)),
  };
  if (!Number.isNaN(stamp)) page.stamp = stamp;
  return page;
}
