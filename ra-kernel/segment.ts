/**
 * Segment: a sysname-identified, paged memory resource (DESIGN §4).
 *
 * The kernel's view of a segment: which home data server stores it (the routing hint in
 * its sysname), its role in an O space, and how many pages it may grow to. Its bytes, when
 * cached on this compute server, are in a SegmentFrames.
 */
import { homeOf, type SegmentRole, type ServerId, type SysName } from "./ids.js";

/** Largest size, in pages, of each role's segment. Address space only: pages are sparse. */
export const SEGMENT_MAX_PAGES: Record<SegmentRole, number> = {
  code: 4096,        // 16 MiB
  data: 256,         // 1 MiB of field slots
  heap: 262_144,     // 1 GiB persistent heap
  volatile: 65_536,  // 256 MiB volatile heap
};

export class Segment {
  readonly home: ServerId;

  constructor(
    readonly sysname: SysName,
    readonly role: SegmentRole,
    readonly maxPages: number = SEGMENT_MAX_PAGES[role],
  ) {
    this.home = homeOf(sysname);
  }
}
