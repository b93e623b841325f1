/**
 * AtomicBranches: the frames of atomic threads that run on this compute server for a root
 * running elsewhere (DESIGN §7a, issue 12). A frame of an atomic thread runs where it is, but
 * a location hint (`ref.at("cs2")`) sends a nested invocation to another compute server: there
 * it runs in a *branch* of the thread's unit — its own AtomicUnit, under the same atomic id,
 * holding the monitors it takes (at the homes, for the same thread) and the writes its frames
 * make, uncommitted, until the thread ends. The root's server is the thread's *coordinator*.
 *
 *   join      before its first frame runs here, a branch joins the coordinator
 *             (compute.atomic.join), which counts this server among the thread's participants;
 *             a thread that is over or already committing refuses, and the frame fails.
 *   prepare   at the coordinator's commit (compute.atomic.prepare), a branch prepares what its
 *             frames wrote at every home it wrote at (DsmClient.prepareBranch: two-phase
 *             commit's first phase, no last agent). A branch that was wounded or lost pages
 *             votes no, its writes reverted.
 *   finish    the outcome (compute.atomic.finish): the prepared parts are told it, or an
 *             unprepared branch's writes reverted; then the branch ends like a unit (frees
 *             what it detached if committed, gives back its locks and monitors).
 *   wounds    a home that wounds a branch (wound-wait) is forwarded to the coordinator
 *             (compute.atomic.wounded): the whole thread aborts there and runs again; and a
 *             wounded root wounds its branches, so a frame of it waiting for a monitor here
 *             gives up (the older thread that wounded it may wait for what the root holds).
 *   orphans   a branch whose coordinator's connection closes before its finish came ends by
 *             itself: unprepared, it aborts (the coordinator cannot commit without it: its
 *             prepare would find it gone); prepared, it asks the log home for the decision
 *             (proposing an abort: presumed abort) and finishes with that. A prepared branch
 *             left without a finish for `orphanAfterMs` does the same.
 *
 * Rules: kernel-thread only. A branch is found by its atomic id (AtomicUnits). Ids of ended
 * branches are remembered for a while, so a late frame of a thread that ended here is refused
 * rather than starting a branch nobody will ever finish.
 */
import createDebug from "debug";
import type { AtomicId, ServerId } from "./ids.js";
import { AtomicAbortedError } from "./errors.js";
import type { AtomicContext, AtomicUnit, AtomicUnits } from "./atomic-units.js";

const log = createDebug("ra:atomic");

/** Ids of ended branches remembered (late frames refused), at most. */
const MAX_ENDED = 10_000;
/** How often an orphan asks a log home that does not answer (ms). */
const ASK_RETRY_MS = 500;

/** How a compute server reaches the other compute servers of an atomic thread. */
export interface BranchLink {
  join(coordinator: ServerId, id: AtomicId): Promise<boolean>;
  wounded(coordinator: ServerId, id: AtomicId, reason: string): Promise<void>;
  prepare(server: ServerId, req: { id: AtomicId; thread: AtomicId; attempt: number; logHome: ServerId }): Promise<{ prepared: boolean; reason?: string }>;
  finish(server: ServerId, req: { id: AtomicId; outcome: "commit" | "abort" }): Promise<{ finished: boolean }>;
  /** Calls `gone` once the connection to `server` closes; the result stops watching. */
  watch(server: ServerId, gone: () => void): () => void;
  /** Proposes an abort of the attempt at its log home: "commit" only if that attempt committed. */
  askLogHome(logHome: ServerId, thread: AtomicId, attempt: number): Promise<"commit" | "abort">;
}

/** What a branch needs of its kernel (UserObjectManager). */
export interface BranchHost {
  readonly units: AtomicUnits;
  /** The dropMark now (a branch relies on pages from when it began). */
  dropMark(): number;
  /** Prepares the unit's writes at their homes (DsmClient.prepareBranch). */
  prepare(unit: AtomicUnit, thread: AtomicId, attempt: number, logHome: ServerId): Promise<{ prepared: boolean; reason?: string; finish(outcome: "commit" | "abort"): Promise<void> }>;
  /** Reverts the unit's writes at their homes (an abort). */
  abort(unit: AtomicUnit, reason: string): Promise<void>;
  /** Ends the unit: frees, locks and monitors (committed or not). */
  end(unit: AtomicUnit, committed: boolean): Promise<void>;
}

export class AtomicBranches {
  private readonly ended = new Set<AtomicId>();
  /** Branches begun, prepared, committed, aborted, orphaned (metrics). */
  readonly counts = { begun: 0, prepared: 0, committed: 0, aborted: 0, orphaned: 0 };

  constructor(
    private readonly host: BranchHost,
    private readonly link: BranchLink,
    /** A prepared branch with no finish after this long resolves itself (ms). */
    private readonly orphanAfterMs = 15_000,
  ) {}

  /** The branch of `ctx` here, begun and joined to its coordinator if it is new. */
  async branchOf(ctx: AtomicContext & { coordinator: ServerId }): Promise<AtomicUnit> {
    const running = this.host.units.get(ctx.id);
    if (running) {
      await running.branch?.joined;
      return running;
    }
    if (this.ended.has(ctx.id)) throw aborted(ctx.id, "it ended here already (a late frame)");
    const unit = this.host.units.begin(ctx, this.host.dropMark());
    const joined = this.join(unit, ctx.coordinator);
    unit.branch = { coordinator: ctx.coordinator, joined };
    unit.onWound = (reason) => this.forwardWound(unit, reason);
    this.counts.begun++;
    try {
      await joined;
    } catch (err) {
      await this.end(unit, false);
      throw err;
    }
    return unit;
  }

