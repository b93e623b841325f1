/**
 * DataServer: the data server role — segments, pages, descriptors and class code; home and
 * directory of its segments' pages (PageHome) and arbiter of its objects' locks (LockTable).
 *
 * It answers the messages of protocol.ts through `handler` (one switch). Compute servers
 * connect to it and are tracked by `attach`: the home calls them back (recalls) over the
 * same connection, renews their leases, and when a connection closes takes back, once the
 * lease has run out, every page and lock the compute server held (it died, or it dropped
 * them itself when it saw the connection close).
 *
 * It owns no sockets: the process host (servers/host) wires `handler` to a transport and
 * calls `attach` for each new peer.
 */
import { ThreadTrace } from "../host/thread-trace.js";
import { LamportClock } from "../../ra-kernel/lamport-clock.js";
import createDebug from "debug";
import { newSysName, type AtomicId, type ServerId, type SysName } from "../../ra-kernel/ids.js";
import { SEGMENT_MAX_PAGES } from "../../ra-kernel/segment.js";
import type { ClassSegment, ObjectDescriptor } from "../../ra-kernel/object-descriptor.js";
import type { Peer, RequestContext } from "../transport/transport.js";
import { decodeDataRequest, type CreatedObject, type DataClient, type DataReplies, type DataRequest, type DataStatus, type LockReleaseRef } from "./protocol.js";
import { HOME_COUNTERS, PageHome, type PageHomeOptions } from "./page-home.js";
import { LockTable, type CacheRecall, type Wound } from "./lock-table.js";
import { LeaseRevokedError } from "./errors.js";
import type { SegmentRecord, SegmentStore } from "./segment-store.js";
import { histogramFigures, labelled, snakeCase, type Figures } from "../host/metrics.js";
import { AtomicDecisions, type AtomicOutcome } from "./atomic-decisions.js";
import { AtomicParticipants } from "./atomic-participants.js";
import { WaitingAccesses } from "../../ra-kernel/waiting-accesses.js";

const log = createDebug("servers:data");

/** Objects listed by name in /metrics (the busiest); the totals cover every object. */
const METRICS_OBJECTS = 50;

/** How long a compute server may take to answer a monitor recall (it answers at once). */
const MONITOR_RECALL_TIMEOUT_MS = 10_000;

/**
 * How many of a new object's first pages its creator owns from the start: what constructors
 * usually write (the field table on data page 0, the heap's header and first allocations).
 */
const CREATION_GRANT_PAGES = { data: 1, heap: 4 };

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** How often acknowledged atomic decisions past their retention are forgotten (ms). */
const DECISION_COLLECT_MS = 10 * 60 * 1000;

export interface DataServerOptions extends PageHomeOptions {
  /**
   * A connection to another data server, the log home of an atomic thread prepared here
   * (AtomicParticipants asks it for the thread's decision). @default none: only threads whose
   * log home is this server can be resolved
   */
  dataServer?: (id: ServerId) => Promise<DataClient>;
  /** A prepared part whose coordinator sent no outcome for this long asks its log home (ms). @default 4 leases */
  doubtAfterMs?: number;
  /** The process's Lamport clock, which stamps trace events (data.trace). @default a clock of its own */
  clock?: LamportClock;
}

export class DataServer {
  readonly home: PageHome;
  readonly lockTable = new LockTable();
  /** What threads cost here: faults served, their recalls and invalidations, lock waits (data.trace). */
  readonly trace: ThreadTrace;
  /** Atomic threads decided here, as their log home (data.atomic.*). */
  readonly decisions: AtomicDecisions;
  /** Parts of atomic threads prepared here (two-phase commit: data.atomic.prepare / finish). */
  readonly participants: AtomicParticipants;
  private readonly peers = new Map<string, Peer>();
  /** Faults of non-atomic threads waiting for an atomic thread to let go of an object (isolateAtomic). */
  private readonly plainFaults = new WaitingAccesses<SysName>();
  private readonly leaseWatch: NodeJS.Timeout;
  private readonly decisionCollector: NodeJS.Timeout;
  private lastWatch = performance.now();

