/**
 * AtomicUnits: the atomic threads this compute server runs (DESIGN §7a, issue 12): what each
 * wrote so far, which monitors it holds, and whether it must abort.
 *
 * An invocation of an `@entry({ atomic: true })` entry outside any atomic thread starts one:
 * its *unit* (AtomicUnit), named by an atomic id and aged by its start (wound-wait: a retry
 * keeps the age of the first attempt). Every frame of the thread from there on — the root's
 * and its nested invocations', atomic entries or not — joins the unit:
 *   - it takes its object's monitor for the unit (at the object's home, the atomic id as the
 *     thread) the first time the unit enters the object, and the unit keeps it to its end:
 *     strict two-phase locking on objects, so another atomic thread or exclusive entry never
 *     sees what the unit wrote before it committed;
 *   - its write log (commit segment) is not committed when the frame returns, nor at a lock
 *     release inside it: it is added to the unit's logs;
 *   - a frame whose segment broke (a page it relied on was lost) marks the unit `broken`.
 * When the root returns, the unit's logs are committed as ONE segment (DsmClient merges the
 * pages several frames wrote): all applied or none. If the root threw, a frame broke, or a
 * home wounded the unit (an older atomic thread, or a non-atomic access to an object it holds:
 * servers/data/lock-table.ts, UserObjectManager's gate), the segment is aborted instead — the
 * homes revert the pages, so no copy anywhere keeps its words — and then the monitors go back.
 * A wounded unit, or one that lost pages, is run again (a new unit, same age) before its
 * caller sees AtomicAbortedError.
 *
 * A unit that wrote at one data server commits there as one segment, its decision in the same
 * transaction (for Cluster.outcome); one that wrote at several commits with two-phase commit
 * (ra-kernel/two-phase-commit.ts). Every frame of an atomic thread runs on the compute server
 * where it started, unless a location hint sends a nested invocation elsewhere: the frame
 * runs there in a *branch* of the unit, joined to the root's server (its coordinator), which
 * makes that server a participant of the commit (ra-kernel/atomic-branches.ts).
 *
 * Rules: kernel-thread only. A unit is found by its atomic id (wounds, nested frames) or by
 * the isiba of one of its frames (a lock release inside it is not a commit point).
 */
import type { AtomicId, ServerId, SysName } from "./ids.js";
import type { SegmentLog } from "./write-log.js";
import { LatencyHistogram } from "./latency-histogram.js";

/** What every frame of an atomic thread carries (InvocationInput.thread.atomic). */
export interface AtomicContext {
  id: AtomicId;
  /** When its first attempt started (ms since the Unix epoch): its age for wound-wait. */
  since: number;
  /** The compute server running its root frame (its coordinator); absent: this one. */
  coordinator?: ServerId;
}

/** A branch's state (ra-kernel/atomic-branches.ts). */
export interface BranchState {
  coordinator: ServerId;
  joined: Promise<void>;
  /** Once prepared: how to finish its parts, and where its decision is kept. */
  prepared?: { finish(outcome: "commit" | "abort"): Promise<void>; thread: AtomicId; attempt: number; logHome: ServerId };
  /** Stops watching the coordinator (and the orphan timer). */
  forget?: () => void;
}

/** Why units aborted, for /metrics. */
export type AbortReason = "threw" | "wounded" | "pages lost" | "commit failed";

export class AtomicUnit {
  /** Every frame's segments, in the order the frames ended. */
  readonly logs: SegmentLog[] = [];
  /** Frames' isibas (and objects) whose detached blocks and locks wait for the unit's outcome. */
  readonly frames: { isiba: number; object: SysName }[] = [];
  /** Objects whose monitor the unit holds (or asked for) at their homes. */
  readonly monitors = new Set<SysName>();
  /** Per object, the kernel's dropMark when the unit took its monitor: it relied on its pages from then on. */
  readonly marks = new Map<SysName, number>();
  /** Ends the activity the unit counts in each of its objects (UserObjectManager.enter). */
  readonly leaves: (() => void)[] = [];
  /** Why its segment must not commit (a frame's page fault failed). */
  broken: string | undefined;
  /** Why a home wants it aborted (wound-wait). */
  wounded: string | undefined;
  /** Resolves when it is wounded: a wait for a monitor gives up then (see UserObjectManager.atomicFrame). */
  readonly woundedSignal: Promise<string>;
  private onWounded!: (reason: string) => void;
  /** Resolves when it is over (committed or aborted, its monitors given back). */
  readonly ended: Promise<void>;
  /** Homes that gave its monitors back with its commit or finish there (DsmClient: AtomicCommit.releases). */
  readonly releasedAt = new Set<ServerId>();
  /** A root's: compute servers that joined it with branches (frames it sent there). */
  readonly branches = new Set<ServerId>();
  /** A root's: it is committing or aborting, no branch may join any more. */
  closed = false;
  /** A branch's: its coordinator, and its prepared parts once prepared (AtomicBranches). */
  branch: BranchState | undefined;
  /** @internal AtomicUnits.end */
  markEnded!: () => void;

