/**
 * WorkerVolatileStores: an isiba worker's view of the volatile heaps (VolatileHeaps is the
 * kernel's side).
 *
 * Each RunRequest names the object's current volatile activation (`volatileGen`). For a class
 * with @volatile fields, the worker maps that activation's frames (asking the kernel once,
 * "volatile.map") and keeps one PersistentStore over them per object. The first isiba to map
 * a fresh activation — in any worker — gives the fields their initial values, holding the
 * volatile field table's page 0 exclusively while it checks and sets an init mark, so two
 * workers never both initialize (and never clobber a value a thread already wrote). At
 * creation the constructor initializes them itself; the mark is set all the same.
 *
 * Rules: worker thread only. Segments the kernel says are forgotten are dropped here.
 */
import type { SysName } from "./ids.js";
import type { MappedSegment } from "./mapped-segment.js";
import type { RunRequest, SyscallResult } from "./isiba-messages.js";
import type { SegmentShare } from "./segment-frames.js";
import { PersistentStore } from "../objects/persistent-store.js";
import { volatileFieldsOf } from "../objects/volatile.js";
import { initVolatileFields } from "../objects/initial-values.js";

/** A field name no class can declare (not an identifier): marks an initialized activation. */
const INIT_MARK = "#volatile-initialized";

interface Mapped {
  gen: number;
  store: PersistentStore;
  segments: MappedSegment[];
  /** This worker has seen the init mark: later isibas need not look again. */
  initialized: boolean;
}

export class WorkerVolatileStores {
  private readonly objects = new Map<SysName, Mapped>();

  constructor(
    private readonly map: (ref: SegmentShare | SysName) => MappedSegment,
    private readonly unmap: (sysname: SysName) => void,
  ) {}

  /** The volatile store of `req`'s object and activation; undefined if `cls` has no volatile field. */
  async storeFor(
    req: RunRequest,
    cls: new (...args: unknown[]) => unknown,
    ask: (gen: number) => Promise<SyscallResult<"volatile.map">>,
  ): Promise<PersistentStore | undefined> {
    if (volatileFieldsOf(cls).size === 0) return undefined;
    let m = this.objects.get(req.object);
    if (m?.gen !== req.volatileGen) {
      const frames = await ask(req.volatileGen);
      m = this.objects.get(req.object);  // another isiba of this worker may have mapped it meanwhile
      if (m?.gen !== req.volatileGen) m = this.mapActivation(req, frames);
    }
    if (!m.initialized) this.initialize(m, req, cls);
    return m.store;
  }

  /** Gives the activation its initial values unless an isiba (in any worker) did already. */
  private initialize(m: Mapped, req: RunRequest, cls: new (...args: unknown[]) => unknown): void {
    m.segments[0].withPageExclusive(0, () => {
      if (m.store.has(INIT_MARK)) return;
      if (req.op !== "create") initVolatileFields(m.store, cls);
      m.store.set(INIT_MARK, true);
    });
    m.initialized = true;
  }

  /** The activation's pages written by the last isiba: nothing to write back, so just cleared. */
  clearDirty(object: SysName): void {
    this.objects.get(object)?.segments.forEach((s) => s.takeDirty());
  }

  /** Drops the mapped segments the kernel has discarded (an activation ended). */
  forget(segments: SysName[]): void {
    const gone = new Set(segments);
    for (const [object, m] of this.objects) if (m.segments.some((s) => gone.has(s.sysname))) this.objects.delete(object);
    segments.forEach((s) => this.unmap(s));
  }

  private mapActivation(req: RunRequest, frames: SyscallResult<"volatile.map">): Mapped {
    const old = this.objects.get(req.object);
    if (old) old.segments.forEach((s) => this.unmap(s.sysname));
    const segments = [this.map(frames.data), this.map(frames.heap)];
    const m = { gen: req.volatileGen, store: new PersistentStore(segments[0], segments[1]), segments, initialized: false };
    this.objects.set(req.object, m);
    return m;
  }
}
