/**
 * ComputeServer: the compute server role — a Ra kernel (K space) serving invocations.
 *
 * The K space holds the kernel's system objects, shared by every isiba: the DsmClient
 * (page cache and partition), the IsibaPool (workers), the UserObjectManager (O spaces and
 * entry points) and DataHomes (the link to the data servers). `handler` answers the compute
 * protocol: invocations and object creation from workstations, recalls from homes, and the
 * page and probe queries of tools and benchmarks. Each invocation's reply leaves only after
 * its dirty pages were committed at their homes. A creation asks the new object's home for
 * its first pages writable along with the descriptor (`grant`), so the constructor runs
 * without a page fault; its reply, too, leaves once its pages were committed.
 *
 * Object code reaches other objects through NestedInvocations (the kernel's InvocationLink):
 * names at the name server, nested invocations here or at another compute server (same
 * thread id, depth + 1, at most MAX_INVOCATION_DEPTH), and `print` lines, which go back to
 * the thread's workstation along the connections its invocations arrived on (ThreadRoutes).
 *
 * Placement (DESIGN §8): LoadGossip pushes this server's load and working sets
 * (WorkingSetSource) to the other compute servers and subscribed workstations; what they push
 * lands in `table`, and the Placer decides each nested invocation from it, recording every
 * decision in `decisions` (compute.decisions, /metrics).
 */
import createDebug from "debug";
import { DSM_COUNTERS, DsmClient } from "../../ra-kernel/dsm-client.js";
import { FramePool } from "../../ra-kernel/frame-pool.js";
import { PageCache } from "../../ra-kernel/page-cache.js";
import type { CreationGrant } from "../../ra-kernel/home-link.js";
import type { ObjectDescriptor } from "../../ra-kernel/object-descriptor.js";
import { Segment } from "../../ra-kernel/segment.js";
import { PageState } from "../../ra-kernel/page-state.js";
import { PAGE_SIZE, homeOf } from "../../ra-kernel/ids.js";
import { DEFAULT_WORKER_HEAP_MB, IsibaPool } from "../../ra-kernel/isiba-pool.js";
import type { ServerOptions } from "../host/server-options.js";
import { UserObjectManager } from "../../ra-kernel/user-object-manager.js";
import { LockManager } from "../../ra-kernel/lock-manager.js";
import { KernelSyscalls } from "../../ra-kernel/kernel-syscalls.js";
import { HomeLocks } from "./home-locks.js";
import { MonitorCache } from "../../ra-kernel/monitor-cache.js";
import { NestedInvocations, checkDepth } from "./nested-invocations.js";
import { ThreadRoutes } from "./thread-routes.js";
import type { InvocationInput } from "../../ra-kernel/user-object-manager.js";
import type { Peer } from "../transport/transport.js";
import type { ServerInfo } from "../name/protocol.js";
import type { ServerId, SysName, ThreadId } from "../../ra-kernel/ids.js";
import type { RequestContext } from "../transport/transport.js";
import type { HostContext, RoleService } from "../host/server-host.js";
import { eventLoopLagMs, histogramFigures, labelled, snakeCase, type Figures } from "../host/metrics.js";
import { ComputeClient, decodeComputeRequest, wireValue, type ComputeLoad, type ComputeReplies, type ComputeRequest, type ComputeStatus, type ProbeRequest } from "./protocol.js";
import { AtomicPeers } from "./atomic-peers.js";
import { ThreadFrames, type FrameInfo } from "./thread-frames.js";
import { SpawnedThreads } from "./spawned-threads.js";
import { ThreadTrace } from "../host/thread-trace.js";
import { FrameReports } from "./frame-reports.js";
import type { SyscallHandler } from "../../ra-kernel/isiba-pool.js";
import type { SyscallCall } from "../../ra-kernel/isiba-messages.js";

