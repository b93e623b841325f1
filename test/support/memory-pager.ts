/**
 * MemoryPager: a stand-in for a compute server's DSM client in unit tests.
 *
 * Keeps "home" copies of pages in a Map, installs them into SegmentFrames on faults, and
 * takes write-backs, so kernel and runtime code can be tested without servers.
 */
import type { PageNo, SysName } from "../../ra-kernel/ids.js";
import { SegmentFrames } from "../../ra-kernel/segment-frames.js";
import { stateFor, type AccessMode } from "../../ra-kernel/page-state.js";
import type { DirtyPages } from "../../ra-kernel/isiba-messages.js";

export class MemoryPager {
  readonly home = new Map<string, Uint8Array>();
  readonly frames = new Map<SysName, SegmentFrames>();
  faults = 0;

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
    frames.install(page, this.home.get(`${segment}/${page}`) ?? null, stateFor(mode));
  };

  writeBack(dirty: DirtyPages[]): void {
    for (const d of dirty) {
      const frames = this.frames.get(d.segment)!;
      for (const p of d.pages) this.home.set(`${d.segment}/${p}`, frames.copyPage(p));
    }
  }

  /** Forgets every cached frame (as a fresh compute server would). */
  dropCaches(): void {
    this.frames.clear();
  }
}
