/**
 * MemoryPager: a stand-in for a compute server's DSM client in unit tests.
 *
 * Keeps "home" copies of pages in a Map, installs them into SegmentFrames on faults (raising
 * the frames' write stamp to the page's, as a grant does), and takes commits: each page's
 * PageLog is applied word by word to the home copy (applyPageLog, as a home does), and the
 * page's writer count in the frames is taken off, so kernel and runtime code can be tested
 * without servers. Only logged words reach the home: what an isiba wrote outside a commit
 * segment is never committed.
 */
import { PAGE_SIZE, type PageNo, type SysName } from "../../ra-kernel/ids.js";
import { SegmentFrames } from "../../ra-kernel/segment-frames.js";
import { stateFor, type AccessMode } from "../../ra-kernel/page-state.js";
import { applyPageLog, WORDS_PER_PAGE } from "../../ra-kernel/page-log.js";
import type { SegmentLog } from "../../ra-kernel/write-log.js";

export class MemoryPager {
  readonly home = new Map<string, Uint8Array>();
  /** The stamp of each home word, by `${segment}/${page}`. */
  private readonly stamps = new Map<string, Float64Array>();
  readonly frames = new Map<SysName, SegmentFrames>();
  faults = 0;
  /** Every segment committed, in order. */
  readonly commits: SegmentLog[][] = [];

  segment(sysname: SysName, maxPages = 1024): SegmentFrames {
    let f = this.frames.get(sysname);
    if (!f) {
      f = new SegmentFrames(sysname, maxPages);
      this.frames.set(sysname, f);
    }
    return f;
  }

  readonly fault = async (segment: SysName, page: PageNo, mode: AccessMode): Promise<void> => {
    this.faults++;
    const frames = this.frames.get(segment);
    if (!frames) throw new Error(`unknown segment ${segment}`);
    const key = `${segment}/${page}`;
    frames.install(page, this.home.get(key) ?? null, stateFor(mode));
    frames.raiseStamp(page, Math.max(0, ...(this.stamps.get(key) ?? [])));
  };

  /** Commits one segment's logs (see header). */
  commit(logs: SegmentLog[]): void {
    this.commits.push(logs);
    for (const l of logs) {
      for (const p of l.pages) {
        const key = `${l.segment}/${p.page}`;
        const bytes = this.home.get(key)?.slice() ?? new Uint8Array(PAGE_SIZE);
        const stamps = this.stamps.get(key) ?? new Float64Array(WORDS_PER_PAGE);
        applyPageLog(p.log, bytes, stamps);
        this.home.set(key, bytes);
        this.stamps.set(key, stamps);
      }
      this.frames.get(l.segment)?.writersDone(l.pages.map((p) => p.page));
    }
  }

  /** Forgets every cached frame (as a fresh compute server would). */
  dropCaches(): void {
    this.frames.clear();
  }
}
