/**
 * AtomicParticipants: this data server as a participant in the two-phase commits of atomic
 * threads whose writes span several homes (DESIGN §7a, issue 12). The protocol is presumed
 * abort with the "last agent" shortcut: the coordinator (the compute server running the
 * thread's root frame) has every home but one *prepare* its part, then commits the part of
 * the remaining one, the thread's *log home*, with the decision in the same transaction
 * (AtomicDecisions), then tells the prepared homes the outcome (*finish*).
 *
 *   prepare    the part is checked as a commit would be, in its writer's chain order
 *              (PageHome.prepare); accepted, it is stored durably (SegmentStore.putPrepared)
 *              and NOT applied: the writer still owns its pages, its chain turn is held, and
 *              its monitors (strict two-phase locking) keep everyone else out of its objects.
 *   finish     commit: its PageLogs applied, the record deleted in the same transaction;
 *              abort: its pages reverted, the record deleted. Answered once durable.
 *   in doubt   a prepared part whose finish does not come — its writer was dropped (died, lost
 *              its lease, reconnected), a revert took the writer's words out of one of its
 *              pages, this home restarted, or it waited longer than `doubtAfterMs` — asks its
 *              log home for the decision, proposing an abort (presumed abort: a coordinator
 *              that has not decided yet loses), and finishes itself with what it is told,
 *              retrying until the log home answers.
 *   isolation  until a part is finished, faults of its objects wait (`admitted`): in doubt, the
 *              pages may lack its words while other homes already applied theirs, and nobody
 *              may see half a thread.
 *
 * An abort that arrives before its prepare (the coordinator gave up on a slow home) is
 * remembered, so the prepare is refused when it comes.
 *
 * Rules: one part per attempt id; every part ends finished exactly once (`done`), whichever
 * of the coordinator and the resolver gets there first — both act on the log home's one
 * decision, so they agree.
 */
import createDebug from "debug";
import { baseOfAttempt, type AtomicId, type ServerId, type SysName } from "../../ra-kernel/ids.js";
import type { AtomicOutcome } from "./atomic-decisions.js";
import type { ChainTicket } from "./commit-chains.js";
import type { CommitOutcome, DataRequest, PageCommitMsg, PrepareOutcome } from "./protocol.js";
import type { PageRef } from "./page-directory.js";
import type { PreparedRecord, SegmentStore } from "./segment-store.js";

const log = createDebug("servers:data:atomic");

/** Aborts of parts not prepared (yet) remembered, at most. */
const MAX_EARLY_ABORTS = 10_000;
/** How long a resolver waits before asking the log home again (ms), doubling up to the max. */
const RESOLVE_RETRY_MS = 100;
const RESOLVE_RETRY_MAX_MS = 2000;

/** What a participant needs of its home (DataServer wires PageHome, the store and the log homes). */
export interface ParticipantHost {
  readonly serverId: ServerId;
  prepare(req: PrepareRequest, writer: string): Promise<{ outcome: CommitOutcome; ticket: ChainTicket | null }>;
  applyPrepared(pages: PageCommitMsg[], writer: string, ticket: ChainTicket | null, finished: AtomicId): Promise<void>;
  abortPrepared(pages: PageCommitMsg[], writer: string, ticket: ChainTicket | null, revert: boolean): Promise<number | undefined>;
  /** The writer's lease term here now (a part prepared under an older one is in doubt at once). */
  termOf(writer: string): number;
  /** The object a segment belongs to. */
  objectOf(segment: SysName): SysName | undefined;
  /** Proposes an abort of the attempt at its log home: the decision stored there ("commit" only if this attempt committed). */
  askLogHome(logHome: ServerId, thread: AtomicId, attempt: number): Promise<AtomicOutcome>;
  readonly store: Pick<SegmentStore, "putPrepared" | "forgetPrepared" | "listPrepared">;
}

/** A data.atomic.prepare as the participant takes it. */
export type PrepareRequest = Omit<Extract<DataRequest, { kind: "data.atomic.prepare" }>, "kind">;

/** How a part ended: `refused`, the writer's chain's refusal count after an abort (CommitChains). */
interface Finished {
  outcome: AtomicOutcome;
  refused?: number;
}

interface Part {
  record: PreparedRecord;
  pages: PageCommitMsg[];
  ticket: ChainTicket | null;
  objects: Set<SysName>;
  /** Set while its record is being stored: an abort asked meanwhile is done right after. */
  storing: boolean;
  abortAsked: boolean;
  /** Why it is in doubt, once it is (faults of its objects wait). */
  doubt: string | undefined;
  /** Its writer's words are out of its pages already (dropped, restart): an abort reverts nothing. */
  wordsGone: boolean;
  /** Set once it is being finished: the one finish. */
  finishing: Promise<Finished> | undefined;
  readonly done: Promise<void>;
  markDone: () => void;
  timer: NodeJS.Timeout | undefined;
}