  constructor(
    private readonly store: SegmentStore,
    readonly serverId: ServerId,
    options: DataServerOptions = {},
  ) {
    // Pages and locks go together, whichever way the home drops a holder (a lapsed lease, a
    // reconnection, or a recall it could not answer and whose lease then ran out); the parts
    // it prepared are in doubt from then on.
    this.trace = new ThreadTrace(serverId, options.clock ?? new LamportClock());
    this.home = new PageHome(store, serverId, (holder) => this.peers.get(holder), {
      ...options,
      trace: this.trace,
      onHolderDropped: (holder) => {
        this.participants.holderDropped(holder);
        this.dropLocksOf(holder);
      },
      admit: (object, holder) => this.isolateAtomic(object, holder),
      onWordsTakenOut: (ref, holder) => this.participants.wordsTakenOut(ref, holder),
    });
    this.dataServer = options.dataServer;
    this.participants = new AtomicParticipants({
      serverId,
      store,
      prepare: (req, writer) => this.home.prepare({ ...req, abort: false }, writer),
      applyPrepared: (pages, writer, ticket, finished) => this.home.applyPrepared(pages, writer, ticket, finished),
      abortPrepared: (pages, writer, ticket, revert) => this.home.abortPrepared(pages, writer, ticket, revert),
      termOf: (writer) => this.home.leases.term(writer),
      objectOf: (segment) => store.getSegment(segment)?.object ?? undefined,
      askLogHome: (logHome, thread, attempt) => this.askLogHome(logHome, thread, attempt),
    }, options.doubtAfterMs ?? 4 * this.home.leases.leaseMs);
    this.leaseWatch = setInterval(() => this.takeBackLapsed(), this.home.leases.leaseMs / 4);
    this.leaseWatch.unref();
    this.lockTable.onRecall = (r) => this.recallMonitor(r);
    this.lockTable.onWound = (w) => this.woundAtomic(w);
    this.decisions = new AtomicDecisions(store);
    this.decisionCollector = setInterval(() => this.collectDecisions(), DECISION_COLLECT_MS);
    this.decisionCollector.unref();
    // Parts prepared before a restart: in doubt until their log homes answer.
    this.participants.restore();
  }

  private readonly dataServer?: (id: ServerId) => Promise<DataClient>;

  /** Proposes an abort of attempt `attempt` of `thread` at its log home: "commit" only if that attempt committed. */
  private async askLogHome(logHome: ServerId, thread: AtomicId, attempt: number): Promise<AtomicOutcome> {
    let record;
    if (logHome === this.serverId) record = await this.decisions.decide(thread, "abort", this.serverId, attempt);
    else if (!this.dataServer) throw new Error(`data server ${this.serverId} has no way to reach ${logHome}`);
    else record = await (await this.dataServer(logHome)).call("data.atomic.decide", { id: thread, outcome: "abort", attempt });
    return record.outcome === "commit" && record.attempt === attempt ? "commit" : "abort";
  }

  /** Forgets acknowledged decisions past their retention (AtomicDecisions); a failure is logged and tried again later. */
  private collectDecisions(): void {
    this.decisions.collect().catch((err: Error) => log("forgetting old atomic decisions failed: %s", err.message));
  }

  /**
   * Someone waits behind a monitor a compute server caches: ask it back (compute.lock.recall)
   * and do what it answers. A server that does not answer keeps it until it releases it or its
   * lease runs out, as any holder.
   */
  private recallMonitor(r: CacheRecall): void {
    const peer = this.peers.get(r.server);
    if (!peer) return;
    const body = { object: r.object, key: r.key, cacheThread: r.cacheThread, waiter: r.waiter };
    peer.request<unknown>("compute.lock.recall", body, { timeoutMs: MONITOR_RECALL_TIMEOUT_MS }).then(
      (answer) => this.lockTable.recalled(r, answer),
      (err: Error) => log("recall of the monitor of %s from %s failed: %s", r.object, r.server, err.message),
    );
  }

