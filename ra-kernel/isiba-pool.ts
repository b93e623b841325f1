/**
 * IsibaPool: the worker threads in which a compute server's isibas run object code.
 *
 * Each worker gets a FaultChannel (a MessagePort plus a shared doorbell word) at start.
 * The pool forwards each fault to the kernel's pager (`PageFaultHandler`), which brings the
 * page into the segment's SegmentFrames; the pool then answers on the port and rings the
 * doorbell so the blocked isiba resumes. A worker learns a class's code and a segment's
 * shared buffers the first time it needs them (the pool remembers what each worker has).
 *
 * Syscalls (object code asking for a lock, a name, a nested invocation, print) arrive as
 * SyscallRequest messages on the worker itself, not on the FaultChannel, which is
 * synchronous and reserved for faults. The pool hands each to the kernel's SyscallHandler
 * with the context it keeps for the isiba (object, thread) and posts the SyscallReply back.
 * A syscall of an isiba that already replied is refused (IsibaEndedError): what it would
 * take could never be released.
 *
 * Volatile heaps (VolatileHeaps): the pool counts the isibas in each object; each RunRequest
 * names the object's current activation (`volatileGen`). A worker whose class has
 * `@volatile` fields asks for that activation's frames with the pool-internal syscall
 * "volatile.map"; faults on them are served here (zero pages, no message); when the last
 * isiba of the object is done, the workers that mapped them are told to forget them.
 *
 * Commits: an isiba's reply carries its last commit segment's WriteLog; the kernel commits it,
 * then tells the worker with `afterCommit` whether it was applied, and the worker answers with
 * the segment of the frees it then made (or none). Until then the worker keeps the isiba's
 * queued frees.
 *
 * Placement inside the pool: the worker with the fewest isibas in progress.
 * If a worker dies (each has a bounded JavaScript heap: an entry that allocates without bound
 * kills its worker, not the server), its in-flight isibas fail and a replacement is started.
 * Their segments can never commit: the pool reads the dead worker's WriterLedger and tells
 * the kernel (`onWritesLost`) which pages they wrote, so it can take their writer counts off
 * and drop the copies that hold their words (DsmClient.abandon).
 */
import { MessageChannel, Worker, type MessagePort } from "node:worker_threads";
import * as path from "node:path";
import createDebug from "debug";
import { fromWireError, toWireError, type WireError } from "./clouds-error.js";
import type { SysName, ThreadId } from "./ids.js";
import { DOORBELL_RUNG, type FaultReply, type FaultRequest } from "./fault-channel.js";
import { Isiba } from "./isiba.js";
import type { ClassRef, Committed, ForgetSegments, Freed, MemoryAnswer, MemoryProbe, RunOp, RunReply, RunRequest, SyscallCall, SyscallReply, SyscallRequest, SyscallResult, WorkerInit, WorkerMessage } from "./isiba-messages.js";
import { WorkerWatch, type WorkerReport } from "./worker-watch.js";
import type { SegmentLog } from "./write-log.js";
import type { SegmentFrames } from "./segment-frames.js";
import type { AccessMode } from "./page-state.js";
import { IsibaEndedError, UnknownSyscallError } from "./syscall-errors.js";
import { IsibaWorkerDiedError, ResourceLimitError } from "./errors.js";
import { VolatileHeaps } from "./volatile-heaps.js";
import { WriterLedger } from "./writer-ledger.js";
import type { IsibaPoolOptions } from "./isiba-pool-options.js";

/** How long an isiba killed in a syscall may take to end before its worker is terminated anyway (ms). */
const KILL_GRACE_MS = 250;

/** See IsibaPoolOptions.workerHeapMb. */
export const DEFAULT_WORKER_HEAP_MB = 1024;

const log = createDebug("ra:isiba-pool");

/**
 * `since`: the faulting segment's start mark, if known (DsmClient.fault); `threads`: the threads
 * of the faulting worker's isibas (any of them may be the one waiting), for traces.
 */
export type PageFaultHandler = (segment: SysName, page: number, mode: AccessMode, since?: number, threads?: string[]) => Promise<void>;

