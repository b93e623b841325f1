/**
 * scratchStore: a PersistentStore over zero-filled in-memory pages of its own.
 *
 * For fields that must exist somewhere but never reach a home: the constructor run of a
 * class upgrade (objects/class-upgrade.ts), the initial values of @volatile fields, and the
 * volatile fields of a proxy that has no volatile heap (unit tests, tools). Its pages fault
 * in as writable zeros, locally, and are never written back; it is garbage once dropped.
 */
import { MappedSegment, type PageFaulter } from "../ra-kernel/mapped-segment.js";
import { PageState } from "../ra-kernel/page-state.js";
import { SegmentFrames } from "../ra-kernel/segment-frames.js";
import { SEGMENT_MAX_PAGES } from "../ra-kernel/segment.js";
import type { SysName } from "../ra-kernel/ids.js";
import { PersistentStore } from "./persistent-store.js";

export function scratchStore(tag = "scratch"): PersistentStore {
  return new PersistentStore(scratchSegment(`${tag}:data`, SEGMENT_MAX_PAGES.data), scratchSegment(`${tag}:heap`, SEGMENT_MAX_PAGES.heap));
}

function scratchSegment(name: string, maxPages: number): MappedSegment {
  const frames = new SegmentFrames(`scratch:${name}` as SysName, maxPages);
  // Every page is private to the scratch: its first fault makes it a writable zero page.
  const faulter: PageFaulter = { fault: (_s, page) => frames.install(page, null, PageState.WRITE) };
  return new MappedSegment(frames.share(), faulter);
}