export class AtomicParticipants {
  private readonly parts = new Map<AtomicId, Part>();
  private readonly earlyAborts = new Set<AtomicId>();
  /** Parts finished here, by outcome and by who finished them (metrics). */
  readonly counts = { prepared: 0, refused: 0, committed: 0, aborted: 0, resolved: 0, inDoubt: 0 };
  private closed = false;

  constructor(
    private readonly host: ParticipantHost,
    /** A prepared part whose finish has not come after this long asks its log home (ms). */
    private readonly doubtAfterMs: number,
  ) {}

  /** Parts prepared and not finished (metrics, `pages`). */
  get size(): number {
    return this.parts.size;
  }

  /** Parts a restarted home found in its store: in doubt at once (their writers' pages were dropped with our epoch). */
  restore(): void {
    for (const record of this.host.store.listPrepared()) {
      const pages = record.pages.map((p) => ({ segment: p.segment, page: p.page, log: p.log, left: 1, ...(p.stamp !== undefined ? { stamp: p.stamp } : {}) }));
      const part = this.track(record, pages, null);
      part.wordsGone = true;
      this.inDoubt(part, "this data server restarted while it was prepared");
    }
  }

  /** Two-phase commit, first phase (see header). */
  async prepare(req: PrepareRequest, writer: string): Promise<PrepareOutcome> {
    if (this.parts.has(req.id)) throw new Error(`atomic thread ${req.id} is already prepared at ${this.host.serverId}`);
    // Checked (and its chain turn taken) even if its abort came first: a part refused for that
    // must have its pages reverted as any refused one, or its writer would build on them.
    const { outcome, ticket } = await this.host.prepare(req, writer);
    if (!outcome.applied) {
      this.counts.refused++;
      return { prepared: false, epoch: outcome.epoch, reason: outcome.reason, ...(outcome.refused !== undefined ? { refused: outcome.refused } : {}) };
    }
    const record: PreparedRecord = {
      id: req.id, attempt: req.attempt, writer, logHome: req.logHome, preparedAt: Date.now(),
      pages: req.pages.map((p) => ({ segment: p.segment, page: p.page, log: p.log, ...(p.stamp !== undefined ? { stamp: p.stamp } : {}) })),
    };
    const part = this.track(record, req.pages, ticket);
    if (this.earlyAborts.delete(req.id)) part.abortAsked = true;
    try {
      if (!part.abortAsked) await this.host.store.putPrepared(record);
    } catch (err) {
      part.abortAsked = true;
      log("storing the prepared part of %s failed: %s", req.id, (err as Error).message);
    }
    part.storing = false;
    if (part.abortAsked) {
      const { refused } = await this.finish(req.id, "abort");
      this.counts.refused++;
      return { prepared: false, epoch: outcome.epoch, reason: `atomic thread ${req.id} was aborted by its coordinator before it was prepared here`, ...(refused !== undefined ? { refused } : {}) };
    }
    this.counts.prepared++;
    // Its writer was dropped while we checked it: nobody holds its objects for it any more.
    if (this.host.termOf(writer) !== req.term) this.inDoubt(part, `its writer ${writer} was dropped as it prepared`);
    else part.timer = this.doubtTimer(part);
    return { prepared: true, epoch: outcome.epoch };
  }

  /**
   * The outcome of a prepared part (the coordinator's, or the resolver's): applied or reverted,
   * durably, when this resolves. `finished` false: no part of that id here (an abort is
   * remembered for a prepare still on its way).
   */
  async finish(id: AtomicId, outcome: AtomicOutcome): Promise<{ finished: boolean; refused?: number }> {
    const part = this.parts.get(id);
    if (!part) {
      if (outcome === "abort") this.rememberAbort(id);
      return { finished: false };
    }
    if (part.storing) {
      part.abortAsked ||= outcome === "abort";
      await part.done;
      return { finished: true };
    }
    if (!part.finishing) part.finishing = this.run(part, outcome);
    const { refused } = await part.finishing;
    return { finished: true, ...(refused !== undefined ? { refused } : {}) };
  }

  /**
   * Resolves once no prepared part holds `object`: a fault of its pages waits for that. A part
   * in doubt must keep everyone out (see header); one whose coordinator is alive holds the
   * object's monitor anyway, and if it released it before its finish came (a finish that
   * timed out), a copy taken meanwhile would be built without the part's words.
   */
  async admitted(object: SysName): Promise<void> {
    if (this.parts.size === 0) return;
    for (;;) {
      const part = [...this.parts.values()].find((p) => p.objects.has(object));
      if (!part) return;
      await part.done;
    }
  }