/** Who is asking: the kernel's record of the isiba, not what the worker claims. */
export interface SyscallContext {
  isiba: number;
  object: SysName;
  thread: ThreadId;
  /** How many invocations deep this isiba's invocation is on its thread (0: from a workstation). */
  depth: number;
  entry: string;
  /** The kernel's dropMark when the isiba started (RunSpec.since). */
  since: number;
}

/** Serves object code's syscalls (KernelSyscalls.handle); its value goes back to the isiba. */
export type SyscallHandler = (ctx: SyscallContext, call: SyscallCall) => Promise<unknown>;

export interface RunSpec {
  op: RunOp;
  object: SysName;
  klass: { key: string; name: string; code: string };
  entry: string;
  args: unknown[];
  data: SegmentFrames;
  heap: SegmentFrames;
  thread: { id: ThreadId; depth: number };
  /** The kernel's dropMark as the isiba starts (its faults are fenced by it). */
  since: number;
  /** Told the isiba's id as it starts, before any of its syscalls (an atomic thread's frames bind it). */
  onStart?: (isiba: number) => void;
}

export interface RunOutcome {
  value: unknown;
  /** The last commit segment: to commit, then `afterCommit`. */
  log: SegmentLog[];
  /** Why that segment must be aborted instead (RunReply.broken). */
  broken?: string;
  /** The isiba that ran it (the key of its locks in the LockManager). */
  isiba: number;
}

/** What a failed run's error carries besides its own fields. */
export interface RunFailure {
  log: SegmentLog[];
  broken?: string;
  isiba: number;
  /**
   * It failed only because its worker died for another: the worker never began it, or was
   * terminated to kill another thread before it did anything outside the worker (no syscall
   * but a read-only one, and its object's volatile heap unused here). Its writes were given
   * up, so running it again is as if it had started later (UserObjectManager does, once).
   */
  rerun?: true;
}

interface Pending {
  isiba: Isiba;
  depth: number;
  since: number;
  resolve: (reply: RunReply) => void;
  /** What it waits for in a syscall now, if it does (`threads` shows it), and that syscall's call id. */
  waiting?: string;
  waitingCall?: number;
  /** Killed cooperatively (IsibaPool.kill): what it fails with, whatever it answers. */
  killed?: Error;
  /** It made a syscall others can see (anything but volatile.map, object.bind): it cannot be run again. */
  effects?: true;
}

/** What an isiba is doing, as `threads` shows it. */
export interface IsibaState {
  isiba: number;
  thread: string;
  depth: number;
  /** "running", or what it waits for: "a lock", "a reply from X.entry", "a page". */
  state: string;
}

class WorkerSlot {
  readonly classes = new Set<string>();
  /** Segments shared with this worker, with the ledger id each got. */
  readonly segments = new Map<SysName, number>();
  /** The frames shared with this worker by their WriterLedger id (SegmentShare.ledgerId). */
  readonly byLedgerId = new Map<number, SegmentFrames>();
  /** The last ledger id given out (ids are never reused: a segment forgotten keeps its id retired). */
  lastLedgerId = 0;
  readonly pending = new Map<number, Pending>();
  /** Isibas that replied and wait for `afterCommit`; then for their Freed. */
  readonly replied = new Set<number>();
  readonly freeing = new Map<number, (log: SegmentLog[]) => void>();
  /** Faults of this worker being served now (the worker is blocked meanwhile). */
  faulting = 0;
  /** Isibas of this worker killed on purpose (IsibaPool.kill): the error each fails with. */
  readonly killed = new Map<number, Error>();
  /** Why the WorkerWatch terminated this worker, if it did. */
  watchKill: string | undefined;
  /** The MemoryProbe this worker has yet to answer, if any. */
  probed: ((arrayBuffers: number) => void) | undefined;
  constructor(readonly worker: Worker, readonly faultPort: MessagePort, readonly doorbell: Int32Array, readonly ledger: SharedArrayBuffer, readonly started: BigInt64Array) {}

  /** Whether the worker never began isiba `id` (WorkerInit.started). */
  neverStarted(id: number): boolean {
    return BigInt(id) > Atomics.load(this.started, 0);
  }
}

/** Replies of isibas that may run again (RunFailure.rerun). */
const innocent = new WeakSet<RunReply>();