/** Which syscalls `trace` shows, and how (the quick ones are left out). */
function traceOf(call: SyscallCall): { kind: string; detail: (result: unknown) => string } | undefined {
  switch (call.op) {
    case "lock.acquire": return { kind: "lock wait", detail: () => `${call.args.lock} '${call.args.key}'` };
    case "lock.release": return { kind: "lock release", detail: () => `${call.args.lock} '${call.args.key}' (a commit point)` };
    case "object.invoke": return { kind: "nested invoke", detail: () => `${call.args.entry} of ${call.args.target}${call.args.at ? ` at ${call.args.at}` : ""}` };
    case "thread.print": return { kind: "print", detail: () => call.args.text };
    case "thread.spawn": return { kind: "spawn", detail: (r) => `${call.args.entry} of ${call.args.target} as thread ${(r as { id?: string } | undefined)?.id ?? "?"}` };
    case "thread.join": return { kind: "join", detail: () => `thread ${call.args.id}` };
    default: return undefined;
  }
}
import type { TwoPhasePoint } from "../../ra-kernel/two-phase-commit.js";
import { DataHomes } from "./data-homes.js";
import { DeadlineExceededError } from "./errors.js";
import { ArgumentError, ThreadKilledError } from "../../ra-kernel/errors.js";
import { argumentProblem } from "../../objects/entry-signature.js";
import { BadRequestError, ServerUnreachableError } from "../transport/errors.js";
import { LoadTable } from "../placement/load-table.js";
import { DecisionLog } from "../placement/decision-log.js";
import { Placer } from "../placement/placer.js";
import { WorkingSetPlacement } from "../placement/working-set-placement.js";
import { MAX_WARM_OBJECTS } from "../placement/load-report.js";
import { PLACEMENT_REASONS } from "../placement/placement-policy.js";
import { LoadGossip } from "./load-gossip.js";
import { CachedPagesWorkingSet } from "./working-set-source.js";
import { CpuMeter } from "./cpu-meter.js";

const log = createDebug("servers:compute");

/** How long after a thread's deadline a server other than its first frame's kills its frames there (ms). */
const DEADLINE_BACKUP_MS = 1000;

/** How long the list of data servers (homes for new objects) is reused. */
const DATA_LIST_TTL_MS = 2000;

/** The page cache's bound when --cache-mb is not given (MiB). */
export const DEFAULT_CACHE_MB = 256;
/** Pages per MiB. */
const PAGES_PER_MB = (1024 * 1024) / PAGE_SIZE;
/** How often idle objects are looked for and deactivated (ms). */
const DEACTIVATE_EVERY_MS = 1000;
/** Working sets listed in compute.status. */
const STATUS_WORKING_SETS = 20;

/** Objects listed by name in /metrics (the busiest); the totals cover every object. */
const METRICS_OBJECTS = 50;

/**
 * Fault injection for tests: CLOUDS_TEST_2PC_PAUSE="prepared:3000" (or "decided:3000") holds
 * every two-phase commit this long at that point, so a test can kill a server there. Unset:
 * none (the only way it is ever set is by a test's environment).
 */
function twoPhasePauseFromEnv(): ((point: TwoPhasePoint) => Promise<void>) | undefined {
  const spec = process.env.CLOUDS_TEST_2PC_PAUSE;
  const m = spec ? /^(prepared|decided):(\d+)$/.exec(spec) : null;
  if (!m) return undefined;
  const [at, ms] = [m[1] as TwoPhasePoint, Number(m[2])];
  log("CLOUDS_TEST_2PC_PAUSE: every two-phase commit waits %d ms once %s", ms, at);
  return (point) => (point === at ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve());
}

export class ComputeServer implements RoleService {
  readonly dsm: DsmClient;
  /** The page cache's bound and the working sets (WSClock over the DsmClient's frames). */
  readonly cache: PageCache;
  readonly pool: IsibaPool;
  readonly objects: UserObjectManager;
  readonly locks: LockManager;
  /** Where each thread running here came from: its output goes back that way. */
  readonly routes = new ThreadRoutes();
  /** The frames running here, and the threads killed here (compute.threads, compute.thread.kill). */
  readonly frames = new ThreadFrames();
  /** What threads did here, for `trace` (compute.trace). */
  readonly trace: ThreadTrace;
  /** Threads object code here started with `spawn`, kept for `join`. */
  private readonly spawned = new SpawnedThreads();
  /** Where each thread is, told to its workstation (its record is kept there). */
  private readonly reports: FrameReports;
  /** What this server knows of the compute servers (itself included): placement reads it. */
  readonly table = new LoadTable();
  /** Placement decisions taken here (nested invocations). */
  readonly decisions = new DecisionLog();
  readonly workingSets: CachedPagesWorkingSet;
  private readonly gossip: LoadGossip;
  private readonly cpu = new CpuMeter();
  private readonly homes: DataHomes;
  private invocations = 0;
  /** Load reports other compute servers pushed here (metrics). */
  private reportsReceived = 0;
  /** Invocations running here now, in an isiba or waiting for one (monitor, lock, load). */
  private active = 0;
  private readonly deactivator: NodeJS.Timeout;
  private deactivatingIdle = false;
  private nextHome = 0;