  constructor(
    readonly ctx: AtomicContext,
    /** The kernel's dropMark when it started: a page taken back since aborts its commit. */
    readonly startMark: number,
  ) {
    this.woundedSignal = new Promise((resolve) => (this.onWounded = resolve));
    this.ended = new Promise((resolve) => (this.markEnded = resolve));
  }

  /** Told of its wound (a branch forwards it to its coordinator: AtomicBranches). */
  onWound: ((reason: string) => void) | undefined;
  /** Frames of it running here now. */
  private running = 0;
  private idle: (() => void)[] = [];

  /** A home wants it aborted: it stops at its next frame, and any wait for a monitor ends now. */
  wound(reason: string): void {
    if (this.wounded !== undefined) return;
    this.wounded = reason;
    this.onWounded(reason);
    this.onWound?.(reason);
  }

  /** A frame of it starts running here; call the result when it ends. */
  frameRuns(): () => void {
    this.running++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (--this.running === 0) for (const tell of this.idle.splice(0)) tell();
    };
  }

  /** Resolves once no frame of it runs here. */
  whenIdle(): Promise<void> {
    return this.running === 0 ? Promise.resolve() : new Promise((resolve) => this.idle.push(resolve));
  }

  /** A frame ended (or released a lock: `object` undefined): its segment joins the unit's. */
  addFrame(isiba: number, object: SysName | undefined, log: SegmentLog[], broken?: string): void {
    this.logs.push(...log);
    if (isiba >= 0 && object !== undefined) this.frames.push({ isiba, object });
    if (broken !== undefined) this.broken ??= broken;
  }
}

export class AtomicUnits {
  private readonly units = new Map<AtomicId, AtomicUnit>();
  private readonly byIsiba = new Map<number, AtomicUnit>();
  /** Units committed, aborted (by reason) and run again, since this server started. */
  readonly counts = {
    commits: 0, retries: 0, aborts: { threw: 0, wounded: 0, "pages lost": 0, "commit failed": 0 } as Record<AbortReason, number>,
    /** Two-phase commits (threads that wrote at several homes), by outcome. */
    twoPhase: { commit: 0, abort: 0, unknown: 0 },
  };
  /** How long two-phase commits took, prepare to finish (µs). */
  readonly twoPhaseLatency = new LatencyHistogram();

  /** A two-phase commit ended (DsmClient: AtomicCommit.record). */
  recordTwoPhase(outcome: "commit" | "abort" | "unknown", ms: number): void {
    this.counts.twoPhase[outcome]++;
    this.twoPhaseLatency.record(ms * 1000);
  }

  begin(ctx: AtomicContext, startMark: number): AtomicUnit {
    if (this.units.has(ctx.id)) throw new Error(`atomic thread ${ctx.id} is already running here`);
    const unit = new AtomicUnit(ctx, startMark);
    this.units.set(ctx.id, unit);
    return unit;
  }

  get(id: AtomicId): AtomicUnit | undefined {
    return this.units.get(id);
  }

  /** Units running now. */
  get size(): number {
    return this.units.size;
  }

  /** A home asks the unit to abort (wound-wait); false if it is not running here (any more). */
  wound(id: AtomicId, reason: string): boolean {
    const unit = this.units.get(id);
    if (!unit) return false;
    unit.wound(reason);
    return true;
  }

  /** An isiba of `unit` runs: a lock released inside it is not a commit point. */
  bindIsiba(isiba: number, unit: AtomicUnit): void {
    this.byIsiba.set(isiba, unit);
  }

  unbindIsiba(isiba: number): void {
    this.byIsiba.delete(isiba);
  }

  unitOfIsiba(isiba: number): AtomicUnit | undefined {
    return this.byIsiba.get(isiba);
  }

  /** The unit running here that holds `object`'s monitor, if one does. */
  holding(object: SysName): AtomicUnit | undefined {
    for (const unit of this.units.values()) if (unit.monitors.has(object)) return unit;
    return undefined;
  }

  /** Forgets the unit; `ended` resolves once its monitors are given back (`released`). */
  end(unit: AtomicUnit, released: Promise<unknown> = Promise.resolve()): void {
    if (this.units.get(unit.ctx.id) === unit) this.units.delete(unit.ctx.id);
    void released.finally(() => unit.markEnded());
  }
}
