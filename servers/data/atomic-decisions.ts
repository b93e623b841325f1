/**
 * AtomicDecisions: the durable outcome of atomic threads (DESIGN §7a, issue 12), kept by a data
 * server, the thread's *log home*. An atomic thread that wrote at one data server commits there
 * whole, its decision in the same transaction (beginCommit/endCommit). One that wrote at
 * several commits with two-phase commit, presumed abort: the coordinator (the compute server
 * running the atomic root frame) has every other home prepare its part (AtomicParticipants),
 * then commits the log home's part with the decision in the same transaction, as above ("last
 * agent"); only a decision stored here counts. A workstation whose reply was lost presumes an
 * abort at every data server (Cluster.outcome). Anyone else who must know an undecided thread's fate — a
 * prepared participant whose coordinator died, a workstation whose reply was lost — asks to
 * decide `abort`. The first decision stored for an id wins, whoever proposed it; every later
 * `decide` answers with it. So a coordinator that was too slow learns that its thread aborted,
 * and no participant ever waits on a dead coordinator for ever.
 *
 *   decide(id, proposed, proposer)     resolves, once durable, with the decision stored for
 *                                      `id` (the proposed one if it is the first)
 *   outcome(id)                        the durable decision, or null: none yet (not an abort)
 *   beginCommit(id, attempt) / endCommit(id)
 *                                      a thread's attempt commits its part at this home: its
 *                                      decision rides in the segment's own transaction
 *                                      (SegmentStore.commitPages); none may be decided
 *                                      meanwhile, and none must exist before (a presumed abort
 *                                      stored first refuses the segment)
 *   acknowledge(id)                    every participant finished the thread: its record may
 *                                      go once it is older than the retention
 *   collect()                          forgets acknowledged records past the retention
 *
 * Rules:
 * - A decision is answered to nobody before it is durable (the store's group commit: it
 *   shares the fsync of page commits made at the same time).
 * - Decisions of one id are serialized here: a `decide` waits for one in flight.
 * - An unacknowledged record is never forgotten: a participant still prepared must find the
 *   commit it voted for, or it would presume an abort of a committed thread.
 */
import createDebug from "debug";
import type { AtomicId } from "../../ra-kernel/ids.js";

const log = createDebug("servers:data:atomic");

export type AtomicOutcome = "commit" | "abort";

/** One stored decision. */
export interface DecisionRecord {
  id: AtomicId;
  outcome: AtomicOutcome;
  /** Who proposed the decision stored: the coordinator (a commit or abort), or whoever presumed an abort. */
  proposer: string;
  /** When it was stored (ms since the Unix epoch). */
  decidedAt: number;
  /** Every participant finished the thread (the record may be forgotten after the retention). */
  acknowledged: boolean;
  /**
   * Which attempt of the thread it decides (a wounded thread runs again under the same id,
   * attempts numbered from 0); EVERY_ATTEMPT: the whole thread (a presumed abort asked by a
   * workstation: no attempt may commit after it). A commit is final. An abort of an attempt
   * is replaced by a decision of a later attempt: it said only that attempt never commits.
   */
  attempt: number;
}

/** DecisionRecord.attempt of a decision about every attempt of a thread. */
export const EVERY_ATTEMPT = Number.MAX_SAFE_INTEGER;

/** Whether a decision `stored` leaves room for `proposed` (see DecisionRecord.attempt). */
export function supersedes(proposed: Pick<DecisionRecord, "attempt">, stored: Pick<DecisionRecord, "outcome" | "attempt">): boolean {
  return stored.outcome === "abort" && stored.attempt < proposed.attempt;
}

/** What a store keeps of decisions (both SegmentStores implement it). */
export interface DecisionStore {
  /**
   * Stores `record` unless a decision for its id exists that it does not supersede (a commit,
   * or an abort of the same or a later attempt); resolves, once durable, with the one stored.
   */
  putDecision(record: DecisionRecord): Promise<DecisionRecord>;
  getDecision(id: AtomicId): DecisionRecord | null;
  /** Marks the record acknowledged; false if there is none. */
  acknowledgeDecision(id: AtomicId): Promise<boolean>;
  /** Forgets acknowledged records decided before `before`; how many went. */
  forgetDecisions(before: number): Promise<number>;
}