  constructor(private readonly ctx: HostContext) {
    if (!ctx.servers) throw new Error("a compute server needs --name-server");
    this.homes = new DataHomes(ctx.peers, ctx.servers);
    const pool = new FramePool({ softPages: (ctx.options.cacheMb ?? DEFAULT_CACHE_MB) * PAGES_PER_MB });
    this.dsm = new DsmClient(this.homes, pool);
    this.cache = new PageCache(pool, this.dsm);
    this.cache.start();
    this.homes.bindDsm(this.dsm);
    const lockLink = new HomeLocks(this.homes);
    const monitors = new MonitorCache(lockLink, ctx.options.id);
    this.dsm.homeDropListeners.push((home) => monitors.dropHome(home));
    const locks = (this.locks = new LockManager(lockLink, monitors));
    const servers = ctx.servers;
    const placer = new Placer({
      by: ctx.options.id, here: ctx.options.id, table: this.table, policy: new WorkingSetPlacement(), log: this.decisions,
      resolve: (id) => servers.address(id), onDead: (id) => servers.forget(id),
    });
    const nested = new NestedInvocations({
      id: ctx.options.id, servers, peers: ctx.peers, routes: this.routes, placer,
      runLocal: (input) => this.runHere(input),
      atomicOf: (isiba) => this.objects.atomicOf(isiba),
      deadlineOf: (thread) => this.frames.deadlineOf(thread),
      spawned: this.spawned,
      noteSpawn: (child, parent, end) => {
        this.reports.spawned(child, parent);
        const ended = () => this.reports.spawnEnded(child);
        void end.then(ended, ended);
      },
      settle: (after) => this.homes.settle(after),
      noteHere: (object) => this.noteHere(object),
      noteReply: (server, load, object, pages) => this.table.noteReply(server as ServerId, undefined, load, pages === undefined ? undefined : { object, pages }),
    });
    const syscalls = new KernelSyscalls(locks, nested);
    this.trace = new ThreadTrace(ctx.options.id, ctx.clock);
    this.pool = new IsibaPool(ctx.options.workers ?? 2, this.dsm.fault, ctx.options.id, this.traced(syscalls.handle), {
      workerHeapMb: ctx.options.workerHeapMb,
      processMemoryMb: processMemoryBoundMb(ctx.options),
      onWritesLost: (lost) => this.dsm.abandon(lost.pages, lost.overflowed, `an isiba worker died (${lost.why})`),
    });
    this.pool.onFaultServed = (threads, segment, page, mode, ms) => {
      const shared = threads.length > 1 ? ` (its worker ran ${threads.length} threads)` : "";
      for (const t of threads) this.trace.record(t, "page fault", `${mode} ${segment}#${page}${shared}`, ms);
    };
    // A frame of a killed thread that was waiting (for a monitor, a page) never starts.
    this.pool.refuseRun = (thread) => (this.frames.killed(thread) ? this.killedError(thread) : undefined);
    this.objects = new UserObjectManager(this.pool, this.dsm, this.homes, locks, {
      maxActive: ctx.options.maxActive, serverId: ctx.options.id, branchLink: new AtomicPeers(ctx.peers, servers, this.homes),
      twoPhasePause: twoPhasePauseFromEnv(),
      onCommit: (thread, detail, ms, failed) => this.trace.record(thread, failed ? "commit failed" : "commit", failed ? `${detail}: ${failed.name}: ${failed.message}` : detail, ms),
    });
    syscalls.committer = this.objects;
    this.workingSets = new CachedPagesWorkingSet({ objects: this.objects, dsm: this.dsm, descriptor: (s) => this.homes.descriptor(s), segmentsOf: (s) => this.objects.segmentsOf(s),
      recent: { workingSets: (limit) => this.cache.warmSets(limit) }, warmthNow: (frames, page) => this.cache.warmthNow(frames, page) });
    this.gossip = new LoadGossip({
      id: ctx.options.id, address: ctx.address, table: this.table, peers: ctx.peers, servers,
      snapshot: () => ({ load: this.load(), warm: this.workingSets.workingSets(MAX_WARM_OBJECTS) }),
    });
    this.gossip.start();
    this.reports = new FrameReports({ server: ctx.options.id, frames: () => this.framesWithStates(), routeOf: (t) => this.routes.peerOf(t) });
    this.reports.start();
    this.deactivator = setInterval(() => void this.deactivateIdle(), DEACTIVATE_EVERY_MS);
    this.deactivator.unref();
  }

  /** One pass of the deactivation of idle objects (UserObjectManager), never two at once. */
  private async deactivateIdle(): Promise<void> {
    if (this.deactivatingIdle) return;
    this.deactivatingIdle = true;
    try {
      await this.objects.deactivateIdle();
    } catch (err) {
      log("deactivating idle objects failed: %s", (err as Error).message);
    } finally {
      this.deactivatingIdle = false;
    }
  }

  get id(): ServerId {
    return this.ctx.options.id;
  }

  readonly handler = async (kind: string, body: unknown, ctx: RequestContext): Promise<unknown> => {
    return this.handle(decodeComputeRequest(kind, body), ctx.peer);
  };