  /** `holder` was dropped here: its prepared parts are in doubt (its words are out of their pages). */
  holderDropped(holder: string): void {
    for (const part of this.parts.values()) {
      if (part.record.writer !== holder) continue;
      part.wordsGone = true;
      this.inDoubt(part, `its coordinator ${holder} was dropped (it died, lost its lease or reconnected)`);
    }
  }

  /** A revert takes `holder`'s words out of `ref`: a prepared part of its that wrote the page is in doubt. */
  wordsTakenOut(ref: PageRef, holder: string): void {
    for (const part of this.parts.values()) {
      if (part.record.writer !== holder || part.doubt !== undefined) continue;
      if (part.pages.some((p) => p.segment === ref.segment && p.page === ref.page)) this.inDoubt(part, `a revert took ${holder}'s words out of its pages`);
    }
  }

  /** Whether an atomic thread holds a part prepared here (and which, for `pages`). */
  partsOf(object: SysName): { id: AtomicId; doubt?: string }[] {
    return [...this.parts.values()].filter((p) => p.objects.has(object)).map((p) => ({ id: p.record.id, ...(p.doubt ? { doubt: p.doubt } : {}) }));
  }

  close(): void {
    this.closed = true;
    for (const part of this.parts.values()) clearTimeout(part.timer);
  }

  private track(record: PreparedRecord, pages: PageCommitMsg[], ticket: ChainTicket | null): Part {
    let markDone!: () => void;
    const done = new Promise<void>((resolve) => (markDone = resolve));
    const objects = new Set<SysName>();
    for (const p of pages) {
      const object = this.host.objectOf(p.segment);
      if (object !== undefined) objects.add(object);
    }
    const part: Part = {
      record, pages, ticket, objects, storing: true, abortAsked: false, doubt: undefined, wordsGone: false,
      finishing: undefined, done, markDone, timer: undefined,
    };
    this.parts.set(record.id, part);
    return part;
  }

  private rememberAbort(id: AtomicId): void {
    this.earlyAborts.add(id);
    if (this.earlyAborts.size <= MAX_EARLY_ABORTS) return;
    for (const old of this.earlyAborts) {
      this.earlyAborts.delete(old);
      break;
    }
  }

  /** Applies or reverts the part, durably; then it is forgotten. */
  private async run(part: Part, outcome: AtomicOutcome): Promise<Finished> {
    clearTimeout(part.timer);
    const { record } = part;
    let refused: number | undefined;
    try {
      if (outcome === "commit") {
        await this.host.applyPrepared(part.pages, record.writer, part.ticket, record.id);
        this.counts.committed++;
      } else {
        refused = await this.host.abortPrepared(part.pages, record.writer, part.ticket, !part.wordsGone);
        await this.host.store.forgetPrepared(record.id);
        this.counts.aborted++;
      }
      log("%s: prepared part %s (%d page(s))", record.id, outcome === "commit" ? "applied" : "reverted", part.pages.length);
      this.parts.delete(record.id);
      part.markDone();
      return { outcome, ...(refused !== undefined ? { refused } : {}) };
    } catch (err) {
      // The store failed (the home stops: PageHome.storeFailed) or closed: the record stays
      // for the next start, which resolves it again.
      log("finishing the prepared part of %s failed: %s", record.id, (err as Error).message);
      part.finishing = undefined;
      throw err;
    }
  }

  private doubtTimer(part: Part): NodeJS.Timeout {
    const timer = setTimeout(() => this.inDoubt(part, `its coordinator ${part.record.writer} sent no outcome for ${this.doubtAfterMs} ms`), this.doubtAfterMs);
    timer.unref();
    return timer;
  }

  /** The part's outcome is asked of its log home from now on; faults of its objects wait (see header). */
  private inDoubt(part: Part, why: string): void {
    if (part.doubt !== undefined || part.finishing) return;
    part.doubt = why;
    this.counts.inDoubt++;
    clearTimeout(part.timer);
    log("%s is in doubt here (%s): asking its log home %s", part.record.id, why, part.record.logHome);
    void this.resolve(part);
  }

  private async resolve(part: Part): Promise<void> {
    const { record } = part;
    const thread = baseOfAttempt(record.id, record.attempt);
    for (let wait = RESOLVE_RETRY_MS; !this.closed && this.parts.get(record.id) === part && !part.finishing; wait = Math.min(wait * 2, RESOLVE_RETRY_MAX_MS)) {
      try {
        const outcome = await this.host.askLogHome(record.logHome, thread, record.attempt);
        if (part.finishing) break;
        part.finishing = this.run(part, outcome);
        await part.finishing;
        this.counts.resolved++;
        return;
      } catch (err) {
        log("%s: could not learn its outcome from %s (%s): asking again in %d ms", record.id, record.logHome, (err as Error).message, wait);
      }
      await new Promise((resolve) => setTimeout(resolve, wait).unref());
    }
  }
}