  private async join(unit: AtomicUnit, coordinator: ServerId): Promise<void> {
    const id = unit.ctx.id;
    let joined = false;
    try {
      joined = await this.link.join(coordinator, id);
    } catch (err) {
      throw aborted(id, `its coordinator ${coordinator} could not be reached (${(err as Error).message})`);
    }
    if (!joined) throw aborted(id, `its coordinator ${coordinator} is no longer running it (it ended or is committing)`);
    const stop = this.link.watch(coordinator, () => void this.orphaned(unit, `the connection to its coordinator ${coordinator} closed`));
    unit.branch!.forget = stop;
  }

  /** A home wounded the branch: the coordinator aborts the whole thread (its wound, forwarded here, comes back to it once: ignored). */
  forwardWound(unit: AtomicUnit, reason: string): void {
    const coordinator = unit.branch?.coordinator;
    if (!coordinator) return;
    this.link.wounded(coordinator, unit.ctx.id, reason).catch((err: Error) => log("telling %s that %s was wounded failed: %s", coordinator, unit.ctx.id, err.message));
  }

  /** compute.atomic.prepare (see header). */
  async prepare(req: { id: AtomicId; thread: AtomicId; attempt: number; logHome: ServerId }): Promise<{ prepared: boolean; reason?: string }> {
    const unit = this.host.units.get(req.id);
    if (!unit?.branch) return { prepared: false, reason: `atomic thread ${req.id} has no frames here (this server restarted, or they were aborted)` };
    if (unit.branch.prepared) return { prepared: true };
    const why = unit.wounded ?? unit.broken;
    if (why !== undefined) {
      await this.abortBranch(unit, why);
      return { prepared: false, reason: why };
    }
    const prepared = await this.host.prepare(unit, req.thread, req.attempt, req.logHome);
    if (!prepared.prepared) {
      await this.host.end(unit, false).finally(() => this.forget(unit));
      this.counts.aborted++;
      return { prepared: false, reason: prepared.reason };
    }
    unit.branch.prepared = { finish: prepared.finish, thread: req.thread, attempt: req.attempt, logHome: req.logHome };
    this.counts.prepared++;
    const timer = setTimeout(() => void this.orphaned(unit, `no outcome came from its coordinator for ${this.orphanAfterMs} ms`), this.orphanAfterMs);
    timer.unref();
    const stop = unit.branch.forget;
    unit.branch.forget = () => {
      clearTimeout(timer);
      stop?.();
    };
    return { prepared: true };
  }

  /** compute.atomic.finish (see header). */
  async finish(req: { id: AtomicId; outcome: "commit" | "abort" }): Promise<{ finished: boolean }> {
    const unit = this.host.units.get(req.id);
    if (!unit?.branch) return { finished: false };
    await this.finishBranch(unit, req.outcome, "its coordinator's decision");
    return { finished: true };
  }

  private async finishBranch(unit: AtomicUnit, outcome: "commit" | "abort", why: string): Promise<void> {
    const prepared = unit.branch?.prepared;
    if (!prepared) {
      if (outcome === "commit") throw new Error(`atomic thread ${unit.ctx.id}: told to commit frames that were never prepared here`);
      return this.abortBranch(unit, why);
    }
    unit.branch!.prepared = undefined; // finished once
    await prepared.finish(outcome);
    this.counts[outcome === "commit" ? "committed" : "aborted"]++;
    await this.host.end(unit, outcome === "commit").finally(() => this.forget(unit));
  }

  private async abortBranch(unit: AtomicUnit, why: string): Promise<void> {
    try {
      await this.host.abort(unit, why);
    } finally {
      this.counts.aborted++;
      await this.host.end(unit, false).finally(() => this.forget(unit));
    }
  }

  /**
   * The coordinator is gone (or silent): an unprepared branch aborts; a prepared one asks the
   * log home for the decision until it answers, then finishes with it.
   */
  private async orphaned(unit: AtomicUnit, why: string): Promise<void> {
    if (this.host.units.get(unit.ctx.id) !== unit) return;
    this.counts.orphaned++;
    const prepared = unit.branch?.prepared;
    log("branch %s is orphaned (%s)", unit.ctx.id, why);
    if (!prepared) {
      await unit.whenIdle(); // a frame still running here ends first (its writes join the unit)
      if (this.host.units.get(unit.ctx.id) !== unit || unit.branch?.prepared) return;
      return this.abortBranch(unit, why).catch((err: Error) => log("aborting orphan %s failed: %s", unit.ctx.id, err.message));
    }
    const at = prepared;
    for (;;) {
      if (this.host.units.get(unit.ctx.id) !== unit || unit.branch?.prepared !== prepared) return; // finished meanwhile
      try {
        const outcome = await this.link.askLogHome(at.logHome, at.thread, at.attempt);
        if (unit.branch?.prepared !== prepared) return;
        return await this.finishBranch(unit, outcome, why);
      } catch (err) {
        log("orphan %s could not learn its outcome from %s: %s", unit.ctx.id, at.logHome, (err as Error).message);
      }
      await new Promise((r) => setTimeout(r, ASK_RETRY_MS).unref());
    }
  }

  private forget(unit: AtomicUnit): void {
    unit.branch?.forget?.();
    this.ended.add(unit.ctx.id);
    if (this.ended.size > MAX_ENDED) for (const id of this.ended) {
      this.ended.delete(id);
      break;
    }
  }

  private async end(unit: AtomicUnit, committed: boolean): Promise<void> {
    await this.host.end(unit, committed).finally(() => this.forget(unit));
  }
}

function aborted(id: AtomicId, reason: string): AtomicAbortedError {
  return new AtomicAbortedError(`atomic thread ${id}: ${reason}`, { atomic: id, reason, retries: 0 });
}