export class IsibaPool {
  private readonly slots: WorkerSlot[] = [];
  readonly volatile = new VolatileHeaps();
  private nextId = 1;
  private closing = false;

  constructor(
    private readonly size: number,
    private readonly onFault: PageFaultHandler,
    private readonly serverId: string,
    private readonly onSyscall?: SyscallHandler,
    private readonly options: IsibaPoolOptions = {},
  ) {
    for (let i = 0; i < size; i++) this.slots.push(this.startWorker(i));
    if (options.processMemoryMb !== undefined) {
      const perWorker = (options.workerHeapMb ?? DEFAULT_WORKER_HEAP_MB) * 2 ** 20;
      this.watch = new WorkerWatch({ probe: (ms) => this.probeWorkers(ms), terminate: (s, why) => this.terminateWatched(s, why), rss: () => process.memoryUsage.rss() }, perWorker, options.processMemoryMb * 2 ** 20);
      this.watch.start();
    }
  }

  private readonly watch: WorkerWatch<WorkerSlot> | undefined;
  private nextProbe = 1;

  /** Asks every worker for its ArrayBuffers (WorkerWatch); the silent ones are undefined. */
  private probeWorkers(timeoutMs: number): Promise<WorkerReport<WorkerSlot>[]> {
    const slots = [...this.slots];
    return Promise.all(slots.map((slot) => new Promise<WorkerReport<WorkerSlot>>((resolve) => {
      const timer = setTimeout(() => settle(undefined), timeoutMs);
      const settle = (arrayBuffers: number | undefined) => {
        clearTimeout(timer);
        slot.probed = undefined;
        // Read after the wait: an isiba begun meanwhile may be what kept it silent. A worker
        // waiting for a fault, or freeing blocks after a commit, is busy for its isibas too.
        const begun = slot.faulting > 0 || slot.freeing.size > 0 || [...slot.pending.keys()].some((id) => !slot.neverStarted(id));
        resolve({ worker: slot, arrayBuffers, begun });
      };
      slot.probed = settle;
      slot.worker.postMessage({ type: "memory", probe: this.nextProbe++ } satisfies MemoryProbe);
    })));
  }

  private terminateWatched(slot: WorkerSlot, why: string): void {
    if (!this.slots.includes(slot) || slot.watchKill !== undefined) return;
    slot.watchKill = why;
    this.terminate(slot);
  }

  /** Isibas not yet done: the load figure. */
  get inProgress(): number {
    return this.slots.reduce((n, s) => n + s.pending.size, 0);
  }

  /** Told of each fault served: the threads of the worker's isibas (one of them faulted), and how long (ms). */
  onFaultServed: ((threads: string[], segment: SysName, page: number, mode: AccessMode, ms: number) => void) | undefined;

  /** Asked before an isiba starts: an error refuses to run it (its thread was killed here). */
  refuseRun: ((thread: string) => Error | undefined) | undefined;

  /** Runs one invocation or constructor; resolves with its value, rejects with its error. */
  async run(spec: RunSpec): Promise<RunOutcome> {
    const refused = this.refuseRun?.(spec.thread.id);
    if (refused) throw Object.assign(refused, { log: [], isiba: -1 } satisfies RunFailure);
    const slot = this.pickSlot();
    const isiba = new Isiba(this.nextId++, spec.thread.id, spec.object, spec.entry);
    spec.onStart?.(isiba.id);
    const gen = this.volatile.enter(spec.object);
    let reply: RunReply;
    try {
      reply = await new Promise<RunReply>((resolve) => {
        slot.pending.set(isiba.id, { isiba, depth: spec.thread.depth, since: spec.since, resolve });
        isiba.moveTo("running");
        slot.worker.postMessage(this.request(slot, isiba.id, spec, gen));
      });
    } finally {
      this.forget(this.volatile.leave(spec.object));
    }
    isiba.moveTo("done");
    if (!reply.ok) {
      const failure: RunFailure = { log: reply.log, broken: reply.broken, isiba: isiba.id, ...(innocent.has(reply) ? { rerun: true as const } : {}) };
      throw Object.assign(fromWireError(reply.error as WireError), failure);
    }
    return { value: reply.value, log: reply.log, broken: reply.broken, isiba: isiba.id };
  }

