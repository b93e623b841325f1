/**
 * PageLog: the words of one page that one commit segment wrote — the redo record that makes
 * object memory crash-consistent (DESIGN §7a).
 *
 * A page's coherent copy (what faults serve) may hold writes of several invocations still in
 * flight, on several compute servers. A commit therefore never sends a page: it sends the
 * committing segment's own words, each with the *stamp* of the write that last set it. The
 * home applies them to the page's durable image word by word, keeping a word's committed
 * value only while no newer stamp has committed (applyPageLog). So the durable state is
 * built from whole committed segments only, in the order their writes happened, whatever
 * order the commits arrive in.
 *
 * Stamps: every page carries a write counter in its frames (SegmentFrames.stamps), raised by
 * one for each write while the writer holds the page exclusively, handed from owner to owner
 * through the home (grants carry the page's stamp, recalls and commits return it). Two writes
 * of one word are thus ordered by their stamps exactly as they happened. Words are 4 bytes,
 * aligned: a write of part of a word logs the whole word as the frame holds it then (heap
 * blocks are 16-byte aligned, so a word never holds bytes of two different values).
 *
 * Wire form (`encode`): u32 n, pad to 8, n f64 stamps, n u32-sized values, n u16 word indexes.
 */
import { NATIVE_LITTLE_ENDIAN, nativeFloatView } from "./float-writes.js";
import { PAGE_SIZE } from "./ids.js";

export const WORD_SIZE = 4;
export const WORDS_PER_PAGE = PAGE_SIZE / WORD_SIZE;

export class PageLog {
  /** The logged words' values, at their offsets in the page. */
  private readonly bytes = new Uint8Array(PAGE_SIZE);
  /** Per word: the stamp of the write that set it (0: not written by this segment). */
  private readonly stamps = new Float64Array(WORDS_PER_PAGE);
  // `record` writes through DataViews: it runs in isiba workers, whose realm is locked down
  // (hardened-realm.ts), and there V8 makes indexed stores into typed arrays ~20x slower
  // (frozen Object.prototype); DataView stores keep their speed (floats: float-writes.ts).
  private readonly byteView = new DataView(this.bytes.buffer);
  private readonly stampView = nativeFloatView(this.stamps.buffer);
  private count = 0;

  /** Words logged so far. */
  get words(): number {
    return this.count;
  }

  /**
   * Logs bytes [from, to) of the page (offsets in the page) as the frame holds them after a
   * write stamped `stamp`: the words they touch are copied whole from `frame` (the page's
   * bytes start at `pageStart` in it).
   */
  record(frame: Uint8Array, pageStart: number, from: number, to: number, stamp: number): void {
    const first = from >>> 2, last = (to - 1) >>> 2;
    for (let w = first; w <= last; w++) {
      if (this.stamps[w] === 0) this.count++;
      this.stampView.setFloat64(w << 3, stamp, NATIVE_LITTLE_ENDIAN);
      const at = w << 2, src = pageStart + at;
      this.byteView.setInt32(at, littleEndianWord(frame, src), true);
    }
  }

  /** A log of every word of `page`, stamped `stamp` (tools that write a page at once). */
  static ofPage(page: Uint8Array, stamp: number): PageLog {
    const log = new PageLog();
    log.record(page, 0, 0, PAGE_SIZE, stamp);
    return log;
  }

  /** The wire form (see header). */
  encode(): Uint8Array {
    const n = this.count;
    const out = new Uint8Array(encodedSize(n));
    const view = new DataView(out.buffer);
    view.setUint32(0, n, true);
    const values = 8 + 8 * n, index = values + 4 * n;
    for (let w = 0, i = 0; w < WORDS_PER_PAGE && i < n; w++) {
      const stamp = this.stamps[w];
      if (stamp === 0) continue;
      view.setFloat64(8 + 8 * i, stamp, true);
      out.set(this.bytes.subarray(w << 2, (w << 2) + 4), values + 4 * i);
      view.setUint16(index + 2 * i, w, true);
      i++;
    }
    return out;
  }
}

/** The 4 bytes of `bytes` at `at` as a little-endian int32, read with loads only (see `record`). */
export function littleEndianWord(bytes: Uint8Array, at: number): number {
  return bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24);
}

function encodedSize(n: number): number {
  return 8 + 14 * n;
}

/** Throws a RangeError naming what is wrong if `log` is not a well-formed encoded PageLog. */
export function checkPageLog(log: Uint8Array): void {
  if (log.length < 8) throw new RangeError(`a page log needs at least 8 bytes (got ${log.length})`);
  const view = new DataView(log.buffer, log.byteOffset, log.byteLength);
  const n = view.getUint32(0, true);
  if (n > WORDS_PER_PAGE || log.length !== encodedSize(n)) throw new RangeError(`a page log of ${n} words must be ${encodedSize(n)} bytes (got ${log.length})`);
  const index = 8 + 12 * n;
  for (let i = 0; i < n; i++) {
    if (view.getUint16(index + 2 * i, true) >= WORDS_PER_PAGE) throw new RangeError(`page log word ${i} is outside the page`);
    const stamp = view.getFloat64(8 + 8 * i, true);
    if (!(stamp > 0) || !Number.isSafeInteger(stamp)) throw new RangeError(`page log word ${i} has a bad stamp (${stamp})`);
  }
}

/**
 * Applies an encoded PageLog to a durable page image and its per-word stamps: each logged
 * word is taken unless the image already holds a newer (higher-stamped) committed write of
 * it. Returns the highest stamp in the log (0 for an empty one).
 */
export function applyPageLog(log: Uint8Array, page: Uint8Array, stamps: Float64Array): number {
  const view = new DataView(log.buffer, log.byteOffset, log.byteLength);
  const n = view.getUint32(0, true);
  const values = 8 + 8 * n, index = values + 4 * n;
  let max = 0;
  for (let i = 0; i < n; i++) {
    const stamp = view.getFloat64(8 + 8 * i, true);
    const w = view.getUint16(index + 2 * i, true);
    if (stamp > max) max = stamp;
    if (stamp < stamps[w]) continue;
    stamps[w] = stamp;
    const at = w << 2, src = values + 4 * i;
    page[at] = log[src];
    page[at + 1] = log[src + 1];
    page[at + 2] = log[src + 2];
    page[at + 3] = log[src + 3];
  }
  return max;
}

/**
 * One encoded PageLog holding the words of several (of one page): each word with its
 * highest-stamped value, as applying them all in any order would leave it. An atomic thread
 * commits the segments of all its frames as one, and two frames may have written one page.
 */
export function mergePageLogs(logs: readonly Uint8Array[]): Uint8Array {
  if (logs.length === 1) return logs[0];
  const bytes = new Uint8Array(PAGE_SIZE), stamps = new Float64Array(WORDS_PER_PAGE);
  let n = 0;
  for (const log of logs) applyPageLog(log, bytes, stamps);
  for (let w = 0; w < WORDS_PER_PAGE; w++) if (stamps[w] > 0) n++;
  const out = new Uint8Array(encodedSize(n));
  const view = new DataView(out.buffer);
  view.setUint32(0, n, true);
  const values = 8 + 8 * n, index = values + 4 * n;
  for (let w = 0, i = 0; w < WORDS_PER_PAGE && i < n; w++) {
    if (stamps[w] === 0) continue;
    view.setFloat64(8 + 8 * i, stamps[w], true);
    out.set(bytes.subarray(w << 2, (w << 2) + 4), values + 4 * i);
    view.setUint16(index + 2 * i, w, true);
    i++;
  }
  return out;
}
