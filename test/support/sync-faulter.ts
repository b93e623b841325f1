/**
 * SyncFaulter: a synchronous PageFaulter for running object memory in one thread.
 *
 * In a compute server an isiba blocks on the FaultChannel while the kernel thread fetches
 * the page; here `fault` installs the page into the segment's SegmentFrames at once: the
 * bytes the stand-in home (`home`) holds for it, else the frame's current bytes when the
 * fault is an upgrade of a page already mapped, else zeros (a never-written page).
 * Every fault is logged so tests can count them and see which pages were touched.
 */
import type { PageNo, SysName } from "../../ra-kernel/ids.js";
import type { PageFaulter } from "../../ra-kernel/mapped-segment.js";
import { PageState, stateFor, type AccessMode } from "../../ra-kernel/page-state.js";
import type { SegmentFrames } from "../../ra-kernel/segment-frames.js";

export interface FaultRecord {
  segment: SysName;
  page: PageNo;
  mode: AccessMode;
}

export class SyncFaulter implements PageFaulter {
  /** Page bytes by `${segment}/${page}`: what the home would send. */
  readonly home = new Map<string, Uint8Array>();
  readonly log: FaultRecord[] = [];
  private readonly frames = new Map<SysName, SegmentFrames>();

  /** Serves faults of `frames`' segment from now on. */
  attach(frames: SegmentFrames): SegmentFrames {
    this.frames.set(frames.sysname, frames);
    return frames;
  }

  fault(segment: SysName, page: PageNo, mode: AccessMode): void {
    this.log.push({ segment, page, mode });
    const frames = this.frames.get(segment);
    if (!frames) throw new Error(`SyncFaulter: unknown segment ${segment}`);
    const held = frames.state(page) >= PageState.READ ? frames.copyPage(page) : null;
    frames.install(page, this.home.get(`${segment}/${page}`) ?? held, stateFor(mode));
  }

  get faults(): number {
    return this.log.length;
  }

  /** The distinct pages of `segment` that faulted, sorted. */
  pagesFaulted(segment: SysName): PageNo[] {
    return [...new Set(this.log.filter((f) => f.segment === segment).map((f) => f.page))].sort((a, b) => a - b);
  }

  /** Forgets the log (e.g. after setting up). */
  reset(): void {
    this.log.length = 0;
  }
}