/** Acknowledged decisions are kept this long for workstations asking `outcome` (ms). */
export const DEFAULT_DECISION_RETENTION_MS = 24 * 60 * 60 * 1000;

export class AtomicDecisions {
  /** Decisions being stored, by id (a second decide of the id waits for the first). */
  private readonly deciding = new Map<AtomicId, Promise<DecisionRecord>>();
  /** One-segment commits carrying their decision, in flight (beginCommit .. endCommit). */
  private readonly committing = new Map<AtomicId, { done: Promise<void>; end: () => void }>();
  /** Decisions stored by this process, by outcome (metrics). */
  readonly counts = { commit: 0, abort: 0, contested: 0 };

  constructor(
    private readonly store: DecisionStore,
    private readonly retentionMs = DEFAULT_DECISION_RETENTION_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** The decision for `id`: `proposed` if none was stored before (see header). */
  async decide(id: AtomicId, proposed: AtomicOutcome, proposer: string, attempt = EVERY_ATTEMPT): Promise<DecisionRecord> {
    for (;;) {
      const d = this.deciding.get(id) ?? this.committing.get(id)?.done;
      if (!d) break;
      await d.catch(() => undefined);
    }
    const stored = this.store.getDecision(id);
    if (stored && !supersedes({ attempt }, stored)) return this.answer(stored, proposed);
    const storing = this.store.putDecision({ id, outcome: proposed, proposer, decidedAt: this.now(), acknowledged: false, attempt });
    this.deciding.set(id, storing);
    try {
      const record = await storing;
      if (record.outcome === proposed && record.proposer === proposer) this.counts[proposed]++;
      log("%s: %s (proposed %s by %s)", id, record.outcome, proposed, proposer);
      return this.answer(record, proposed);
    } finally {
      if (this.deciding.get(id) === storing) this.deciding.delete(id);
    }
  }

  /**
   * A segment that commits atomic thread `id` whole at this home is about to be ordered, its
   * decision in its own transaction: false if the thread is decided already (a presumed abort
   * came first: the segment must be refused) or being decided. Until endCommit, a decide of
   * the id waits, then finds what the segment stored.
   */
  beginCommit(id: AtomicId, attempt: number): boolean {
    if (this.deciding.has(id) || this.committing.has(id)) return false;
    const stored = this.store.getDecision(id);
    if (stored && !supersedes({ attempt }, stored)) return false;
    let end!: () => void;
    const done = new Promise<void>((resolve) => (end = resolve));
    this.committing.set(id, { done, end });
    return true;
  }

  /** The segment of beginCommit is durable (`applied`, its decision with it) or refused. */
  endCommit(id: AtomicId, applied: boolean): void {
    const c = this.committing.get(id);
    if (!c) return;
    this.committing.delete(id);
    if (applied) this.counts.commit++;
    c.end();
  }

  /** The durable decision for `id`, or null: none was stored (or it was forgotten after its retention). */
  outcome(id: AtomicId): DecisionRecord | null {
    return this.store.getDecision(id);
  }

  acknowledge(id: AtomicId): Promise<boolean> {
    return this.store.acknowledgeDecision(id);
  }

  /** Forgets acknowledged decisions older than the retention; how many went. */
  async collect(): Promise<number> {
    const forgotten = await this.store.forgetDecisions(this.now() - this.retentionMs);
    if (forgotten > 0) log("forgot %d acknowledged decision(s)", forgotten);
    return forgotten;
  }

  private answer(record: DecisionRecord, proposed: AtomicOutcome): DecisionRecord {
    if (record.outcome !== proposed) this.counts.contested++;
    return { ...record };
  }
}
