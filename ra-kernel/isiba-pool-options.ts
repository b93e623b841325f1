/**
 * Options of an IsibaPool (ra-kernel/isiba-pool.ts) beyond its workers, pager and syscalls.
 */
import type { PageNo } from "./ids.js";
import type { SegmentFrames } from "./segment-frames.js";

/** What a dead worker's in-flight segments had written and never handed over (WriterLedger). */
export interface LostWrites {
  /** Each page one of its segments counted itself a writer of, once per count. */
  pages: { frames: SegmentFrames; page: PageNo }[];
  /** The ledger was full: some written pages are not listed (treat every written page as lost). */
  overflowed: boolean;
  /** Why the worker died. */
  why: string;
}

export interface IsibaPoolOptions {
  /**
   * The JavaScript heap each worker may use (MiB): an entry that allocates without bound
   * kills its worker (its isibas fail, a new worker takes its place), not the compute server.
   * @default 1024
   */
  workerHeapMb?: number;
  /**
   * The bound of the compute server's resident memory (MiB) past which workers running object
   * code without a pause are taken to be allocating ArrayBuffers and terminated (WorkerWatch).
   * Each worker may also hold no more than `workerHeapMb` of ArrayBuffers. Without it, no guard.
   */
  processMemoryMb?: number;
  /**
   * Told when a worker died with segments in flight: their writes can never commit, and the
   * kernel must take their writer counts off and drop the copies that hold them. The dead
   * worker's isibas fail (and their locks are released) only once this resolves.
   */
  onWritesLost?: (lost: LostWrites) => Promise<void>;
}
