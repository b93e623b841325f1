/**
 * PageCodec: how SqliteSegmentStore lays a 4 KiB page out in its `pages.bytes` blob, so that
 * bytes never written cost no disk.
 *
 * Most pages of small objects are nearly all zeros (a Rectangle's field table fills 80 bytes
 * of data page 0; its heap page 0 holds a 16-byte allocator header and a block at 1872).
 * A stored blob is one of:
 *   length 0          the page is all zeros
 *   length PAGE_SIZE  the page itself, raw: how every page was stored before this codec
 *                     (such rows still load), and what a page that would not shrink stays
 *   otherwise         SPARSE (1), then runs in increasing offset order, none overlapping:
 *                       u16 LE offset, u16 LE length (> 0), that many bytes;
 *                     every byte outside the runs is zero
 * Runs are split at zero gaps longer than a run header (RUN_HEADER bytes), so an encoded
 * page is never longer than its non-zero span plus 4 bytes per gap worth skipping.
 *
 *   const blob = encodePage(bytes);                 // bytes: exactly PAGE_SIZE long
 *   const page = decodePage(blob, segment, page);   // a fresh PAGE_SIZE Buffer
 *
 * Rules: encodePage may return its argument itself (a raw page): pass a copy the caller owns
 * (commitPages copies first). decodePage refuses a blob that breaks the layout with
 * CorruptPageError rather than guess: a page read wrong would be served as the truth.
 */
import { PAGE_SIZE, type PageNo, type SysName } from "../../ra-kernel/ids.js";
import { CorruptPageError } from "./errors.js";

/** The tag of the sparse layout (first byte of a blob shorter than a page). */
const SPARSE = 1;
/** Bytes of a run's header (offset and length, u16 each). */
const RUN_HEADER = 4;
const ZEROS = Buffer.alloc(0);

/** The blob to store for a PAGE_SIZE page: empty, sparse, or `bytes` itself (raw). */
export function encodePage(bytes: Buffer): Buffer {
  const runs = nonZeroRuns(bytes);
  if (runs.length === 0) return ZEROS;
  let size = 1;
  for (let r = 0; r < runs.length; r += 2) size += RUN_HEADER + runs[r + 1] - runs[r];
  if (size >= PAGE_SIZE) return bytes;
  const out = Buffer.allocUnsafe(size);
  out[0] = SPARSE;
  let at = 1;
  for (let r = 0; r < runs.length; r += 2) {
    const [start, end] = [runs[r], runs[r + 1]];
    out.writeUInt16LE(start, at);
    out.writeUInt16LE(end - start, at + 2);
    out.set(bytes.subarray(start, end), at + RUN_HEADER);
    at += RUN_HEADER + end - start;
  }
  return out;
}

/** The page a stored blob holds, as a fresh PAGE_SIZE Buffer (a raw blob is returned as is). */
export function decodePage(blob: Buffer, segment: SysName, page: PageNo): Buffer {
  if (blob.length === PAGE_SIZE) return blob;
  const out = Buffer.alloc(PAGE_SIZE);
  if (blob.length === 0) return out;
  const corrupt = (why: string) => new CorruptPageError(`page ${page} of segment ${segment}: stored blob of ${blob.length} bytes is corrupt (${why})`, { segment, page });
  if (blob[0] !== SPARSE) throw corrupt(`unknown layout ${blob[0]}`);
  let at = 1, floor = 0;
  while (at < blob.length) {
    if (at + RUN_HEADER > blob.length) throw corrupt("truncated run header");
    const offset = blob.readUInt16LE(at), length = blob.readUInt16LE(at + 2);
    at += RUN_HEADER;
    if (length === 0 || offset < floor || offset + length > PAGE_SIZE) throw corrupt(`bad run ${offset}+${length}`);
    if (at + length > blob.length) throw corrupt("truncated run");
    blob.copy(out, offset, at, at + length);
    at += length;
    floor = offset + length;
  }
  return out;
}

/** [start, end, start, end, ...] of the non-zero spans, joined across gaps of up to RUN_HEADER zeros. */
function nonZeroRuns(bytes: Uint8Array): number[] {
  const runs: number[] = [];
  let start = -1, end = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0) continue;
    if (start >= 0 && i - end > RUN_HEADER) {
      runs.push(start, end);
      start = -1;
    }
    if (start < 0) start = i;
    end = i + 1;
  }
  if (start >= 0) runs.push(start, end);
  return runs;
}