  private async handle(req: ComputeRequest, peer: Peer): Promise<ComputeReplies[keyof ComputeReplies]> {
    const from = peer.remoteId;
    switch (req.kind) {
      case "compute.invoke": return this.invoke(req, peer);
      case "workstation.print": return { delivered: await this.routes.print(req.thread, req.text) };
      case "workstation.frames": return (this.reports.forward(req.reports), {});
      case "compute.create": return this.create(req);
      case "compute.recall": return this.recall(req, from);
      case "compute.lock.recall": return this.lockRecall(req, from);
      case "compute.inspect": {
        const { className, classVersion, fields } = await this.objects.inspect(req.object, { depth: req.depth, maxItems: req.maxItems }, { id: req.thread, depth: 0 });
        return { className, classVersion, fields: wireValue(fields) as Record<string, unknown>, server: this.id };
      }
      case "compute.pages": return this.dsm.pagesOf(req.segments, (frames, page) => this.cache.inWorkingSet(frames, page));
      case "compute.probe": return this.probe(req);
      case "compute.status": return this.status();
      case "compute.ping": return {};
      case "compute.atomic.wound": return this.wound(req, from);
      // Frames of atomic threads on several compute servers (ra-kernel/atomic-branches.ts).
      case "compute.thread.kill": return this.killThread(req.thread, req.deadline);
      case "compute.threads": return { server: this.id, frames: this.framesWithStates(req.thread) };
      case "compute.trace": return { server: this.id, events: this.trace.of(req.thread), dropped: this.trace.dropped };
      case "compute.atomic.join": return { joined: this.objects.acceptBranch(req.id, from as ServerId) };
      case "compute.atomic.wounded": return { wounded: this.objects.woundFromPeer(req.id, from as ServerId, req.reason) };
      case "compute.atomic.prepare": return this.objects.branches?.prepare(req) ?? { prepared: false, reason: `${this.id} runs no branches` };
      case "compute.atomic.finish": return this.objects.branches?.finish(req) ?? { finished: false };
      case "compute.load":
        if (req.report.server !== this.id) this.table.merge(req.report);
        this.reportsReceived++;
        return {};
      case "compute.subscribe": return this.gossip.subscribe(peer);
      case "compute.decisions": return this.decisionsOf(req.thread, req.limit);
    }
  }

  /** An invocation that arrived on `peer` (a workstation, or the compute server a hop up its thread). */
  private async invoke(req: Extract<ComputeRequest, { kind: "compute.invoke" }>, peer: Peer): Promise<ComputeReplies["compute.invoke"]> {
    if (req.deadline !== undefined && Date.now() > req.deadline) {
      throw new DeadlineExceededError(`${req.entry}: deadline passed before it could run on ${this.id}`, { entry: req.entry });
    }
    checkDepth(req.thread, req.depth, `${req.entry} on ${req.target}`);
    const exit = this.routes.enter(req.thread, peer);
    const started = performance.now();
    this.trace.record(req.thread, "invoke", `${req.entry} of ${req.target} from ${peer.remoteId} (depth ${req.depth})`);
    // The thread's first frame keeps its deadline: past it, the thread is killed everywhere.
    // Every other server backs it up for its own frames, should that one be gone.
    const expiry = req.deadline === undefined ? undefined : req.depth === 0 ? this.watchDeadline(req.thread, req.deadline) : this.backUpDeadline(req);
    try {
      if (req.after) await this.homes.settle(req.after);
      const thread = { id: req.thread, depth: req.depth, ...(req.atomic ? { atomic: req.atomic } : {}), ...(req.deadline !== undefined ? { deadline: req.deadline } : {}) };
      const value = await this.runHere({ object: req.target, entry: req.entry, args: req.args, thread });
      await this.routes.flush(req.thread);
      this.trace.record(req.thread, "return", `${req.entry} of ${req.target} to ${peer.remoteId}`, performance.now() - started);
      return { value: wireValue(value), server: this.id, load: this.load(), warm: this.workingSets.pagesOf(req.target) };
    } catch (err) {
      await this.routes.flush(req.thread);
      this.trace.record(req.thread, "error", `${req.entry} of ${req.target}: ${(err as Error)?.name}: ${(err as Error)?.message}`, performance.now() - started);
      throw err;
    } finally {
      clearTimeout(expiry);
      exit();
    }
  }

  /**
   * The frames here with what each does: its isiba's state (running, waiting for a lock, a
   * reply, a page), matched by thread and depth; a frame with no isiba yet waits to start
   * (its object loading, its monitor).
   */
  private framesWithStates(thread?: ThreadId): FrameInfo[] {
    const states = this.pool.states(thread);
    return this.frames.list(thread).map((f) => {
      const isiba = states.find((st) => st.thread === f.thread && st.depth === f.depth);
      return { ...f, state: isiba?.state ?? "waiting to start (its object loading, or a monitor)" };
    });
  }