  /**
   * No server but the one an atomic thread runs on may see the pages of an object it holds
   * before it committed or aborted: such a fault wounds it (a non-atomic thread never waits
   * for an atomic one: LockTable) and waits until its monitor is given back.
   */
  private async isolateAtomic(object: SysName, holder: string): Promise<(() => void) | void> {
    await this.participants.admitted(object);
    const first = this.lockTable.atomicMonitorHolder(object);
    if (!first || first.servers.includes(holder)) return;
    // Until this fault is served, no atomic thread is granted the monitor: else each one that
    // takes it while the fault waits is wounded in turn, and a steady stream of faults starves
    // atomic threads (and the fault waits for ever).
    const served = this.plainFaults.hold(object);
    try {
      for (let h: typeof first | undefined = first; h && !h.servers.includes(holder); h = this.lockTable.atomicMonitorHolder(object)) {
        this.lockTable.woundMonitorHolder(object, `a fault of ${holder}`);
        await this.lockTable.whenMonitorReleased(object, h.thread);
      }
    } catch (err) {
      served();
      throw err;
    }
    return served;
  }

  /**
   * Wound-wait (LockTable): the atomic thread holding a monitor someone must not wait for is
   * told to abort, through every server it holds it through (its frames there). One that does
   * not answer keeps the monitor until it commits, aborts, or its lease runs out, as any holder.
   */
  private woundAtomic(w: Wound): void {
    for (const server of w.servers) {
      const peer = this.peers.get(server);
      if (!peer) continue;
      peer.request<unknown>("compute.atomic.wound", { id: w.atomic, object: w.object, reason: w.reason }, { timeoutMs: MONITOR_RECALL_TIMEOUT_MS }).catch(
        (err: Error) => log("wounding atomic thread %s at %s failed: %s", w.atomic, server, err.message),
      );
    }
  }

  /**
   * The lease is the one failure detector of pages and locks: a compute server whose renewals
   * stopped (it died, or a partition cut it off) loses both together, once it has surely
   * stopped using them (HolderLeases).
   */
  private takeBackLapsed(): void {
    // A watch that runs late found this process stalled: renewals may be queued unread.
    const now = performance.now(), late = now - this.lastWatch > this.home.leases.leaseMs / 2;
    this.lastWatch = now;
    if (late) return;
    for (const holder of this.home.dropLapsed()) log("%s's lease ran out: its pages and locks are taken back", holder);
  }

  private dropLocksOf(holder: string): void {
    const n = this.lockTable.dropServer(holder);
    if (n > 0) log("%s was dropped: its %d lock holds and waits are taken back", holder, n);
  }

  close(): void {
    clearInterval(this.leaseWatch);
    clearInterval(this.decisionCollector);
    this.participants.close();
  }

  /** Tracks a connected compute server: recalls go to it; its pages and locks return when it goes. */
  attach(peer: Peer): void {
    const holder = peer.remoteId;
    this.peers.set(holder, peer);
    // A holder that connects again dropped all it had from us (or is a new process): its
    // locks go too. Its threads still inside them, if alive, are fenced (a new lease term).
    this.home.holderConnected(holder); // drops what it held before, locks too (onHolderDropped)
    peer.onClose(() => {
      if (this.peers.get(holder) !== peer) return;
      this.peers.delete(holder);
      // Grants to its waiters would be lost with this connection: forget them now.
      this.lockTable.dropWaiters(holder);
      log("%s disconnected: its pages and locks return when its lease runs out", holder);
    });
  }

  readonly handler = async (kind: string, body: unknown, ctx: RequestContext): Promise<unknown> => {
    const req = decodeDataRequest(kind, body);
    return this.handle(req, ctx.peer);
  };