  /** What each isiba running now does (of `thread` only, if given). */
  states(thread?: string): IsibaState[] {
    const out: IsibaState[] = [];
    for (const slot of this.slots) {
      for (const [id, p] of slot.pending) {
        if (thread !== undefined && p.isiba.thread !== thread) continue;
        // A fault blocks its whole worker (it is synchronous there): an isiba not in a syscall may be the one waiting.
        const state = p.waiting ?? (slot.faulting > 0 ? "running or waiting for a page (its worker is faulting)" : "running");
        out.push({ isiba: id, thread: p.isiba.thread, depth: p.depth, state });
      }
    }
    return out;
  }

  /** The isibas running now for `thread` (its frames here). */
  isibasOf(thread: string): number[] {
    const out: number[] = [];
    for (const slot of this.slots) for (const [id, p] of slot.pending) if (p.isiba.thread === thread) out.push(id);
    return out;
  }

  /**
   * Stops these isibas wherever they are — in object code (even `while (true) {}`), in a
   * syscall, in a fault — by terminating their workers, which are replaced: each fails with
   * `error(isiba)`, and any other isiba of those workers with IsibaWorkerDiedError (a worker
   * cannot stop one isiba alone). Their writes are given up as a dead worker's are
   * (onWritesLost). Returns how many workers were terminated.
   */
  kill(isibas: number[], error: (isiba: number) => Error): number {
    const bySlot = new Map<WorkerSlot, number[]>();
    for (const id of isibas) {
      const slot = this.slots.find((s) => s.pending.has(id));
      if (slot) bySlot.set(slot, [...(bySlot.get(slot) ?? []), id]);
    }
    let terminated = 0;
    for (const [slot, ids] of bySlot) {
      // Others run in that worker too: first try without taking them down (killCooperatively).
      if (slot.pending.size > ids.length && ids.every((id) => slot.pending.get(id)!.waitingCall !== undefined)) {
        for (const id of ids) this.killCooperatively(slot, id, error(id));
        continue;
      }
      for (const id of ids) slot.killed.set(id, error(id));
      this.terminate(slot);
      terminated++;
    }
    return terminated;
  }

  private terminate(slot: WorkerSlot): void {
    this.workerKills++;
    void slot.worker.terminate();
  }

  /**
   * Kills an isiba waiting in a syscall without terminating its worker, which runs other
   * isibas: its syscall fails now with `error` (the worker ignores the kernel's answer when
   * it comes), any later one too, and whatever it answers in the end fails with `error`, its
   * segment aborted (broken). One that catches the error and goes on anyway past
   * KILL_GRACE_MS has its worker terminated after all.
   */
  private killCooperatively(slot: WorkerSlot, id: number, error: Error): void {
    const p = slot.pending.get(id)!;
    p.killed = error;
    this.cooperativeKills++;
    slot.worker.postMessage({ type: "sysReply", call: p.waitingCall!, ok: false, error: toWireError(error, this.serverId) } satisfies SyscallReply);
    setTimeout(() => {
      if (slot.pending.get(id) !== p || !this.slots.includes(slot)) return;
      slot.killed.set(id, error);
      this.terminate(slot);
    }, KILL_GRACE_MS).unref();
  }

  /** Isibas killed without terminating their worker (killCooperatively). */
  cooperativeKills = 0;

  /** Workers terminated to kill threads, and workers that died (and were replaced), since start. */
  workerKills = 0;
  workerDeaths = 0;

  /** Isibas that replied with blocks to free and wait for `afterCommit` (diagnostics, tests). */
  get awaitingFrees(): number {
    return this.slots.reduce((n, s) => n + s.replied.size, 0);
  }