  /** Kills `thread` everywhere once `deadline` (ms since the Unix epoch) has passed (expireThread). */
  private watchDeadline(thread: ThreadId, deadline: number): NodeJS.Timeout {
    const timer = setTimeout(() => void this.expireThread(thread, deadline), Math.max(0, deadline - Date.now()));
    timer.unref();
    return timer;
  }

  /**
   * A frame that arrived from another compute server with a deadline: if the thread's frames
   * here still run DEADLINE_BACKUP_MS after it (its first frame's server, which kills it
   * everywhere, died or was cut off), they are killed here with DeadlineExceededError.
   */
  private backUpDeadline(req: Extract<ComputeRequest, { kind: "compute.invoke" }>): NodeJS.Timeout {
    const timer = setTimeout(() => {
      if (this.frames.list(req.thread).length === 0 || this.frames.killed(req.thread)) return;
      log("thread %s ran past its deadline and nobody killed it: killing its frames here", req.thread);
      this.deadlineExpiries++;
      this.killThread(req.thread, { frame: `${req.entry} of ${req.target} on ${this.id} (its first frame's server did not kill it)` });
    }, Math.max(0, req.deadline! + DEADLINE_BACKUP_MS - Date.now()));
    timer.unref();
    return timer;
  }

  /**
   * The thread ran past its deadline: every compute server kills its frames, and each fails
   * with DeadlineExceededError naming the frame the thread was deepest in (asked of them all).
   */
  private async expireThread(thread: ThreadId, deadline: number): Promise<void> {
    this.deadlineExpiries++;
    const computes = await this.ctx.servers!.list("compute").catch(() => [] as ServerInfo[]);
    const clients = (await Promise.all(computes.map((cs) => this.ctx.peers.get(cs.address).then((p) => new ComputeClient(p), () => null)))).filter((c) => c !== null);
    const frames = (await Promise.all(clients.map((c) => c!.call("compute.threads", { thread }, { timeoutMs: 5000 }).catch(() => null))))
      .flatMap((r) => (r ? r.frames.map((f) => ({ ...f, server: r.server })) : []));
    const deepest = frames.reduce<(typeof frames)[number] | undefined>((d, f) => (!d || f.depth > d.depth ? f : d), undefined);
    const frame = deepest ? `${deepest.entry} of ${deepest.object} on ${deepest.server}` : "no frame any more";
    log("thread %s ran past its deadline: killing it (it was in %s)", thread, frame);
    await Promise.all(clients.map((c) => c!.call("compute.thread.kill", { thread, deadline: { frame } }, { timeoutMs: 5000 }).catch((err: Error) => {
      log("killing thread %s past its deadline at a compute server failed: %s", thread, err.message);
    })));
  }

  /** Threads killed here because they ran past their deadline. */
  private deadlineExpiries = 0;

  /** Runs one invocation on this kernel (from the network, or nested from one running here). */
  private async runHere(input: InvocationInput): Promise<unknown> {
    if (this.frames.killed(input.thread.id)) throw this.killedError(input.thread.id);
    this.invocations++;
    this.active++;
    // Its nested invocations inherit the deadline (ThreadFrames.deadlineOf).
    const entered = this.frames.enter({ thread: input.thread.id, depth: input.thread.depth, object: input.object, entry: input.entry, deadline: input.thread.deadline });
    const frame = `${input.entry} of ${input.object} (depth ${input.thread.depth}${input.thread.atomic ? `, atomic ${input.thread.atomic.id}` : ""})`;
    this.trace.record(input.thread.id, "frame enter", frame);
    const started = performance.now();
    let ok = false;
    try {
      const value = await this.objects.invoke(input);
      ok = true;
      return value;
    } finally {
      this.trace.record(input.thread.id, ok ? "frame exit" : "frame failed", frame, performance.now() - started);
      entered.exit();
      this.reports.ended(input.thread.id, entered.id);
      this.active--;
    }
  }

  /** The kernel's syscall handler, with the waits threads make in it traced (ThreadTrace). */
  private traced(handle: SyscallHandler): SyscallHandler {
    return async (ctx, call) => {
      const started = performance.now();
      const what = traceOf(call);
      try {
        const result = await handle(ctx, call);
        if (what) this.trace.record(ctx.thread, what.kind, what.detail(result), performance.now() - started);
        return result;
      } catch (err) {
        if (what) this.trace.record(ctx.thread, `${what.kind} failed`, `${what.detail(undefined)}: ${(err as Error)?.name}: ${(err as Error)?.message}`, performance.now() - started);
        throw err;
      }
    };
  }