  private async handle(req: DataRequest, peer: Peer): Promise<DataReplies[keyof DataReplies]> {
    switch (req.kind) {
      case "data.hello": return { serverId: this.serverId, epoch: this.store.epoch, leaseMs: this.home.leases.leaseMs };
      case "data.page.fault": return this.home.fault(req, peer.remoteId);
      case "data.segment.sizes": return req.segments.map((segment) => {
        const size = this.store.segmentSize(segment);
        return { segment, maxPages: size?.maxPages ?? 0, pages: size?.pages ?? -1, bytes: size?.bytes ?? 0 };
      });
      case "data.trace": return { server: this.serverId, events: this.trace.of(req.thread), dropped: this.trace.dropped };
      case "data.page.commit": return this.commit(req, peer.remoteId);
      case "data.page.release": return this.home.release(req, peer.remoteId);
      case "data.page.drop": return this.home.dropCopies(req, peer.remoteId);
      case "data.lease.renew": return this.renewLease(peer.remoteId);
      case "data.holder.settle": return { settled: await Promise.all(req.holders.map(async (holder) => ({ holder, outcome: await this.home.settleHolder(holder) }))) };
      case "data.pages": return { epoch: this.store.epoch, pages: this.home.info(req.segments) };
      case "data.lock.acquire": return this.acquire(req, peer.remoteId);
      // A release is never refused: giving a lock back cannot make two holders.
      case "data.lock.release": return this.lockTable.release(req, peer.remoteId);
      case "data.lock.list": return this.lockTable.list(req.object);
      case "data.echo": return { bytes: req.bytes };
      case "data.object.create": return this.createObject(req, peer.remoteId);
      case "data.object.get": return this.store.getObject(req.sysname);
      case "data.object.delete": return this.deleteObject(req.sysname);
      case "data.object.upgrade": return this.upgradeObject(req.sysname, req.classVersion);
      case "data.object.list": return this.store.listObjects();
      case "data.class.register": return this.registerClass(req);
      case "data.class.get": return this.store.getClass(req.name, req.version);
      case "data.class.list": return this.store.listClasses().map(summary);
      case "data.status": return this.statusNow();
      // The proposer is whoever asks (a coordinator commits, anyone may presume an abort).
      case "data.atomic.decide": return this.decisions.decide(req.id, req.outcome, peer.remoteId, req.attempt);
      case "data.atomic.prepare": return this.participants.prepare(req, peer.remoteId);
      case "data.atomic.finish": return this.finish(req, peer.remoteId);
      case "data.atomic.outcome": return { decision: this.decisions.outcome(req.id) };
      case "data.atomic.acknowledge": return { acknowledged: await this.decisions.acknowledge(req.id) };
    }
  }

  /**
   * A commit, then the locks that ride with it given back — whatever became of the commit (a
   * lock is released as its invocation ends, applied or not), and only once it is decided, so
   * the next holder finds the pages committed. A release is never refused; one of a lock not
   * held is logged (the holder's connection closed meanwhile: it was dropped already).
   */
  private async commit(req: Extract<DataRequest, { kind: "data.page.commit" }>, holder: string): Promise<DataReplies["data.page.commit"]> {
    try {
      if (req.atomic === undefined || req.abort) return await this.home.commit(req, holder);
      return await this.commitAtomic(req, req.atomic, req.attempt ?? 0, holder);
    } finally {
      this.releaseAll(req.release, holder, "commit");
    }
  }

  /** A prepared part's outcome, then the locks that ride with it given back (as with a commit's). */
  private async finish(req: Extract<DataRequest, { kind: "data.atomic.finish" }>, holder: string): Promise<DataReplies["data.atomic.finish"]> {
    try {
      return await this.participants.finish(req.id, req.outcome);
    } finally {
      this.releaseAll(req.release, holder, "finish");
    }
  }

  private releaseAll(release: LockReleaseRef[] | undefined, holder: string, what: string): void {
    for (const r of release ?? []) {
      try {
        this.lockTable.release(r, holder);
      } catch (err) {
        log("release of %s '%s' of %s with a %s of %s: %s", r.lock, r.key, r.object, what, holder, (err as Error).message);
      }
    }
  }

