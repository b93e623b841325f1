/**
 * GroupCommit: lets concurrent commitPages calls share one transaction (one fsync).
 *
 * The first call of a batch schedules a flush (setImmediate, or a timer of maxWaitMs); every
 * call that arrives before the flush starts joins the batch. The flush hands the batch to
 * `execute`, which runs one transaction for all of it and says, call by call, which versions
 * each got or which error rejects that call alone (a bad segment, a page out of range: that
 * call stores nothing, the others commit). If `execute` throws, the transaction stored
 * nothing and every call of the batch rejects with that error.
 *
 * Rules:
 * - `execute` is synchronous and runs one transaction: nothing else can interleave with it.
 * - The batch is taken when the flush actually runs (after `gate`, the store's write lane),
 *   so calls that arrive while another writer holds the connection still join it.
 * - Callers are settled only after `execute` returned, i.e. after the transaction committed.
 */
import createDebug from "debug";
import type { PageWrite } from "./segment-store.js";

const debug = createDebug("servers:data:store");

/** One call's fate inside a batch. */
export type CallOutcome = { ok: true; versions: number[] } | { ok: false; error: unknown };

/**
 * Runs one transaction for a batch of calls. A call is a list of page writes by default; a
 * store may queue other work too (SqliteSegmentStore: new objects), to share the fsync.
 */
export type ExecuteBatch<Call = readonly PageWrite[]> = (batch: readonly Call[]) => CallOutcome[];

/** Runs `fn` when the store's connection is free for a writer (see WriteLane). */
export type Gate = (fn: () => void) => Promise<void>;

interface Waiter<Call> {
  writes: Call;
  resolve: (versions: number[]) => void;
  reject: (error: unknown) => void;
}

export class GroupCommit<Call = readonly PageWrite[]> {
  /** Calls waiting for the next flush. */
  private queue: Waiter<Call>[] = [];
  /** Cancels the scheduled flush; null when none is scheduled. */
  private cancelFlush: (() => void) | null = null;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly execute: ExecuteBatch<Call>,
    private readonly maxWaitMs: number,
    private readonly gate: Gate = async (fn) => fn(),
  ) {}

  /** Queues one call's (checked, copied) writes; resolves with their versions once committed. */
  submit(writes: Call): Promise<number[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ writes, resolve, reject });
      this.schedule();
    });
  }

  /** Flushes what is queued now and waits for every flush in flight. */
  async drain(): Promise<void> {
    if (this.cancelFlush) {
      this.cancelFlush();
      this.startFlush();
    }
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private schedule(): void {
    if (this.cancelFlush) return;
    const run = () => this.startFlush();
    if (this.maxWaitMs > 0) {
      const timer = setTimeout(run, this.maxWaitMs);
      this.cancelFlush = () => clearTimeout(timer);
    } else {
      const immediate = setImmediate(run);
      this.cancelFlush = () => clearImmediate(immediate);
    }
  }

  private startFlush(): void {
    this.cancelFlush = null;
    const flush = this.gate(() => this.runBatch()).catch((error) => this.rejectAll(error));
    this.inFlight.add(flush);
    void flush.finally(() => this.inFlight.delete(flush));
  }

  private runBatch(): void {
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    let outcomes: CallOutcome[];
    try {
      outcomes = this.execute(batch.map((w) => w.writes));
    } catch (error) {
      debug("group commit of %d calls failed: %s", batch.length, (error as Error)?.message);
      for (const waiter of batch) waiter.reject(error);
      return;
    }
    batch.forEach((waiter, i) => settle(waiter, outcomes[i]));
  }

  /** The gate itself failed (the store closed under us): nothing ran, every queued call rejects. */
  private rejectAll(error: unknown): void {
    const batch = this.queue;
    this.queue = [];
    for (const waiter of batch) waiter.reject(error);
  }
}

function settle<Call>(waiter: Waiter<Call>, outcome: CallOutcome): void {
  if (outcome.ok) waiter.resolve(outcome.versions);
  else waiter.reject(outcome.error);
}