  /**
   * Kills every frame of `thread` here (compute.thread.kill): the workers running its isibas
   * are terminated and replaced (IsibaPool.kill: its uncommitted writes are given up as a
   * crash's, and any other isiba of those workers fails with IsibaWorkerDiedError), and its
   * frames that are yet to run here are refused (ThreadFrames).
   */
  private killThread(thread: ThreadId, deadline?: { frame: string }): ComputeReplies["compute.thread.kill"] {
    const frames = this.frames.kill(thread, deadline && (() => this.deadlineError(thread, deadline)));
    const workers = this.pool.kill(this.pool.isibasOf(thread), () => this.killedError(thread));
    if (frames.length > 0) log("killed thread %s: %d frame(s), %d worker(s) terminated", thread, frames.length, workers);
    return { server: this.id, frames: frames.length, workers };
  }

  /** What a frame of a thread killed here fails with: ThreadKilledError, or the deadline's error. */
  private killedError(thread: string): Error {
    const why = this.frames.killedBy(thread);
    if (why) return why();
    return new ThreadKilledError(`thread ${thread} was killed (its frame on ${this.id} stopped; its uncommitted writes are discarded)`, { thread, server: this.id });
  }

  private deadlineError(thread: string, deadline: { frame: string }): DeadlineExceededError {
    return new DeadlineExceededError(
      `thread ${thread} ran past its deadline and was killed in ${deadline.frame}; its uncommitted writes are discarded`,
      { entry: deadline.frame },
    );
  }

  /** Tells the table this server's load now and the object's pages here, before a nested decision. */
  private noteHere(object: SysName): void {
    this.table.noteReply(this.id, this.ctx.address, this.load(), { object, pages: this.workingSets.pagesOf(object) });
  }

  private decisionsOf(thread: string | undefined, limit = 100): ComputeReplies["compute.decisions"] {
    const decisions = thread === undefined ? this.decisions.recent(limit) : this.decisions.of(thread).slice(-limit);
    return { server: this.id, decisions, counts: { ...this.decisions.counts }, failovers: this.decisions.failovers };
  }

  private async create(req: Extract<ComputeRequest, { kind: "compute.create" }>): Promise<ComputeReplies["compute.create"]> {
    if (req.after) await this.homes.settle(req.after);
    const cls = await this.homes.classSegment(req.className, req.classVersion);
    // Its arguments are checked as an entry's, before anything is allocated.
    const ctor = cls.entries.find((e) => e.ctor);
    const problem = ctor && argumentProblem(ctor, req.args);
    if (problem) throw new ArgumentError(`${cls.name}.${problem}`, { className: cls.name, entry: "constructor" });
    const home = req.home ?? (await this.pickHome());
    const data = await this.homes.client(home);
    const { grants, epoch, term, ...descriptor } = await data.call("data.object.create", { className: cls.name, classVersion: cls.version, grant: true });
    try {
      this.adoptPages(descriptor, grants ?? [], epoch, term);
      this.active++;
      await this.objects.construct(descriptor, req.args, { id: req.thread as ThreadId, depth: 0 }).finally(() => this.active--);
      this.workingSets.learn(descriptor);
    } catch (err) {
      await data.call("data.object.delete", { sysname: descriptor.sysname }).catch(() => undefined);
      throw err;
    }
    log("created %s (%s) at home %s", descriptor.sysname, descriptor.className, home);
    return { descriptor, server: this.id, load: this.load(), warm: this.workingSets.pagesOf(descriptor.sysname) };
  }

  /**
   * Takes ownership of the new object's first pages, granted with its creation, so that its
   * constructor does not fault on them. Synchronous, right as the creation's reply lands.
   */
  private adoptPages(descriptor: ObjectDescriptor, grants: CreationGrant[], epoch: number | undefined, term: number | undefined): void {
    if (grants.length === 0 || epoch === undefined) return;
    this.dsm.framesOf(new Segment(descriptor.segments.data, "data"), descriptor.sysname);
    this.dsm.framesOf(new Segment(descriptor.segments.heap, "heap"), descriptor.sysname);
    this.dsm.adoptCreated(descriptor.home, epoch, grants, term);
  }

  /** Round-robin over the registered data servers (the list is kept DATA_LIST_TTL_MS). */
  private async pickHome(): Promise<ServerId> {
    const data = await this.dataServers();
    return data[this.nextHome++ % data.length].id;
  }

  private dataList: { at: number; ids: Promise<ServerInfo[]> } | null = null;