  /**
   * The one segment of an atomic thread committed at this home (v1): applied with its commit
   * decision in the same transaction — or, if the thread was decided before (a presumed abort
   * asked by a workstation whose reply was lost), refused and its pages reverted.
   */
  private async commitAtomic(req: Extract<DataRequest, { kind: "data.page.commit" }>, id: AtomicId, attempt: number, holder: string): Promise<DataReplies["data.page.commit"]> {
    if (!this.decisions.beginCommit(id, attempt)) {
      const refused = await this.home.commit({ ...req, abort: true }, holder);
      return { ...refused, reason: `atomic thread ${id} was decided before its commit arrived (${this.decisions.outcome(id)?.outcome ?? "being decided"})` };
    }
    let applied = false;
    try {
      // A thread committed here whole: no participant waits for this decision, it is kept for
      // workstations asking `outcome` for the retention, then forgotten. The log home's part of
      // a two-phase commit: kept until its coordinator says every prepared part finished.
      const decision = { id, outcome: "commit" as const, proposer: holder, decidedAt: Date.now(), acknowledged: req.twoPhase !== true, attempt };
      const outcome = await this.home.commit(req, holder, decision);
      applied = outcome.applied;
      return outcome;
    } finally {
      this.decisions.endCommit(id, applied);
    }
  }

  /** A grant leaves once pages that dropped holders may have written were reverted (see PageHome.revertsSettled). */
  private async acquire(req: Extract<DataRequest, { kind: "data.lock.acquire" }>, holder: string): Promise<DataReplies["data.lock.acquire"]> {
    await this.home.afterRestartGrace(); // a holder of our previous epoch may think it still holds the lock
    if (req.atomic && req.lock === "monitor") await this.plainFaults.none(req.object); // see isolateAtomic
    const started = performance.now();
    const granted = await this.lockTable.acquire(this.fenced(req, holder), holder);
    await this.home.revertsSettled();
    if (granted.waitedMs > 0) this.trace.record(req.thread, "lock wait (home)", `${req.lock} '${req.key}' of ${req.object} for ${holder}`, performance.now() - started);
    return granted;
  }

  /**
   * Fencing: an acquire sent under a lease term that is over comes from a thread that relied
   * on what this home has taken back: refused. (A term above ours was given by this home
   * before it restarted: our lock table is new, there is nothing to fence.)
   */
  private fenced<T extends { term?: number; key: string }>(req: T, holder: string): T {
    const term = this.home.leases.term(holder);
    if (req.term === undefined || req.term >= term) return req;
    throw new LeaseRevokedError(`${this.serverId} refuses lock '${req.key}' of ${holder}: its lease term ${req.term} is over (now ${term})`, { server: this.serverId, holder });
  }

  private renewLease(holder: string): DataReplies["data.lease.renew"] {
    const term = this.home.leases.renew(holder);
    if (term === null) {
      throw new LeaseRevokedError(`${this.serverId} no longer renews the lease of ${holder}: it did not answer a recall`, { server: this.serverId, holder });
    }
    return { epoch: this.store.epoch, leaseMs: this.home.leases.leaseMs, term };
  }

  /**
   * Records a new object and allocates its segments. The class is resolved by the caller
   * (the compute server, through the name server): it may be stored at another data server.
   * Asked with `grant` (by the compute server that runs the constructor), the reply also
   * grants it the object's first pages writable (PageHome.grantCreated).
   */
  private async createObject(req: Extract<DataRequest, { kind: "data.object.create" }>, holder: string): Promise<CreatedObject> {
    const desc = await this.newObject(req.className, req.classVersion);
    if (!req.grant) return desc;
    const pages = [
      ...range(CREATION_GRANT_PAGES.data).map((page) => ({ segment: desc.segments.data, page })),
      ...range(CREATION_GRANT_PAGES.heap).map((page) => ({ segment: desc.segments.heap, page })),
    ];
    return { ...desc, grants: await this.home.grantCreated(pages, holder), epoch: this.store.epoch, term: this.home.leases.term(holder) };
  }

  /**
   * The volatile heap gets a sysname but no segment row: its pages live and die at compute
   * servers (VolatileHeaps), never faulted from or committed to us, and a row would be a third
   * of what a small object costs on disk.
   */
  private async newObject(className: string, classVersion: number): Promise<ObjectDescriptor> {
    const sysname = newSysName(this.serverId);
    const seg = (role: "data" | "heap"): SegmentRecord => ({
      sysname: newSysName(this.serverId), object: sysname, role, maxPages: SEGMENT_MAX_PAGES[role], createdAt: Date.now(),
    });
    const segments = [seg("data"), seg("heap")];
    const desc: ObjectDescriptor = {
      sysname, className, classVersion, home: this.serverId,
      segments: { data: segments[0].sysname, heap: segments[1].sysname, volatile: newSysName(this.serverId) }, createdAt: Date.now(),
    };
    await this.store.createObject(desc, segments);
    log("created %s (%s@%d)", sysname, className, classVersion);
    return desc;
  }