  /**
   * The isiba's final commit was answered (`ok`: applied): its worker frees what it detached
   * (only if applied) and resolves with that segment, to commit too. [] if the worker died.
   */
  afterCommit(isiba: number, ok: boolean): Promise<SegmentLog[]> {
    const slot = this.slots.find((s) => s.replied.has(isiba));
    if (!slot) return Promise.resolve([]);
    slot.replied.delete(isiba);
    return new Promise((resolve) => {
      slot.freeing.set(isiba, resolve);
      slot.worker.postMessage({ type: "committed", id: isiba, ok } satisfies Committed);
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    this.watch?.stop();
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  /** Tells every worker that mapped them to drop these (volatile) segments. */
  private forget(segments: SysName[], object?: SysName): void {
    if (segments.length === 0) return;
    for (const slot of this.slots) {
      const mapped = segments.filter((s) => slot.segments.has(s));
      for (const s of mapped) {
        slot.byLedgerId.delete(slot.segments.get(s)!);
        slot.segments.delete(s);
      }
      if (mapped.length > 0) slot.worker.postMessage({ type: "forget", segments: mapped, ...(object ? { object } : {}) } satisfies ForgetSegments);
    }
  }

  /** A deactivated object's segments: every worker that mapped them drops them, and its store of the object. */
  unmap(object: SysName, segments: SysName[]): void {
    this.forget(segments, object);
  }

  private request(slot: WorkerSlot, id: number, spec: RunSpec, volatileGen: number): RunRequest {
    const klass: ClassRef = { key: spec.klass.key, name: spec.klass.name };
    if (!slot.classes.has(klass.key)) {
      klass.code = spec.klass.code;
      slot.classes.add(klass.key);
    }
    return {
      type: "run", id, op: spec.op, object: spec.object, klass, entry: spec.entry, args: spec.args,
      data: this.shareOnce(slot, spec.data), heap: this.shareOnce(slot, spec.heap), thread: spec.thread, volatileGen, since: spec.since,
    };
  }

  private shareOnce(slot: WorkerSlot, frames: SegmentFrames) {
    if (slot.segments.has(frames.sysname)) return frames.sysname;
    const ledgerId = ++slot.lastLedgerId;
    slot.segments.set(frames.sysname, ledgerId);
    slot.byLedgerId.set(ledgerId, frames);
    return { ...frames.share(), ledgerId };
  }

  private pickSlot(): WorkerSlot {
    let best = this.slots[0];
    for (const s of this.slots) if (s.pending.size < best.pending.size) best = s;
    return best;
  }

  private startWorker(index: number): WorkerSlot {
    const { port1, port2 } = new MessageChannel();
    const doorbell = new SharedArrayBuffer(4);
    const ledger = WriterLedger.allocate();
    const started = new SharedArrayBuffer(8);
    const worker = new Worker(path.join(__dirname, "isiba-worker.js"), {
      workerData: { faultPort: port2, doorbell, serverId: this.serverId, ledger, started } satisfies WorkerInit,
      transferList: [port2],
      name: `isiba-${index}`,
      resourceLimits: { maxOldGenerationSizeMb: this.options.workerHeapMb ?? DEFAULT_WORKER_HEAP_MB },
    });
    const slot = new WorkerSlot(worker, port1, new Int32Array(doorbell), ledger, new BigInt64Array(started));
    worker.on("message", (msg: WorkerMessage) => this.onWorkerMessage(slot, msg));
    worker.on("error", (err) => this.workerDied(slot, index, err));
    worker.on("exit", (code) => this.workerDied(slot, index, new Error(`isiba worker exited with code ${code}`)));
    port1.on("message", (req: FaultRequest) => void this.serviceFault(slot, req));
    worker.unref();
    port1.unref();
    return slot;
  }

  private onWorkerMessage(slot: WorkerSlot, msg: WorkerMessage): void {
    if (msg.type === "sys") void this.serviceSyscall(slot, msg);
    else if (msg.type === "freed") this.freed(slot, msg);
    else if (msg.type === "memory") slot.probed?.((msg as MemoryAnswer).arrayBuffers);
    else this.settle(slot, msg);
  }

  private async serviceSyscall(slot: WorkerSlot, req: SyscallRequest): Promise<void> {
    let reply: SyscallReply;
    const pending = slot.pending.get(req.isiba);
    if (pending && req.op !== "volatile.map" && req.op !== "object.bind") pending.effects = true;
    const waiting = waitingFor(req);
    if (pending && waiting) {
      pending.waiting = waiting;
      pending.waitingCall = req.call;
    }
    try {
      if (pending?.killed) throw pending.killed; // killed: no new syscall of it runs
      const value = await this.syscall(slot, req);
      reply = { type: "sysReply", call: req.call, ok: true, value };
    } catch (err) {
      reply = { type: "sysReply", call: req.call, ok: false, error: toWireError(err, this.serverId) };
    } finally {
      if (pending && pending.waitingCall === req.call) {
        pending.waiting = undefined;
        pending.waitingCall = undefined;
      }
    }
    if (pending?.killed && reply.ok) return; // it was told it is killed already (killCooperatively)
    slot.worker.postMessage(reply);
  }

  private syscall(slot: WorkerSlot, req: SyscallRequest): Promise<unknown> {
    const pending = slot.pending.get(req.isiba);
    const isiba = pending?.isiba;
    if (!pending || !isiba) throw new IsibaEndedError(`syscall ${req.op} of isiba ${req.isiba}, which has already returned`, { isiba: req.isiba, op: req.op });
    if (req.op === "volatile.map") return Promise.resolve(this.mapVolatile(slot, isiba.object, req.args.gen));
    if (!this.onSyscall) throw new UnknownSyscallError(`syscall ${req.op}: this kernel serves no syscalls`, { op: req.op });
    const ctx: SyscallContext = { isiba: isiba.id, object: isiba.object, thread: isiba.thread, depth: pending.depth, entry: isiba.entry, since: pending.since };
    return this.onSyscall(ctx, { op: req.op, args: req.args } as SyscallCall);
  }

  /** The frames of an object's volatile activation, shared with this worker once. */
  private mapVolatile(slot: WorkerSlot, object: SysName, gen: number): SyscallResult<"volatile.map"> {
    const frames = this.volatile.frames(object, gen);
    return { data: this.shareOnce(slot, frames.data), heap: this.shareOnce(slot, frames.heap) };
  }

  private settle(slot: WorkerSlot, reply: RunReply): void {
    const pending = slot.pending.get(reply.id);
    if (!pending) return;
    slot.pending.delete(reply.id);
    // Nothing detached: no `committed` round trip to the worker after the commit (afterCommit).
    if (reply.frees) slot.replied.add(reply.id);
    // Killed cooperatively: whatever it answered, it fails, and its segment is aborted.
    if (pending.killed) {
      const why = `its thread was killed (${pending.killed.message})`;
      return pending.resolve({ ...reply, ok: false, error: toWireError(pending.killed, this.serverId), broken: reply.broken ?? why });
    }
    pending.resolve(reply);
  }

  private freed(slot: WorkerSlot, msg: Freed): void {
    const resolve = slot.freeing.get(msg.id);
    slot.freeing.delete(msg.id);
    resolve?.(msg.log);
  }

  private async serviceFault(slot: WorkerSlot, req: FaultRequest): Promise<void> {
    let reply: FaultReply = { ok: true };
    const started = performance.now();
    const threads = [...new Set([...slot.pending.values()].map((p) => p.isiba.thread))];
    slot.faulting++;
    try {
      if (!this.volatile.fault(req.segment, req.page)) await this.onFault(req.segment, req.page, req.mode, req.since, threads);
    } catch (err) {
      reply = { ok: false, error: toWireError(err, this.serverId) };
    } finally {
      slot.faulting--;
      if (this.onFaultServed) this.onFaultServed(threads, req.segment, req.page, req.mode, performance.now() - started);
    }
    slot.faultPort.postMessage(reply);
    Atomics.store(slot.doorbell, 0, DOORBELL_RUNG);
    Atomics.notify(slot.doorbell, 0);
  }

  /** What the isibas of a worker that died are told. */
  private diedError(err: Error): IsibaWorkerDiedError | ResourceLimitError {
    if ((err as { code?: string }).code === "ERR_WORKER_OUT_OF_MEMORY") {
      const limitMb = this.options.workerHeapMb ?? DEFAULT_WORKER_HEAP_MB;
      return new ResourceLimitError(
        `the invocation went past the heap limit of its isiba worker: it ran out of its ${limitMb} MiB JavaScript heap (--max-invocation-memory), ` +
          "allocated by this invocation or another in the same worker. Its writes since its last commit point are NOT applied; the server goes on with a new worker",
        { limitMb },
      );
    }
    return new IsibaWorkerDiedError(
      `the isiba worker running this invocation died: ${err.message}. Its writes since its last commit point are NOT applied; the server goes on with a new worker`,
      { reason: err.message },
    );
  }

  /**
   * What the isibas of a worker the WorkerWatch terminated are told. Only its memory rule
   * reaches a begun isiba: a stray worker has begun none, and those run again.
   */
  private watchKillError(why: string): ResourceLimitError {
    const limitMb = this.options.workerHeapMb ?? DEFAULT_WORKER_HEAP_MB;
    return new ResourceLimitError(
      `the invocation went past the memory limit of its isiba worker: ${why}, allocated by this invocation or another in the same worker. ` +
        "Its writes since its last commit point are NOT applied; the server goes on with a new worker",
      { limitMb },
    );
  }

  /** What the dead worker's segments counted themselves writers of, to the kernel (see WriterLedger). */
  private async writesLost(slot: WorkerSlot, err: Error): Promise<void> {
    const { entries, overflowed, held } = WriterLedger.read(slot.ledger);
    if (held) {
      log("worker died holding page %d exclusively: letting it go", held.page);
      slot.byLedgerId.get(held.segment)?.releaseDeadWriter(held.page);
    }
    const pages = entries.flatMap((e) => {
      const frames = slot.byLedgerId.get(e.segment);
      return frames ? [{ frames, page: e.page }] : [];
    });
    if (pages.length === 0 && !overflowed) return;
    log("worker died with %d uncommitted page write(s)%s", pages.length, overflowed ? " and more not recorded" : "");
    try {
      await this.options.onWritesLost?.({ pages, overflowed, why: err.message });
    } catch (e) {
      log("giving up the dead worker's writes failed: %s", (e as Error).message);
    }
  }

  private workerDied(slot: WorkerSlot, index: number, err: Error): void {
    const at = this.slots.indexOf(slot);
    if (at < 0) return;
    log("worker %d died: %s", index, err.message);
    // Its isibas fail (and release their locks) only once what they wrote is given up.
    this.workerDeaths++;
    const pending = [...slot.pending];
    const killing = slot.killed.size > 0;
    const died = slot.watchKill !== undefined ? this.watchKillError(slot.watchKill) : this.diedError(killing ? new Error(`it was terminated to kill thread(s) running in it`) : err);
    // Whom the death did not concern: run again (RunFailure.rerun). A kill names its targets; a
    // worker out of heap does not say who allocated it, so only isibas it never began.
    const bystander = (id: number, p: Pending) =>
      slot.neverStarted(id) || (killing && !slot.killed.has(id) && !p.effects && !this.volatile.inUse(p.isiba.object));
    // Free segments it was running are given up first too: the next one may push on theirs.
    const freeing = [...slot.freeing.values()];
    void this.writesLost(slot, err).then(() => {
      for (const [id, p] of pending) {
        const reply: RunReply = { type: "done", id, ok: false, error: toWireError(slot.killed.get(id) ?? died, this.serverId), log: [], frees: false };
        // Volatile writes are not given up with the worker: an object using its volatile heap is not run again.
        if (!slot.killed.has(id) && bystander(id, p)) innocent.add(reply);
        p.resolve(reply);
      }
      for (const resolve of freeing) resolve([]);
    });
    slot.pending.clear();
    slot.freeing.clear();
    slot.replied.clear();
    slot.faultPort.close();
    if (this.closing) return;
    this.slots[at] = this.startWorker(index);
  }
}

/** What an isiba in this syscall waits for, as `threads` shows it (nothing for the quick ones). */
function waitingFor(req: SyscallRequest): string | undefined {
  switch (req.op) {
    case "lock.acquire": return `waiting for ${req.args.lock === "semaphore" ? "semaphore" : "lock"} '${req.args.key}'`;
    case "object.invoke": return `waiting for a reply from ${req.args.entry} of ${req.args.target}${req.args.at ? ` at ${req.args.at}` : ""}`;
    case "object.bind": return `waiting for the name server (${req.args.name})`;
    case "thread.join": return `waiting for thread ${req.args.id} to end`;
    default: return undefined;
  }
}
