/**
 * VolatileHeaps: the volatile heap of each object active on this compute server.
 *
 * An object's `@volatile` fields (DESIGN §5) live in memory that is shared by the threads
 * in the object and discarded when none is: they are never written back, never persistent.
 * This kernel keeps them in two local SegmentFrames per *activation* of an object (a field
 * table and a heap, laid out like the persistent pair), shared with the isiba workers like
 * any frames. An activation begins when the first isiba enters an idle object here and ends
 * when the last one leaves; the next isiba starts a new generation with fresh zero pages,
 * which the worker fills with the fields' initial values.
 *
 *   const gen = volatile.enter(object);        // before an isiba of `object` starts
 *   volatile.frames(object, gen);              // on the worker's first need: created lazily
 *   volatile.fault(segment, page);             // a fault on a volatile page: a zero page, no message
 *   const dropped = volatile.leave(object);    // after it is done: frames to forget, if it was the last
 *
 * Volatile state is per compute server: threads of one object running on another compute
 * server have their own (no DSM: nothing to keep coherent, nothing to lose).
 *
 * Rules: kernel thread only. Frames are created only for objects whose class has volatile
 * fields (the worker asks for them); other objects cost one counter per active object.
 * Their bytes come from one FramePool of this kernel's volatile heaps (never evicted: there
 * is nowhere to write them back), and go back to it when the activation ends.
 */
import type { PageNo, SysName } from "./ids.js";
import { PageState } from "./page-state.js";
import { SegmentFrames } from "./segment-frames.js";
import { FramePool } from "./frame-pool.js";
import { SEGMENT_MAX_PAGES } from "./segment.js";

/** One activation's memory: the field table and the heap it points into. */
export interface VolatileFrames {
  gen: number;
  data: SegmentFrames;
  heap: SegmentFrames;
}

interface Activation {
  gen: number;
  active: number;
  frames?: VolatileFrames;
}

/** The volatile heaps' arena reservation (pages): 1 GiB, of which only the pages used are resident. */
const VOLATILE_POOL_PAGES = 262_144;

export class VolatileHeaps {
  /** The frames of every activation's pages. */
  readonly pool: FramePool;
  private readonly objects = new Map<SysName, Activation>();
  /** Volatile segments by sysname (what faults name). */
  private readonly segments = new Map<SysName, SegmentFrames>();
  private nextGen = 1;

  constructor(poolPages = VOLATILE_POOL_PAGES) {
    this.pool = FramePool.private(poolPages);
  }

  /** An isiba of `object` starts: the generation of the activation it joins (or begins). */
  enter(object: SysName): number {
    let a = this.objects.get(object);
    if (!a) this.objects.set(object, (a = { gen: this.nextGen++, active: 0 }));
    a.active++;
    return a.gen;
  }

  /** An isiba of `object` is done. When it was the last, the activation ends: the sysnames of its frames (to forget). */
  leave(object: SysName): SysName[] {
    const a = this.objects.get(object);
    if (!a) return [];
    if (--a.active > 0) return [];
    this.objects.delete(object);
    if (!a.frames) return [];
    const dropped = [a.frames.data, a.frames.heap];
    for (const frames of dropped) {
      this.segments.delete(frames.sysname);
      // No isiba is in the object any more: nobody can be in its pages.
      frames.invalidateAll();
      frames.evictAll();
    }
    return dropped.map((f) => f.sysname);
  }

  /** The frames of `object`'s activation `gen`, made on first use; throws if that activation has ended. */
  frames(object: SysName, gen: number): VolatileFrames {
    const a = this.objects.get(object);
    if (!a || a.gen !== gen) throw new Error(`volatile heap of ${object}: activation ${gen} has ended`);
    if (!a.frames) {
      const name = (part: string) => `${object}~volatile-${part}-${gen}` as SysName;
      a.frames = { gen, data: this.newFrames(name("fields"), SEGMENT_MAX_PAGES.data), heap: this.newFrames(name("heap"), SEGMENT_MAX_PAGES.volatile) };
      this.segments.set(a.frames.data.sysname, a.frames.data);
      this.segments.set(a.frames.heap.sysname, a.frames.heap);
    }
    return a.frames;
  }

  private newFrames(sysname: SysName, maxPages: number): SegmentFrames {
    return new SegmentFrames(sysname, maxPages, false, this.pool);
  }

  /** Serves a fault on a volatile page (a writable zero page); false if `segment` is not volatile. */
  fault(segment: SysName, page: PageNo): boolean {
    const frames = this.segments.get(segment);
    if (!frames) return false;
    if (frames.state(page) === PageState.INVALID) frames.install(page, null, PageState.WRITE);
    return true;
  }

  /** Whether `object`'s activation here has a volatile heap in use (its isibas may have written it: nothing undoes that). */
  inUse(object: SysName): boolean {
    return this.objects.get(object)?.frames !== undefined;
  }

  /** Objects with an activation here (tests, metrics). */
  get activeObjects(): number {
    return this.objects.size;
  }
}