  private async deleteObject(sysname: SysName): Promise<{ removed: boolean }> {
    const desc = this.store.getObject(sysname);
    const removed = await this.store.deleteObject(sysname);
    if (desc) for (const s of Object.values(desc.segments)) this.home.forgetSegment(s);
    return { removed };
  }

  /**
   * Records that an object now runs `classVersion` of its class (a versioned upgrade, done
   * by the compute server that filled the new fields in). Never lowers the version, so two
   * compute servers upgrading at once agree; the class itself may live at another home.
   */
  private async upgradeObject(sysname: SysName, classVersion: number): Promise<ObjectDescriptor | null> {
    const desc = await this.store.upgradeObject(sysname, classVersion);
    if (desc) log("object %s runs %s@%d", sysname, desc.className, desc.classVersion);
    return desc;
  }

  private async registerClass(req: Extract<DataRequest, { kind: "data.class.register" }>): Promise<DataReplies["data.class.register"]> {
    const latest = this.store.getClass(req.name);
    if (latest && latest.sourceHash === req.sourceHash) return { class: summary(latest), created: false };
    const rec: ClassSegment = {
      name: req.name, version: (latest?.version ?? 0) + 1, sysname: newSysName(this.serverId), code: req.code,
      entries: req.entries, sourceFile: req.sourceFile, sourceHash: req.sourceHash, registeredAt: Date.now(),
    };
    await this.store.putClass(rec);
    log("registered class %s@%d", rec.name, rec.version);
    return { class: summary(rec), created: true };
  }

  statusNow(): DataStatus {
    return {
      serverId: this.serverId, epoch: this.store.epoch, objects: this.store.countObjects(),
      classes: this.store.listClasses().length, directoryPages: this.home.directory.size,
      commits: this.store.stats.commitCalls, transactions: this.store.stats.transactions,
    };
  }

  /** Figures for /metrics: store, DSM home counters (total and per object), locks, atomic decisions, fault latency. */
  figures(): Figures {
    const s = this.statusNow();
    const out: Figures = {
      epoch: s.epoch, objects: s.objects, classes: s.classes, directory_pages: s.directoryPages, directory_pages_pruned_total: this.home.directory.pruned,
      commits_total: s.commits, commit_transactions_total: s.transactions, compute_servers_connected: this.peers.size,
      trace_events_total: this.trace.recorded, trace_events_dropped_total: this.trace.dropped,
    };
    for (const k of HOME_COUNTERS) out[`dsm_home_${snakeCase(k)}_total`] = this.home.counters.total[k];
    for (const [object, c] of this.home.counters.busiest(METRICS_OBJECTS)) {
      for (const k of HOME_COUNTERS) out[labelled(`dsm_home_object_${snakeCase(k)}_total`, { object })] = c[k];
    }
    for (const [k, v] of Object.entries(this.lockTable.counters)) out[`locks_${snakeCase(k)}_total`] = v;
    // Decisions this home stored as a log home (commit / abort), and proposals answered with the other outcome.
    for (const [k, v] of Object.entries(this.decisions.counts)) out[`atomic_decisions_${k}_total`] = v;
    // Parts of atomic threads prepared here (two-phase commit), by what became of them.
    for (const [k, v] of Object.entries(this.participants.counts)) out[`atomic_parts_${snakeCase(k)}_total`] = v;
    out.atomic_parts_prepared_now = this.participants.size;
    return { ...out, ...histogramFigures("dsm_home_fault_latency_us", this.home.faultLatency.snapshot()) };
  }
}

function summary(rec: ClassSegment): Omit<ClassSegment, "code"> {
  const { code: _code, ...rest } = rec;
  return rest;
}