  /** The registered data servers by id, from the name server at most every DATA_LIST_TTL_MS. */
  private async dataServers(): Promise<ServerInfo[]> {
    if (!this.dataList || performance.now() - this.dataList.at > DATA_LIST_TTL_MS) {
      const ids = this.ctx.servers!.list("data").then((list) => list.sort((a, b) => a.id.localeCompare(b.id)));
      const entry = (this.dataList = { at: performance.now(), ids });
      ids.catch(() => { if (this.dataList === entry) this.dataList = null; });
    }
    const data = await this.dataList.ids;
    if (data.length === 0) {
      this.dataList = null;
      throw new ServerUnreachableError("no data server is registered", { peer: "data", address: "" });
    }
    return data;
  }

  /** Only a segment's home may take its pages back. */
  private recall(req: Extract<ComputeRequest, { kind: "compute.recall" }>, from: string): Promise<ComputeReplies["compute.recall"]> {
    const home = homeOf(req.segment);
    if (from !== home) {
      throw new BadRequestError(`compute.recall: ${from} is not the home of segment ${req.segment} (${home} is)`, { kind: req.kind, field: "segment" });
    }
    const started = performance.now();
    const answered = this.dsm.recall(req);
    if (req.threads) {
      const traced = () => {
        for (const t of req.threads!) this.trace.record(t, "copy taken back", `${req.action} of ${req.segment}#${req.page} here, asked by ${from} for this thread's fault`, performance.now() - started);
      };
      void answered.then(traced, traced);
    }
    return answered;
  }

  /** Only the object's home may wound the atomic thread holding its monitor. */
  private wound(req: Extract<ComputeRequest, { kind: "compute.atomic.wound" }>, from: string): ComputeReplies["compute.atomic.wound"] {
    const home = homeOf(req.object);
    if (from !== home) {
      throw new BadRequestError(`compute.atomic.wound: ${from} is not the home of object ${req.object} (${home} is)`, { kind: req.kind, field: "object" });
    }
    // A branch's unit tells its coordinator too (AtomicUnit.onWound).
    return { wounded: this.objects.atomics.wound(req.id, `wounded at ${from}: ${req.reason} (object ${req.object})`) };
  }

  /** Only an object's home may recall its monitor. */
  private lockRecall(req: Extract<ComputeRequest, { kind: "compute.lock.recall" }>, from: string): Promise<ComputeReplies["compute.lock.recall"]> {
    const home = homeOf(req.object);
    if (from !== home) {
      throw new BadRequestError(`compute.lock.recall: ${from} is not the home of object ${req.object} (${home} is)`, { kind: req.kind, field: "object" });
    }
    return this.locks.monitors!.recall(req.object, req.cacheThread, req.waiter);
  }

  /** Diagnostic operations for benchmarks, timed inside the kernel (see ProbeRequest). */
  private async probe(req: ProbeRequest): Promise<{ micros: number }> {
    const started = performance.now();
    switch (req.op) {
      case "echo": await this.homes.echo(req.home, req.size); break;
      case "drop": await this.dsm.dropPage(req.segment, req.page); break;
      case "evict": {
        const frames = this.dsm.framesOf(new Segment(req.segment, "heap"));
        if (!(await this.dsm.evict(frames, req.page))) throw new Error(`page ${req.page} of ${req.segment} could not be evicted here`);
        break;
      }
      case "fault":
        this.dsm.framesOf(new Segment(req.segment, "heap"));
        await this.dsm.fault(req.segment, req.page, req.mode);
        break;
      case "fill": {
        const frames = this.dsm.framesOf(new Segment(req.segment, "heap"));
        await this.dsm.fault(req.segment, req.page, "write");
        await frames.lower(req.page, PageState.INVALID);
        frames.install(req.page, new Uint8Array(PAGE_SIZE).fill(req.byte), PageState.WRITE);
        await this.dsm.commit([{ segment: req.segment, pages: [{ page: req.page, log: frames.logWholePage(req.page) }] }]);
        break;
      }
    }
    return { micros: (performance.now() - started) * 1000 };
  }

  load(): ComputeLoad {
    const running = this.pool.inProgress;
    const workers = this.ctx.options.workers ?? 2;
    // running and lagMs first: `servers` prints the fields in this order (and scripts read them).
    return {
      running, lagMs: eventLoopLagMs(), waiting: Math.max(0, this.active - running), queued: Math.max(0, running - workers), workers,
      cpu: this.cpu.cores(), cachedPages: this.dsm.pool.used,
    };
  }

