/**
 * UserObjectManager: turns an invocation into an isiba running in the right O space.
 *
 * On an object's first invocation here it fetches the object's descriptor and its class's
 * code segment (both immutable, so cached for good), builds the O space (code, data, heap,
 * volatile regions over the DsmClient's frames) and finds the entry point. Each invocation
 * is checked against the entry's signature before any object code runs, executed by an
 * isiba, and its last commit segment (WriteLog) is committed at the homes before the result
 * is returned — also when the entry threw (its writes before the throw are kept, as
 * documented). Then the isiba frees the blocks it detached, as a segment of its own,
 * committed in the background (a crash before leaks them). Such free segments run one at a
 * time per object here, each only once the one before was answered: a free pushes onto this
 * server's free lists (objects/heap.ts), and a push must never rest on an earlier push that
 * may still be taken out (its segment refused, its worker dead) after the later one
 * committed — a free list pointing at a block still marked used. A release of a lock inside the
 * invocation commits the segment so far first (`commitPoint`, from KernelSyscalls).
 *
 * Versioned upgrade: a class loaded again with changes gets a new version (DESIGN §5).
 * Before an invocation runs, the object's class is checked against the newest registered
 * version (asked of the source at most every `versionCheckMs` per class, and at once when the
 * entry is unknown to the version loaded here, so a new entry works right after `load`;
 * until then an invocation of an old entry may still run the old version). An object behind
 * it is upgraded once, inside its monitor (so two compute servers never interleave): an
 * isiba (op "upgrade") adds the fields the new version initializes and the object lacks
 * (objects/class-upgrade.ts; existing fields are never touched), its pages are written
 * back, then the home records the new version in the descriptor (never lowering it) and
 * the object runs the new code from then on. The old version's code stays registered.
 *
 * Deactivation (DESIGN §8: memory that scales with use): an object no invocation has used
 * for `idleMs`, or the least recently used beyond `maxActive`, is deactivated when no isiba,
 * free segment or upgrade of it is in progress here: its pages are evicted (owned ones given
 * home), its page tables dropped (DsmClient.retire), the workers drop their mappings, and
 * its O space is forgotten. An invocation that arrives meanwhile waits for that to end, and
 * activates the object anew.
 *
 * Synchronization (LockManager): an `exclusive` entry holds its object's monitor at the
 * home from before its isiba starts until its segment was committed, so the next holder sees
 * its writes — or, when the monitor is cached here, until its segment's commit was sent: the
 * next local holder then runs while the commit is on its way (early lock release: see
 * execute), and every reply still waits for its own commit. After every invocation (returned
 * or thrown) the locks its isiba still holds are released, also after the commit.
 *
 * Atomic threads (AtomicUnits, DESIGN §7a): an invocation of an atomic entry outside one is
 * its root; it and every frame of the thread below it take their object's monitor for the
 * thread (kept to its end) and add their segments to its unit instead of committing them —
 * also at a lock release inside them. When the root returns, the unit commits as one
 * segment (two-phase commit over several homes), or aborts (the root threw, a frame's segment
 * broke, or a home wounded it); wounded or lost-page units
 * run again (MAX_ATOMIC_RETRIES, MAX_LOST_PAGE_RETRIES). Its frames' frees and locks go after the outcome.
 */
import { argumentProblem } from "../objects/entry-signature.js";
import { ArgumentError, AtomicAbortedError, PagesLostError, UnknownEntryError } from "./errors.js";
import { attemptId, homeOf, type AtomicId, type ServerId, type SysName, type ThreadId } from "./ids.js";
import { AtomicUnits, type AbortReason, type AtomicContext, type AtomicUnit } from "./atomic-units.js";
import { AtomicBranches, type BranchLink } from "./atomic-branches.js";
import { WaitingAccesses } from "./waiting-accesses.js";
import type { BranchPart, TwoPhasePoint } from "./two-phase-commit.js";
import { classKey, type ClassSegment, type ObjectDescriptor } from "./object-descriptor.js";
import { Segment } from "./segment.js";
import { VirtualSpace } from "./virtual-space.js";
import type { AtomicCommit, DsmClient } from "./dsm-client.js";
import type { IsibaPool, RunFailure, RunOutcome } from "./isiba-pool.js";
import { LockManager, MONITOR_KEY } from "./lock-manager.js";
import type { RunOp } from "./isiba-messages.js";
import type { SegmentLog } from "./write-log.js";
import createDebug from "debug";
import { GarbageCollector } from "./garbage-collector.js";

const log = createDebug("ra:objects");

/**
 * Times an atomic thread that was wounded runs again before its caller hears of it. Wound-wait
 * ends every wait, but a young thread may be wounded by each older one running with it (or by
 * a stream of non-atomic readers of its objects): it keeps its age, so it ends up the oldest.
 */
export const MAX_ATOMIC_RETRIES = 100;
/** Times an atomic thread that lost pages (a home restarted, a connection broke) runs again. */
export const MAX_LOST_PAGE_RETRIES = 4;

/** Whether `err` says its thread was killed (kill, Ctrl-C, a deadline). */
function isKill(err: unknown): boolean {
  const name = (err as { name?: string } | null)?.name;
  return name === "ThreadKilledError" || name === "DeadlineExceededError";
}

/** The longest pause before a wounded atomic thread runs again (ms). */
const MAX_WOUND_BACKOFF_MS = 64;

