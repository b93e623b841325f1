/**
 * Object memory in one thread for unit tests: segments over SegmentFrames with a
 * SyncFaulter, PersistentStores over them, and copies of frames as another compute server
 * would hold them.
 */
import { asServerId, newSysName, type SysName } from "../../ra-kernel/ids.js";
import { MappedSegment } from "../../ra-kernel/mapped-segment.js";
import { PageState } from "../../ra-kernel/page-state.js";
import { SegmentFrames } from "../../ra-kernel/segment-frames.js";
import { PersistentStore } from "../../objects/persistent-store.js";
import { SyncFaulter } from "./sync-faulter.js";

export interface TestSegment {
  sysname: SysName;
  frames: SegmentFrames;
  mem: MappedSegment;
}

export function newSegment(faulter: SyncFaulter, maxPages = 1024, sysname: SysName = newSysName(asServerId("ds1"))): TestSegment {
  const frames = faulter.attach(new SegmentFrames(sysname, maxPages));
  return { sysname, frames, mem: new MappedSegment(frames.share(), faulter) };
}

export interface TestStore {
  store: PersistentStore;
  data: TestSegment;
  heap: TestSegment;
  faulter: SyncFaulter;
}

export function newStore(options: { dataPages?: number; heapPages?: number } = {}): TestStore {
  const faulter = new SyncFaulter();
  const data = newSegment(faulter, options.dataPages ?? 16);
  const heap = newSegment(faulter, options.heapPages ?? 1024);
  return { store: new PersistentStore(data.mem, heap.mem), data, heap, faulter };
}

/** Fresh frames holding a READ copy of every valid page of `frames` (another compute server's cache). */
export function copyFrames(frames: SegmentFrames): SegmentFrames {
  const copy = new SegmentFrames(frames.sysname, frames.maxPages);
  for (const page of frames.pagesAtLeast(PageState.READ)) copy.install(page, frames.copyPage(page), PageState.READ);
  return copy;
}

/** A store over copies of `of`'s pages, with a faulter of its own (as on a second compute server). */
export function storeOverCopies(of: TestStore): TestStore {
  const faulter = new SyncFaulter();
  const segment = (s: TestSegment): TestSegment => {
    const frames = faulter.attach(copyFrames(s.frames));
    return { sysname: s.sysname, frames, mem: new MappedSegment(frames.share(), faulter) };
  };
  const data = segment(of.data);
  const heap = segment(of.heap);
  return { store: new PersistentStore(data.mem, heap.mem), data, heap, faulter };
}
