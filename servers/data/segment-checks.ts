/**
 * The checks every SegmentStore applies to page reads and writes, and the named errors they
 * throw. Kept apart so that SqliteSegmentStore and InMemorySegmentStore refuse exactly the
 * same input with exactly the same errors.
 *
 * Rules: a page write carries exactly PAGE_SIZE bytes; a page number is an integer in
 * [0, maxPages) of its segment; a segment must exist. A call that fails a check stores none
 * of its pages (callers check every write before storing any).
 */
import { PAGE_SIZE, type PageNo, type SysName } from "../../ra-kernel/ids.js";
import { BadPageSizeError, PageOutOfRangeError, SegmentNotFoundError } from "./errors.js";
import type { ObjectDescriptor, PageWrite, SegmentRecord, StoreStats } from "./segment-store.js";
import type { GroupCommit } from "./group-commit.js";

export function segmentNotFound(sysname: SysName): SegmentNotFoundError {
  return new SegmentNotFoundError(`segment ${sysname} not found`, { sysname });
}

export function pageOutOfRange(segment: SysName, page: PageNo, maxPages?: number): PageOutOfRangeError {
  const range = maxPages === undefined ? "" : ` (segment has ${maxPages} pages)`;
  return new PageOutOfRangeError(`page ${page} out of range in segment ${segment}${range}`, { segment, page });
}

/** Throws PageOutOfRangeError unless `page` is an integer in [0, maxPages). */
export function checkPageNo(segment: SysName, page: PageNo, maxPages: number): void {
  if (!Number.isInteger(page) || page < 0 || page >= maxPages) throw pageOutOfRange(segment, page, maxPages);
}

/** Throws BadPageSizeError unless the write carries exactly PAGE_SIZE bytes. */
export function checkPageSize(write: PageWrite): void {
  const size = write.bytes?.length;
  if (!(write.bytes instanceof Uint8Array) || size !== PAGE_SIZE) {
    throw new BadPageSizeError(
      `page ${write.page} of segment ${write.segment}: ${size ?? "no"} bytes, expected ${PAGE_SIZE}`,
      { segment: write.segment, page: write.page, size: size ?? 0 },
    );
  }
}

/**
 * Checks sizes and copies the bytes (Buffers, for SQLite binding): what commitPages stores
 * is what the caller passed at the moment of the call, whatever it does to its buffers later.
 */
export function copyWrites(writes: readonly PageWrite[]): PageWrite[] {
  for (const write of writes) checkPageSize(write);
  return writes.map((w) => ({ segment: w.segment, page: w.page, bytes: Buffer.from(w.bytes) }));
}

/**
 * The front half of commitPages, the same in every store: check the store is open, copy the
 * writes, count the call and queue it for the next group commit. Errors come back as a
 * rejected promise, never thrown synchronously.
 */
export function submitCommit(
  writes: readonly PageWrite[],
  store: { assertOpen(): void; stats: StoreStats; groupCommit: Pick<GroupCommit, "submit"> },
): Promise<number[]> {
  try {
    store.assertOpen();
    const copies = copyWrites(writes);
    if (copies.length === 0) return Promise.resolve([]);
    store.stats.commitCalls++;
    return store.groupCommit.submit(copies);
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Throws the first error among one call's writes: its segment is unknown (`maxPagesOf`
 * returns null) or its page is out of range. Run before storing any page of the call.
 */
export function checkWriteTargets(writes: readonly PageWrite[], maxPagesOf: (s: SysName) => number | null): void {
  for (const write of writes) {
    const maxPages = maxPagesOf(write.segment);
    if (maxPages === null) throw segmentNotFound(write.segment);
    checkPageNo(write.segment, write.page, maxPages);
  }
}

/**
 * Throws (a plain Error: a caller's bug, not an expected outcome) unless `segments` are the
 * object's own: each names `desc.sysname` as its object, has a positive integer maxPages, and
 * they are the descriptor's data and heap segments and, optionally, its volatile one, with
 * those roles — no other (so the descriptor alone finds every segment of the object:
 * deleteObject relies on it). The volatile heap may go without a row: compute servers keep
 * its pages themselves (ra-kernel VolatileHeaps), no fault or commit of it reaches the home.
 */
export function checkObjectSegments(desc: ObjectDescriptor, segments: readonly SegmentRecord[]): void {
  for (const seg of segments) {
    if (seg.object !== desc.sysname) throw new Error(`segment ${seg.sysname} does not belong to ${desc.sysname}`);
    if (!Number.isInteger(seg.maxPages) || seg.maxPages <= 0) {
      throw new Error(`segment ${seg.sysname}: maxPages must be a positive integer, got ${seg.maxPages}`);
    }
  }
  const named = new Set(Object.values(desc.segments));
  const extra = segments.find((s) => !named.has(s.sysname));
  if (extra) throw new Error(`object ${desc.sysname}: segment ${extra.sysname} is not one its descriptor names`);
  for (const role of ["data", "heap", "volatile"] as const) {
    const sysname = desc.segments[role];
    if (role === "volatile" && !segments.some((s) => s.sysname === sysname)) continue;
    if (!segments.some((s) => s.sysname === sysname && s.role === role)) {
      throw new Error(`object ${desc.sysname}: its ${role} segment ${sysname} is not among its segments`);
    }
  }
}