/** A pause of about 2^(wounds-1) ms (at most MAX_WOUND_BACKOFF_MS), jittered, before a wounded thread runs again. */
function woundBackoff(wounds: number): Promise<void> {
  const ms = Math.min(2 ** (wounds - 1), MAX_WOUND_BACKOFF_MS) * (0.5 + Math.random());
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Objects deactivated concurrently by one pass of deactivateIdle. */
const DEACTIVATIONS_AT_ONCE = 32;

/** Where descriptors and class code come from (the homes, through the compute server). */
export interface ObjectSource {
  descriptor(sysname: SysName): Promise<ObjectDescriptor>;
  /** The given version of a class, or the latest when `version` is omitted. */
  classSegment(name: string, version?: number): Promise<ClassSegment>;
  /** The newest registered version of a class (0: unknown). Absent: objects never upgrade. */
  latestClassVersion?(name: string): Promise<number>;
  /** Records at the object's home that it runs `classVersion` now (never lowers it); the stored descriptor. */
  upgradeDescriptor?(sysname: SysName, classVersion: number): Promise<ObjectDescriptor>;
}

export interface UserObjectManagerOptions {
  /**
   * How long (ms) a class's newest version, once asked of the source, is trusted: a class
   * loaded again reaches objects already loaded here within this time.
   * @default 500
   */
  versionCheckMs?: number;
  /** An object unused here for this long (ms) is deactivated by `deactivateIdle`. @default 30000 */
  idleMs?: number;
  /** Objects active here at most: past it, the least recently used idle ones are deactivated. @default 2000 */
  maxActive?: number;
  /** This compute server (the coordinator of the atomic threads rooted here). */
  serverId?: ServerId;
  /** How frames of atomic threads reach other compute servers. @default none: every frame runs where its thread started */
  branchLink?: BranchLink;
  /** Fault injection for tests: holds two-phase commits at a point (TwoPhaseCommit: pause). */
  twoPhasePause?: (point: TwoPhasePoint) => Promise<void>;
  /** Told of each frame's commit of what it wrote (traces): its thread, what, how long, and whether it failed. @default none */
  onCommit?: (thread: string, detail: string, ms: number, failed?: Error) => void;
}

/**
 * Active objects kept per compute server by default. An active object costs ~65 KB beyond its
 * cached pages (page tables shared with the workers, its instance and views in each worker
 * that ran it, kernel records): 2,000 keep a compute server near 300 MB plus its page cache.
 */
export const DEFAULT_MAX_ACTIVE = 2000;

/** An active object's use here: invocations in it now, and when the last one ended. */
interface Activity {
  running: number;
  last: number;
}

export interface InvocationInput {
  object: SysName;
  entry: string;
  args: unknown[];
  /**
   * `atomic`: the invocation is a frame of that atomic thread (running here); `deadline`: when
   * the thread must be done (ms since the Unix epoch; the compute server enforces it).
   */
  thread: { id: ThreadId; depth: number; atomic?: AtomicContext; deadline?: number };
}

interface LoadedObject {
  descriptor: ObjectDescriptor;
  klass: ClassSegment;
  space: VirtualSpace;
}

export class UserObjectManager {
  private readonly objects = new Map<SysName, Promise<LoadedObject>>();
  /** The objects of `objects` whose loading is done. */
  private readonly built = new Map<SysName, LoadedObject>();
  private readonly classes = new Map<string, Promise<ClassSegment>>();
  /** Class name -> its newest version as last asked, and when. */
  private readonly latest = new Map<string, { at: number; version: Promise<number> }>();
  /** Isibas that passed a commit point: when their current segment began (a dropMark). */
  private readonly starts = new Map<number, number>();
  /** Per object, the last free segment queued here (they run one at a time: see header). */
  private readonly freeing = new Map<SysName, Promise<void>>();
  /** Upgrades in progress here, one per object. */
  private readonly upgrading = new Map<SysName, Promise<LoadedObject>>();
  private readonly versionCheckMs: number;
  private readonly idleMs: number;
  private readonly maxActive: number;
  private readonly activity = new Map<SysName, Activity>();
  /** Deactivations in progress (invocations of those objects wait for them). */
  private readonly deactivating = new Map<SysName, Promise<unknown>>();
  /** Objects deactivated so far. */
  deactivations = 0;
  /** Collects the page tables of deactivated objects every so many (GarbageCollector). */
  private readonly collector = new GarbageCollector(512);
  /** The atomic threads running here. */
  readonly atomics = new AtomicUnits();
  /** Atomic roots started here by non-atomic frames, to name their units apart. */
  private atomicRoots = 0;
  /** Frames of atomic threads rooted elsewhere (null: this server takes none). */
  readonly branches: AtomicBranches | null;
  private readonly serverId: ServerId | undefined;
  private readonly twoPhasePause: ((point: TwoPhasePoint) => Promise<void>) | undefined;
  private readonly onCommit: UserObjectManagerOptions["onCommit"];
  private readonly branchLink: BranchLink | undefined;
  /** Non-atomic invocations waiting for an atomic thread here to let go of an object (atomicGate). */
  private readonly plainWaiting = new WaitingAccesses<SysName>();
  /** Non-atomic invocations running here, per object and thread (an atomic thread entering the object waits for other threads'). */
  private readonly plain = new Map<SysName, { threads: Map<string, number>; drained: (() => void)[] }>();

  constructor(
    private readonly pool: IsibaPool,
    private readonly dsm: DsmClient,
    private readonly source: ObjectSource,
    /** Arbitrates exclusive entries and releases what invocations leave held. @default no homes: exclusive entries fail */
    private readonly locks: LockManager = new LockManager(),
    options: UserObjectManagerOptions = {},
  ) {
    this.versionCheckMs = options.versionCheckMs ?? 500;
    this.idleMs = options.idleMs ?? 30_000;
    this.maxActive = options.maxActive ?? DEFAULT_MAX_ACTIVE;
    this.serverId = options.serverId;
    this.twoPhasePause = options.twoPhasePause;
    this.onCommit = options.onCommit;
    this.branchLink = options.branchLink;
    this.branches = options.branchLink ? new AtomicBranches({
      units: this.atomics,
      dropMark: () => this.dsm.dropMark,
      prepare: (unit, thread, attempt, logHome) => this.dsm.prepareBranch(unit.logs, unit.startMark, { id: thread, attempt, sinceOf: this.sinceOf(unit), ...this.monitorReleases(unit) }, logHome),
      abort: (unit, reason) => this.abortWrites(unit, reason),
      end: (unit, committed) => this.endUnit(unit, committed),
    }, options.branchLink) : null;
  }

  /** Objects whose O space is built here (their working set may be warm). */
  loadedObjects(): SysName[] {
    return [...this.objects.keys()];
  }

  async invoke(input: InvocationInput): Promise<unknown> {
    const leave = await this.enter(input.object);
    try {
      return await this.invokeActive(input);
    } finally {
      leave();
    }
  }

  /**
   * The object's persistent fields as plain data (`inspect NAME`), read like an entry's
   * reads — faults take copies, and other threads' committed writes are what it sees — but
   * running none of the class's code, writing nothing, taking no monitor.
   */
  async inspect(object: SysName, options: { depth?: number; maxItems?: number }, thread: InvocationInput["thread"]): Promise<{ className: string; classVersion: number; fields: Record<string, unknown> }> {
    const leave = await this.enter(object);
    try {
      const obj = await this.loadCurrent(object, thread);
      const fields = (await this.run(obj, "inspect", { object, entry: "inspect", args: [options], thread })) as Record<string, unknown>;
      return { className: obj.klass.name, classVersion: obj.klass.version, fields };
    } finally {
      leave();
    }
  }

  private async invokeActive(input: InvocationInput): Promise<unknown> {
    let obj = await this.loadCurrent(input.object, input.thread);
    const entryOf = (o: LoadedObject) => o.klass.entries.find((e) => e.name === input.entry && !e.ctor);
    if (!entryOf(obj) && this.latest.delete(obj.klass.name)) {
      // Perhaps an entry of a version loaded since we last asked: ask now, not in versionCheckMs.
      obj = await this.loadCurrent(input.object, input.thread);
    }
    const sig = entryOf(obj);
    const className = obj.klass.name;
    if (!sig) {
      const known = obj.klass.entries.filter((e) => !e.ctor).map((e) => e.name).join(", ") || "none";
      throw new UnknownEntryError(`${className} has no entry '${input.entry}' (entries: ${known})`, { className, entry: input.entry });
    }
    const problem = argumentProblem(sig, input.args);
    if (problem) throw new ArgumentError(`${className}.${problem}`, { className, entry: input.entry });
    if (input.thread.atomic) return this.atomicFrame(obj, input, await this.unitOf(input.thread.atomic));
    if (sig.atomic) return this.atomicRoot(obj, input);
    await this.atomicGate(input.object);
    const done = this.countPlain(input.object, input.thread.id);
    try {
      return await this.execute(obj, "call", input, sig.exclusive);
    } finally {
      done();
    }
  }

  /**
   * A non-atomic invocation never runs in an object an atomic thread holds here (it would see
   * its writes before they commit): it wounds the thread — a non-atomic thread never waits for
   * an atomic one — and runs once the thread is over.
   */
  private async atomicGate(object: SysName): Promise<void> {
    if (!this.atomics.holding(object)) return;
    // No atomic thread takes the object while this one waits (WaitingAccesses: no starvation).
    const served = this.plainWaiting.hold(object);
    try {
      for (let unit = this.atomics.holding(object); unit; unit = this.atomics.holding(object)) {
        unit.wound(`a non-atomic invocation of ${object} arrived at this compute server`);
        await unit.ended;
      }
    } finally {
      served();
    }
  }

  /** Counts a non-atomic invocation of `object` by `thread` running; call the result when it ends. */
  private countPlain(object: SysName, thread: string): () => void {
    let p = this.plain.get(object);
    if (!p) this.plain.set(object, (p = { threads: new Map(), drained: [] }));
    p.threads.set(thread, (p.threads.get(thread) ?? 0) + 1);
    const mine = p;
    return () => {
      const left = (mine.threads.get(thread) ?? 1) - 1;
      if (left > 0) mine.threads.set(thread, left);
      else mine.threads.delete(thread);
      if (mine.threads.size > 0) return;
      if (this.plain.get(object) === mine) this.plain.delete(object);
      for (const tell of mine.drained.splice(0)) tell();
    };
  }

  /** Resolves once no non-atomic invocation of `object` by a thread other than `thread` runs here. */
  private async plainDrained(object: SysName, thread: string): Promise<void> {
    for (;;) {
      const p = this.plain.get(object);
      if (!p || [...p.threads.keys()].every((t) => t === thread)) return;
      await new Promise<void>((resolve) => p.drained.push(resolve));
    }
  }

  /** The atomic thread an isiba belongs to, if it is a frame of one (nested invocations run in it). */
  atomicOf(isiba: number): AtomicContext | undefined {
    return this.atomics.unitOfIsiba(isiba)?.ctx;
  }

  /** The unit a frame of `ctx` runs in: the thread's here, or a new branch of it (its root runs elsewhere). */
  private async unitOf(ctx: AtomicContext): Promise<AtomicUnit> {
    const unit = this.atomics.get(ctx.id);
    if (unit && !unit.branch) return unit;
    const coordinator = ctx.coordinator;
    if (this.branches && coordinator !== undefined && coordinator !== this.serverId) return this.branches.branchOf({ ...ctx, coordinator });
    const reason = "it is not running here any more (it ended, or this server restarted)";
    throw new AtomicAbortedError(`atomic thread ${ctx.id}: ${reason}`, { atomic: ctx.id, reason, retries: 0 });
  }

  /** A compute server asks to run frames of atomic thread `id` (rooted here) in a branch: false if it is over or committing. */
  acceptBranch(id: AtomicId, server: ServerId): boolean {
    const unit = this.atomics.get(id);
    if (!unit || unit.branch || unit.closed || unit.wounded !== undefined) return false;
    unit.branches.add(server);
    return true;
  }

  /**
   * Another compute server of atomic thread `id` says it was wounded: a branch of a root
   * running here (the thread aborts), or the coordinator of a branch running here (a frame of
   * it waiting for a monitor must give up, or the older thread that wounded the root would
   * wait for it for ever).
   */
  woundFromPeer(id: AtomicId, server: ServerId, reason: string): boolean {
    const unit = this.atomics.get(id);
    if (!unit) return false;
    if (unit.branch ? unit.branch.coordinator !== server : !unit.branches.has(server)) return false;
    unit.wound(`wounded on ${server}: ${reason}`);
    return true;
  }

  /**
   * Runs an atomic entry as the root of a new atomic thread (see header): commits its unit
   * when it returns, or aborts it and runs it again (wounded, pages lost) or fails.
   */
  private async atomicRoot(obj: LoadedObject, input: InvocationInput): Promise<unknown> {
    const base = (input.thread.depth === 0 ? input.thread.id : `${input.thread.id}/${++this.atomicRoots}`) as AtomicId;
    const since = Date.now();
    let lostPages = 0;
    let wounds = 0;
    for (let attempt = 0; ; attempt++) {
      // Wounded again and again by non-atomic readers of its objects: a growing pause lets
      // them through, where running again at once would only be wounded again (livelock).
      if (wounds > 0) await woundBackoff(wounds);
      const ctx: AtomicContext = { id: attemptId(base, attempt), since, ...(this.serverId !== undefined ? { coordinator: this.serverId } : {}) };
      const unit = this.atomics.begin(ctx, this.dsm.dropMark);
      unit.onWound = (reason) => this.woundBranches(unit, reason);
      let committed = false;
      try {
        const ran = await this.atomicFrame(obj, { ...input, thread: { ...input.thread, atomic: ctx } }, unit).then(
          (value) => ({ value, error: undefined as unknown }),
          (error: unknown) => ({ value: undefined, error: error ?? new Error("the atomic entry threw undefined") }),
        );
        const why = this.abortReason(unit, ran.error);
        if (why === null) {
          const began = performance.now();
          const outcome = await this.commitUnit(unit, base, attempt, input.object);
          const what = `atomic thread ${base}, attempt ${attempt}: ${pagesIn(unit.logs)} page(s) ${outcome instanceof Error ? "" : outcome}`;
          this.onCommit?.(input.thread.id, what, performance.now() - began, outcome instanceof Error ? outcome : undefined);
          if (outcome === "committed") {
            committed = true;
            this.atomics.counts.commits++;
            return ran.value;
          }
          if (outcome instanceof Error) throw outcome; // unknown outcome: never run again
        } else {
          await this.abortUnit(unit, why, ran.error);
        }
        const reason: AbortReason = why ?? "pages lost";
        if (reason === "pages lost") lostPages++;
        if ((reason === "wounded" && attempt < MAX_ATOMIC_RETRIES) || (reason === "pages lost" && lostPages <= MAX_LOST_PAGE_RETRIES)) {
          this.atomics.counts.retries++;
          // Only a wound by a non-atomic access waits: an older atomic thread that wounded this
          // one goes on anyway, and this one's next attempt waits for it at the monitor.
          if (reason === "wounded" && /non-atomic/.test(unit.wounded ?? "")) wounds++;
          log("atomic thread %s aborted (%s): running it again", ctx.id, unit.wounded ?? unit.broken ?? reason);
          continue;
        }
        if (reason === "threw") throw ran.error;
        const detail = reason === "wounded" ? unit.wounded! : unit.broken ?? "pages it relied on were taken back";
        throw new AtomicAbortedError(`atomic thread ${base} aborted, nothing it wrote was applied: ${detail}${attempt > 0 ? ` (after ${attempt} retries)` : ""}`, { atomic: base, reason: detail, retries: attempt });
      } finally {
        await this.endUnit(unit, committed);
      }
    }
  }

  /** Why the unit must abort rather than commit, or null. */
  private abortReason(unit: AtomicUnit, error: unknown): AbortReason | null {
    // A branch that was wounded or lost pages fails its frame with this thread's
    // AtomicAbortedError, which may come back before its own notice (compute.atomic.wounded).
    const e = error as { name?: string; atomic?: string; reason?: string } | undefined;
    // A killed thread (kill, Ctrl-C, a deadline) ends: it is not run again, whatever broke.
    if (isKill(error)) return "threw";
    if (e?.name === "AtomicAbortedError" && e.atomic === unit.ctx.id) unit.wounded ??= e.reason ?? "a frame of it elsewhere aborted";
    if (unit.wounded) return "wounded";
    // A frame that lost a page throws too: that is no fault of the entry's, run it again.
    if (unit.broken) return "pages lost";
    if (error !== undefined) return "threw";
    return null;
  }

  /**
   * One frame of an atomic thread: its object's monitor for the thread (once), the isiba, and
   * its segment added to the unit — never committed here. A wounded unit runs no new frame.
   */
  private async atomicFrame(obj: LoadedObject, input: InvocationInput, unit: AtomicUnit): Promise<unknown> {
    const ctx = unit.ctx;
    if (unit.wounded) throw new AtomicAbortedError(`atomic thread ${ctx.id}: ${unit.wounded}`, { atomic: ctx.id, reason: unit.wounded, retries: 0 });
    if (!unit.monitors.has(input.object)) {
      // Active until the thread ends: never deactivated while it has writes here not committed.
      unit.leaves.push(await this.enter(input.object));
      await this.atomicMonitor(input.object, unit, input);
    }
    let outcome: RunOutcome;
    const ran = unit.frameRuns();
    try {
      outcome = await this.pool.run({
        op: "call", object: input.object, entry: input.entry, args: input.args, thread: { id: input.thread.id, depth: input.thread.depth }, since: unit.startMark,
        klass: { key: classKey(obj.klass.name, obj.klass.version), name: obj.klass.name, code: obj.klass.code },
        data: this.dsm.framesOf(obj.space.region("data").segment, input.object),
        heap: this.dsm.framesOf(obj.space.region("heap").segment, input.object),
        onStart: (isiba) => this.atomics.bindIsiba(isiba, unit),
      });
    } catch (err) {
      const failure = err as Partial<RunFailure>;
      unit.addFrame(failure.isiba ?? -1, input.object, failure.log ?? [], failure.broken);
      if (failure.isiba !== undefined) this.atomics.unbindIsiba(failure.isiba);
      ran();
      throw err;
    }
    unit.addFrame(outcome.isiba, input.object, outcome.log, outcome.broken);
    this.atomics.unbindIsiba(outcome.isiba);
    ran();
    // A branch that lost pages cannot commit: its coordinator runs the thread again.
    if (unit.branch && outcome.broken !== undefined) this.branches?.forwardWound(unit, `pages lost on ${this.serverId}: ${outcome.broken}`);
    return outcome.value;
  }

  /**
   * Takes `object`'s monitor for the unit — unless the unit is wounded first: a wounded thread
   * waiting for a monitor would never reach its next frame to abort, and the older thread that
   * wounded it waits for what it holds. The wait then goes on alone and gives the monitor back
   * if it is granted later.
   */
  private async atomicMonitor(object: SysName, unit: AtomicUnit, input: InvocationInput): Promise<void> {
    const ctx = unit.ctx;
    await this.plainWaiting.none(object); // a non-atomic invocation waiting for the object goes first
    const acquired = this.locks.acquireAtomicMonitor(object, ctx);
    const wounded = unit.woundedSignal.then((reason) => new AtomicAbortedError(`atomic thread ${ctx.id}: ${reason}`, { atomic: ctx.id, reason, retries: 0 }));
    // The race's own answer says who won (a flag set by the loser's callback could lie).
    const first = await Promise.race([acquired.then(() => null), wounded]);
    if (first !== null) {
      acquired.then(() => this.locks.releaseAtomicMonitor(object, ctx), () => undefined);
      throw first;
    }
    unit.monitors.add(object);
    // Other threads' non-atomic invocations already running in the object here would see its
    // writes: they finish first (new ones wait for the thread: atomicGate).
    const drained = await Promise.race([this.plainDrained(object, input.thread.id).then(() => null), wounded]);
    if (drained !== null) throw drained;
    // What happened to the object's pages before is no concern of this thread's (an aborted
    // thread that held it before had its pages reverted before it gave the monitor back).
    unit.marks.set(object, this.dsm.dropMark);
  }

  /**
   * Commits the unit as one segment (two-phase over several homes), its decision stored under
   * `base` (the thread's id) as attempt `attempt`: "committed", "not applied" (refused or a lost
   * page: nothing applied), or the error of an unknown outcome.
   */
  private async commitUnit(unit: AtomicUnit, base: AtomicId, attempt: number, root: SysName): Promise<"committed" | "not applied" | Error> {
    unit.closed = true; // no branch joins a thread that is committing
    try {
      // Its decision is stored under the thread's id, whichever attempt commits (Cluster.outcome asks by it).
      await this.dsm.commit(unit.logs, unit.startMark, unit.broken, undefined, {
        id: base, attempt, sinceOf: this.sinceOf(unit),
        record: (outcome, ms) => this.atomics.recordTwoPhase(outcome, ms),
        branches: this.branchParts(unit, base, attempt), fallbackLogHome: homeOf(root), ...this.monitorReleases(unit), pause: this.twoPhasePause,
      });
      return "committed";
    } catch (err) {
      if (err instanceof PagesLostError) {
        unit.broken ??= err.message;
        this.atomics.counts.aborts["pages lost"]++;
        await this.finishBranches(unit, "abort"); // those the commit did not tell already
        return "not applied";
      }
      this.atomics.counts.aborts["commit failed"]++;
      return err instanceof Error ? err : new Error(String(err));
    }
  }

  /** From when the unit relied on each object's pages: from when it took its monitor. */
  private sinceOf(unit: AtomicUnit): (object: SysName | undefined) => number {
    return (object) => (object && unit.marks.get(object)) ?? unit.startMark;
  }

  /** The unit's branches as two-phase commit reaches them (compute.atomic.prepare / finish). */
  private branchParts(unit: AtomicUnit, base: AtomicId, attempt: number): BranchPart[] {
    const link = this.branchLink;
    if (!link || unit.branches.size === 0) return [];
    const id = unit.ctx.id;
    return [...unit.branches].map((server) => ({
      server,
      prepare: (logHome) => link.prepare(server, { id, thread: base, attempt, logHome }),
      finish: (outcome) => link.finish(server, { id, outcome }),
    }));
  }

  /** The root was wounded: so are its branches (their waits for monitors end). */
  private woundBranches(unit: AtomicUnit, reason: string): void {
    const link = this.branchLink;
    if (!link) return;
    for (const server of unit.branches) {
      link.wounded(server, unit.ctx.id, reason).catch((err: Error) => log("telling branch %s that %s was wounded failed: %s", server, unit.ctx.id, err.message));
    }
  }

  /** Tells every branch of the unit the outcome (an abort: they revert their writes and end); failures are logged: an orphan resolves itself. */
  private async finishBranches(unit: AtomicUnit, outcome: "commit" | "abort"): Promise<void> {
    const link = this.branchLink;
    if (!link) return;
    await Promise.all([...unit.branches].map((server) => link.finish(server, { id: unit.ctx.id, outcome }).catch((err: Error) => {
      log("telling branch %s of %s to %s failed: %s", server, unit.ctx.id, outcome, err.message);
    })));
  }

  /** Aborts the unit's segment: its homes revert the pages it wrote (nothing of it is applied anywhere). */
  private async abortUnit(unit: AtomicUnit, why: AbortReason, error: unknown): Promise<void> {
    this.atomics.counts.aborts[why]++;
    unit.closed = true;
    const reason = why === "threw" ? `the atomic entry threw (${(error as Error)?.message ?? String(error)})` : unit.wounded ?? unit.broken ?? why;
    await Promise.all([this.abortWrites(unit, reason), this.finishBranches(unit, "abort")]);
  }

  /** Aborts the unit's writes here: their homes revert the pages (nothing of them is applied anywhere). */
  private async abortWrites(unit: AtomicUnit, reason: string): Promise<void> {
    try {
      await this.dsm.commit(unit.logs, unit.startMark, `atomic thread ${unit.ctx.id} aborted: ${reason}`);
    } catch (err) {
      // PagesLostError is what an abort answers; anything else: the homes drop the pages with our connection or lease.
      if (!(err instanceof PagesLostError)) log("the abort of atomic thread %s could not reach every home: %s", unit.ctx.id, (err as Error).message);
    }
  }

  /** The unit is over: its frames free what they detached (if it committed), their locks and its monitors go. */
  private async endUnit(unit: AtomicUnit, committed: boolean): Promise<void> {
    const released = this.releaseUnit(unit, committed);
    this.atomics.end(unit, released);
    await released;
  }

  private async releaseUnit(unit: AtomicUnit, committed: boolean): Promise<void> {
    for (const leave of unit.leaves) leave();
    for (const { isiba, object } of unit.frames) {
      this.queueFrees(object, isiba, committed);
      await this.locks.releaseAll(isiba);
    }
    // Those that rode with a commit or finish its home answered are given back already.
    const left = [...unit.monitors].filter((object) => !unit.releasedAt.has(homeOf(object)));
    await Promise.all(left.map((object) => this.locks.releaseAtomicMonitor(object, unit.ctx)));
  }

  /**
   * The unit's monitors homed at `home`, to ride with its last message there (AtomicCommit:
   * releases): the next thread that needs them is granted them as soon as that home is done,
   * not after our reply and a release message of their own.
   */
  private monitorReleases(unit: AtomicUnit): Pick<AtomicCommit, "releases" | "released"> {
    return {
      releases: (home) => [...unit.monitors].filter((object) => homeOf(object) === home)
        .map((object) => ({ object, key: MONITOR_KEY, lock: "monitor" as const, thread: unit.ctx.id })),
      released: (home) => void unit.releasedAt.add(home),
    };
  }

  /** Runs the constructor of a freshly created object. */
  async construct(descriptor: ObjectDescriptor, args: unknown[], thread: InvocationInput["thread"]): Promise<void> {
    const leave = await this.enter(descriptor.sysname);
    try {
      await this.constructActive(descriptor, args, thread);
    } finally {
      leave();
    }
  }

  private async constructActive(descriptor: ObjectDescriptor, args: unknown[], thread: InvocationInput["thread"]): Promise<void> {
    this.track(descriptor.sysname, this.build(descriptor));
    const obj = await this.load(descriptor.sysname);
    await this.execute(obj, "create", { object: descriptor.sysname, entry: "constructor", args, thread });
  }

  /**
   * Deactivates the objects idle for `idleMs`, and the least recently used idle ones past
   * `maxActive` (see header); resolves with how many it deactivated.
   */
  async deactivateIdle(now = performance.now()): Promise<number> {
    const idle = [...this.activity].filter(([o]) => this.quiet(o)).sort((a, b) => a[1].last - b[1].last);
    const over = this.activity.size - this.maxActive;
    let end = 0;
    while (end < idle.length && (end < over || now - idle[end][1].last >= this.idleMs)) end++;
    let done = 0;
    // Several at a time: each waits for its owned pages to reach their home.
    for (let i = 0; i < end; i += DEACTIVATIONS_AT_ONCE) {
      const batch = idle.slice(i, Math.min(end, i + DEACTIVATIONS_AT_ONCE));
      const results = await Promise.all(batch.map(([object]) => this.deactivate(object)));
      done += results.filter(Boolean).length;
    }
    return done;
  }

  /** Resolves once the free segments queued so far have been answered (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.freeing.size > 0) await Promise.all([...this.freeing.values()]);
  }

  /** Objects active here (their O space built, their pages perhaps cached). */
  get activeObjects(): number {
    return this.activity.size;
  }

  /** Waits out a deactivation of `object`, then counts an invocation in it; call the result when it ends. */
  private async enter(object: SysName): Promise<() => void> {
    for (let d = this.deactivating.get(object); d; d = this.deactivating.get(object)) await d;
    let a = this.activity.get(object);
    if (!a) this.activity.set(object, (a = { running: 0, last: performance.now() }));
    a.running++;
    const mine = a;
    return () => {
      mine.running--;
      mine.last = performance.now();
    };
  }

  /** Nothing of the object is in progress here: no invocation, free segment, upgrade or deactivation. */
  private quiet(object: SysName): boolean {
    const a = this.activity.get(object);
    return a !== undefined && a.running === 0 && !this.freeing.has(object) && !this.upgrading.has(object) && !this.deactivating.has(object);
  }

  private async deactivate(object: SysName): Promise<boolean> {
    if (!this.quiet(object)) return false;
    const work = this.retire(object);
    this.deactivating.set(object, work);
    try {
      return await work;
    } finally {
      this.deactivating.delete(object);
    }
  }

  private async retire(object: SysName): Promise<boolean> {
    const loaded = await this.objects.get(object)?.catch(() => undefined);
    const segments = loaded ? [loaded.descriptor.segments.data, loaded.descriptor.segments.heap] : [];
    if (!(await this.dsm.retire(segments))) return false;
    this.pool.unmap(object, segments);
    this.collector.released(segments.length);
    this.objects.delete(object);
    this.built.delete(object);
    this.activity.delete(object);
    this.deactivations++;
    log("deactivated %s", object);
    return true;
  }

  /**
   * Runs an invocation; an exclusive one holds the object's monitor around it. A monitor
   * cached here is handed to the next local invocation as soon as this one's last commit is
   * sent (early lock release: MonitorCache.handOff), while this one's reply still waits for
   * the commit's answer; it goes home (to another server's thread) only after that answer was
   * processed here, writers counted off — never with the commit itself (CommitRequest.release):
   * then the next holder's faults reach this server while it still counts the committed
   * writers, it answers recalls "dirty", and a kill of it reverts pages on those stale marks.
   */
  private async execute(obj: LoadedObject, op: RunOp, input: InvocationInput, exclusive = false): Promise<unknown> {
    if (!exclusive) return this.run(obj, op, input);
    const monitor = await this.locks.acquireMonitor(input.object, input.thread.id, input.thread.depth);
    let handedOff = false;
    let answered!: () => void;
    const done = new Promise<void>((resolve) => (answered = resolve));
    try {
      return await this.run(obj, op, input, () => (handedOff = this.locks.handOffMonitor(monitor, done)));
    } finally {
      answered();
      if (!handedOff) await this.locks.releaseMonitor(monitor);
    }
  }

  /** Frames run again because their worker was terminated to kill another thread (RunFailure.rerun). */
  reruns = 0;

  /**
   * Runs the isiba, commits its last segment (`sent`: once on its way), then releases the
   * locks it left held. A frame whose worker was terminated to kill another thread before it
   * did anything outside it runs again, once (its writes were given up: as if it started
   * later); not a frame of an atomic thread, whose unit saw the worker die.
   */
  private async run(obj: LoadedObject, op: RunOp, input: InvocationInput, sent?: () => void, again = false): Promise<unknown> {
    let outcome: RunOutcome;
    const started = this.dsm.dropMark;
    try {
      outcome = await this.pool.run({
        op, object: input.object, entry: input.entry, args: input.args, thread: input.thread, since: started,
        klass: { key: classKey(obj.klass.name, obj.klass.version), name: obj.klass.name, code: obj.klass.code },
        data: this.dsm.framesOf(obj.space.region("data").segment, input.object),
        heap: this.dsm.framesOf(obj.space.region("heap").segment, input.object),
      });
    } catch (err) {
      const failure = err as Partial<RunFailure>;
      const finishing = this.finish(input, failure.isiba ?? -1, failure.log ?? [], started, failure.broken);
      // A killed thread's segment is aborted on purpose: its caller hears of the kill, not of the abort.
      if (isKill(err)) await finishing.catch(() => undefined);
      else await finishing;
      if (failure.rerun && !again && !input.thread.atomic) {
        this.reruns++;
        log("isiba %d (%s of %s) lost its worker to another thread's kill before it did anything outside it: running it again", failure.isiba, input.entry, input.object);
        return this.run(obj, op, input, sent, true);
      }
      throw err;
    }
    await this.finish(input, outcome.isiba, outcome.log, started, outcome.broken, sent);
    return outcome.value;
  }

  /**
   * Commits an isiba's last segment, lets it free what it detached (committed in the
   * background), and releases what it still holds — also when the commit failed.
   */
  private async finish(input: InvocationInput, isiba: number, log: SegmentLog[], started: number, broken?: string, sent?: () => void): Promise<void> {
    const object = input.object;
    let ok = false;
    const began = performance.now();
    try {
      await this.dsm.commit(log, this.starts.get(isiba) ?? started, broken, sent);
      ok = true;
    } catch (err) {
      if (log.length > 0) this.onCommit?.(input.thread.id, committed(log, input), performance.now() - began, err as Error);
      throw err;
    } finally {
      this.starts.delete(isiba);
      this.queueFrees(object, isiba, ok);
      await this.locks.releaseAll(isiba);
    }
    if (log.length > 0) this.onCommit?.(input.thread.id, committed(log, input), performance.now() - began);
  }

  /** Runs the isiba's free segment after the object's free segments queued before it (see header). */
  private queueFrees(object: SysName, isiba: number, ok: boolean): void {
    const after = this.freeing.get(object) ?? Promise.resolve();
    const mine = after.then(() => this.commitFrees(isiba, ok)).catch((err: Error) => log("the frees of isiba %d failed: %s", isiba, err.message));
    this.freeing.set(object, mine);
    void mine.then(() => {
      if (this.freeing.get(object) === mine) this.freeing.delete(object);
    });
  }

  private async commitFrees(isiba: number, ok: boolean): Promise<void> {
    const since = this.dsm.dropMark;
    const frees = await this.pool.afterCommit(isiba, ok);
    try {
      await this.dsm.commit(frees, since);
    } catch (err) {
      log("the frees of isiba %d were not committed (their blocks leak): %s", isiba, (err as Error).message);
    }
  }

  /**
   * A commit point inside an invocation (a lock or permit released): commits the isiba's
   * segment so far (it began at `since`, or at its last commit point); the next segment
   * begins now: returns its start mark. Throws as `DsmClient.commit` does.
   */
  async commitPoint(isiba: number, since: number, segment: SegmentLog[], broken?: string): Promise<number> {
    const unit = this.atomics.unitOfIsiba(isiba);
    if (unit) {
      // Inside an atomic thread a release commits nothing: the segment joins the thread's.
      unit.addFrame(-1, undefined, segment, broken);
      return unit.startMark;
    }
    const began = this.starts.get(isiba) ?? since;
    const next = this.dsm.dropMark;
    this.starts.set(isiba, next);
    await this.dsm.commit(segment, began, broken);
    return next;
  }

  /** The object, upgraded first if a newer version of its class is registered. */
  private async loadCurrent(sysname: SysName, thread: InvocationInput["thread"]): Promise<LoadedObject> {
    const obj = await this.load(sysname);
    const latest = await this.latestVersion(obj.klass.name);
    if (latest <= obj.klass.version) return obj;
    let p = this.upgrading.get(sysname);
    if (!p) {
      const now = await this.load(sysname);  // an upgrade may have finished meanwhile
      if (latest <= now.klass.version) return now;
      p = this.upgrade(now, latest, thread).finally(() => this.upgrading.delete(sysname));
      this.upgrading.set(sysname, p);
    }
    return p;
  }

  /**
   * Fills in the fields version `version` adds and records the version at the home, inside
   * the object's monitor; the object as built for the version the home then holds.
   */
  private async upgrade(obj: LoadedObject, version: number, thread: InvocationInput["thread"]): Promise<LoadedObject> {
    const sysname = obj.descriptor.sysname;
    const klass = await this.classOf(obj.klass.name, version);
    const input: InvocationInput = { object: sysname, entry: "upgrade", args: [], thread };
    const descriptor = await this.locks.withMonitor(sysname, thread.id, async () => {
      const added = (await this.run({ ...obj, klass }, "upgrade", input)) as string[];
      log("%s: %s@%d -> @%d, new fields: %s", sysname, klass.name, obj.klass.version, version, added.join(", ") || "none");
      return this.source.upgradeDescriptor!(sysname, version);
    });
    return this.track(sysname, this.build(descriptor));
  }

  /** The newest version of a class, asked at most every versionCheckMs (0 if it cannot be asked). */
  private latestVersion(name: string): Promise<number> {
    if (!this.source.latestClassVersion || !this.source.upgradeDescriptor) return Promise.resolve(0);
    const now = performance.now();
    const seen = this.latest.get(name);
    if (seen && now - seen.at < this.versionCheckMs) return seen.version;
    const version = this.source.latestClassVersion(name).catch((err: Error) => {
      log("cannot ask the newest version of %s (no upgrade now): %s", name, err.message);
      this.latest.delete(name);
      return 0;
    });
    this.latest.set(name, { at: now, version });
    return version;
  }

  private load(sysname: SysName): Promise<LoadedObject> {
    let p = this.objects.get(sysname);
    return p ?? this.track(sysname, this.source.descriptor(sysname).then((d) => this.build(d)));
  }

  /** Records an object being loaded (forgotten if loading fails); its segments are known once it is built. */
  private track(sysname: SysName, p: Promise<LoadedObject>): Promise<LoadedObject> {
    this.objects.set(sysname, p);
    p.then(
      (o) => { if (this.objects.get(sysname) === p) this.built.set(sysname, o); },
      () => { if (this.objects.get(sysname) === p) this.objects.delete(sysname); },
    );
    return p;
  }

  /** The data and heap segments of an object loaded here, if it is (synchronous: no fetch). */
  segmentsOf(object: SysName): SysName[] | undefined {
    const o = this.built.get(object);
    return o ? [o.descriptor.segments.data, o.descriptor.segments.heap] : undefined;
  }

  private async build(descriptor: ObjectDescriptor): Promise<LoadedObject> {
    const klass = await this.classOf(descriptor.className, descriptor.classVersion);
    const space = new VirtualSpace("O", [
      { name: "code", segment: new Segment(klass.sysname, "code"), protection: "rx" },
      { name: "data", segment: new Segment(descriptor.segments.data, "data"), protection: "rw" },
      { name: "heap", segment: new Segment(descriptor.segments.heap, "heap"), protection: "rw" },
      { name: "volatile", segment: new Segment(descriptor.segments.volatile, "volatile"), protection: "rw" },
    ]);
    return { descriptor, klass, space };
  }

  private classOf(name: string, version: number): Promise<ClassSegment> {
    const key = classKey(name, version);
    let p = this.classes.get(key);
    if (!p) {
      p = this.source.classSegment(name, version);
      p.catch(() => this.classes.delete(key));
      this.classes.set(key, p);
    }
    return p;
  }
}

/** What a frame's commit carried, for traces: pages of how many segments, and whose. */
function committed(log: SegmentLog[], input: InvocationInput): string {
  return `${pagesIn(log)} page(s) of ${log.length} segment(s), ${input.entry} of ${input.object}`;
}

function pagesIn(log: SegmentLog[]): number {
  return log.reduce((n, s) => n + s.pages.length, 0);
}