  status(): ComputeStatus {
    return {
      serverId: this.id, load: this.load(), objects: this.objects.activeObjects,
      cachedPages: this.dsm.pool.used, cacheBoundPages: this.dsm.pool.softPages, workingSets: this.cache.workingSets(STATUS_WORKING_SETS), workers: this.ctx.options.workers ?? 2,
      counters: { invocations: this.invocations, ...this.dsm.counters.total },
      placement: { decisions: { ...this.decisions.counts }, failovers: this.decisions.failovers, servers: this.table.snapshot() },
    };
  }

  figures(): Figures {
    const s = this.status();
    const out: Figures = {
      isibas_running: s.load.running, objects_loaded: s.objects, pages_cached: s.cachedPages, page_cache_bound_pages: s.cacheBoundPages,
      page_cache_arena_pages: this.dsm.pool.spanned, page_cache_evictions_total: this.cache.evicted, page_cache_reclaim_shortfalls_total: this.cache.shortfalls,
      compute_invocations_total: this.invocations, objects_deactivated_total: this.objects.deactivations, segments_cached: this.dsm.segmentCount,
    };
    for (const { object, pages } of this.cache.workingSets(METRICS_OBJECTS)) out[labelled("working_set_pages", { object })] = pages;
    for (const k of DSM_COUNTERS) out[`dsm_${snakeCase(k)}_total`] = this.dsm.counters.total[k];
    for (const [object, c] of this.dsm.counters.busiest(METRICS_OBJECTS)) {
      for (const k of DSM_COUNTERS) out[labelled(`dsm_object_${snakeCase(k)}_total`, { object })] = c[k];
    }
    for (const r of PLACEMENT_REASONS) out[labelled("placement_decisions_total", { reason: r })] = this.decisions.counts[r];
    out.placement_failovers_total = this.decisions.failovers;
    out.load_reports_received_total = this.reportsReceived;
    out.load_reports_pushed_total = this.gossip.pushed;
    out.load_table_live_servers = this.table.candidates().length;
    for (const [k, v] of Object.entries(this.locks.counters)) out[`locks_${snakeCase(k)}${k === "held" ? "" : "_total"}`] = v;
    const atomics = this.objects.atomics;
    out.atomic_threads_running = atomics.size;
    out.atomic_commits_total = atomics.counts.commits;
    out.atomic_retries_total = atomics.counts.retries;
    for (const [reason, n] of Object.entries(atomics.counts.aborts)) out[labelled("atomic_aborts_total", { reason })] = n;
    // Threads that wrote at several data servers: two-phase commits by outcome, and their latency.
    for (const [outcome, n] of Object.entries(atomics.counts.twoPhase)) out[labelled("atomic_two_phase_commits_total", { outcome })] = n;
    Object.assign(out, histogramFigures("atomic_two_phase_latency_us", atomics.twoPhaseLatency.snapshot()));
    // Threads: frames running here, kills, and isiba workers replaced (killed, or died).
    out.thread_frames_running = this.frames.size;
    out.thread_frames_waiting = this.pool.states().filter((st) => st.state.startsWith("waiting")).length;
    out.thread_kills_total = this.frames.counts.kills;
    out.thread_deadline_expiries_total = this.deadlineExpiries;
    out.threads_spawned_total = this.spawned.counts.spawned;
    out.thread_frame_reports_total = this.reports.counts.reports;
    out.thread_frame_report_messages_total = this.reports.counts.messages;
    out.trace_events_total = this.trace.recorded;
    out.trace_events_dropped_total = this.trace.dropped;
    out.thread_frames_killed_total = this.frames.counts.framesKilled;
    out.isiba_workers_terminated_total = this.pool.workerKills;
    out.isiba_cooperative_kills_total = this.pool.cooperativeKills;
    out.isiba_reruns_total = this.objects.reruns;
    out.isiba_worker_replacements_total = this.pool.workerDeaths;
    // Branches: frames of atomic threads rooted on other compute servers, run here.
    for (const [k, v] of Object.entries(this.objects.branches?.counts ?? {})) out[`atomic_branches_${k}_total`] = v;
    return { ...out, ...histogramFigures("dsm_fault_latency_us", this.dsm.faultLatency.snapshot()) };
  }

  async close(): Promise<void> {
    this.gossip.stop();
    this.reports.stop();
    this.cache.stop();
    clearInterval(this.deactivator);
    this.homes.close();
    await this.pool.close();
  }
}

/**
 * The resident memory past which a compute server takes workers busy in object code to be
 * allocating outside their heaps (WorkerWatch): its page cache, twice each worker's heap
 * limit (heap and ArrayBuffers), and 1 GiB for the process itself.
 */
function processMemoryBoundMb(options: ServerOptions): number {
  const heapMb = options.workerHeapMb ?? DEFAULT_WORKER_HEAP_MB;
  return (options.cacheMb ?? DEFAULT_CACHE_MB) + (options.workers ?? 2) * 2 * heapMb + 1024;
}
