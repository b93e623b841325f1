/**
 * WorkerWatch: looks at every isiba worker every CHECK_MS for two kinds of damage that no
 * invocation's kill or deadline can reach.
 *
 * **Memory outside the heap.** A worker's heap limit (`--max-invocation-memory`) stops an entry that allocates objects,
 * strings or arrays without end. It does not count ArrayBuffers: `new Uint8Array(1 << 30)`
 * takes its gibibyte from the process, so a class could take the whole compute server (or
 * machine) down for every other object. The guard looks every CHECK_MS:
 *
 * - it asks each worker how many bytes of ArrayBuffers its isolate holds (a worker answers
 *   between two pieces of object code). A worker holding more than its heap limit is
 *   terminated: its isibas fail with ResourceLimitError, as on running out of heap;
 * - a worker busy in object code cannot answer. So when the process's resident memory is
 *   past the server's bound (page cache, plus twice the heap limit per worker, plus slack)
 *   and nobody that answered holds too much, the workers that did not answer are the ones
 *   allocating, and are terminated.
 *
 * **Object code of no invocation.** A promise continuation of an invocation that returned
 * without awaiting it (or a FinalizationRegistry callback) runs in the worker with no isiba
 * to kill: `this.print("").finally(() => { for (;;) {} })` took its worker for good, and the
 * calls sent to it (the least busy worker!) waited for ever. A worker silent on two checks
 * in a row while it has begun none of its isibas runs such code, and is terminated.
 *
 * Isibas of a terminated worker that it never began run again (IsibaPool), as on any death.
 *
 * Rules: no knowledge of workers here; the pool probes and terminates (`WorkerProbes`).
 */
import createDebug from "debug";

const log = createDebug("ra:worker-watch");

/** How often the guard looks (ms). */
export const CHECK_MS = 250;
/** How long a worker has to answer a probe (ms): one that does not is running object code. */
export const PROBE_TIMEOUT_MS = 200;

/** One worker's answer: the bytes of ArrayBuffers its isolate holds, or undefined (no answer). */
export interface WorkerReport<W> {
  worker: W;
  arrayBuffers: number | undefined;
  /**
   * Whether it works for one of its isibas: one begun (running or waiting), a page fault being
   * served, or blocks being freed after a commit. Then silence may be theirs.
   */
  begun: boolean;
}

/** What the watch needs from the pool. */
export interface WorkerProbes<W> {
  /** Asks every worker; resolves after at most `timeoutMs`, with undefined for the silent. */
  probe(timeoutMs: number): Promise<WorkerReport<W>[]>;
  /** Terminates `worker`, its isibas failing with ResourceLimitError saying `why`. */
  terminate(worker: W, why: string): void;
  /** The process's resident memory (bytes). */
  rss(): number;
}

/**
 * The workers to terminate: those holding more than `perWorker` bytes of buffers; if none,
 * and the process is past `processBound`, those that did not answer.
 */
export function overLimit<W>(reports: WorkerReport<W>[], perWorker: number, rss: number, processBound: number): { worker: W; why: string }[] {
  const mib = (n: number) => `${Math.round(n / 2 ** 20)} MiB`;
  const holding = reports.filter((r) => r.arrayBuffers !== undefined && r.arrayBuffers > perWorker);
  if (holding.length > 0) {
    return holding.map((r) => ({ worker: r.worker, why: `its isiba worker held ${mib(r.arrayBuffers!)} of ArrayBuffers (typed arrays), past its limit of ${mib(perWorker)}` }));
  }
  if (rss <= processBound) return [];
  return reports
    .filter((r) => r.arrayBuffers === undefined)
    .map((r) => ({ worker: r.worker, why: `the compute server's memory reached ${mib(rss)} (bound ${mib(processBound)}) while its isiba worker ran object code without a pause (allocating ArrayBuffers outside the heap)` }));
}

/**
 * The workers silent now while they had begun none of their isibas, that were so at the last
 * check too (`before`, updated for the next check).
 */
export function strays<W>(reports: WorkerReport<W>[], before: Set<W>): { worker: W; why: string }[] {
  const now = new Set(reports.filter((r) => r.arrayBuffers === undefined && !r.begun).map((r) => r.worker));
  const out = [...now].filter((w) => before.has(w)).map((worker) => ({
    worker,
    why: "its isiba worker kept running object code of no running invocation (a promise continuation of one that had returned)",
  }));
  before.clear();
  for (const w of now) before.add(w);
  return out;
}

export class WorkerWatch<W> {
  private timer: NodeJS.Timeout | undefined;
  private checking = false;
  /** Workers found stray-silent at the last check (see `strays`). */
  private readonly silent = new Set<W>();

  constructor(
    private readonly probes: WorkerProbes<W>,
    /** Bytes of ArrayBuffers one worker may hold. */
    private readonly perWorker: number,
    /** Resident bytes past which silent workers are taken for the culprits. */
    private readonly processBound: number,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.check(), CHECK_MS).unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One look (see the header); never two at once. */
  async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      const reports = await this.probes.probe(PROBE_TIMEOUT_MS);
      const found = [...overLimit(reports, this.perWorker, this.probes.rss(), this.processBound), ...strays(reports, this.silent)];
      const done = new Set<W>();
      for (const { worker, why } of found) {
        if (done.has(worker)) continue;
        done.add(worker);
        log("terminating a worker: %s", why);
        this.probes.terminate(worker, why);
      }
    } catch (err) {
      log("worker check failed: %s", (err as Error).message);
    } finally {
      this.checking = false;
    }
  }
}
