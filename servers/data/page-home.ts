/**
 * PageHome: the data server as home of its segments' pages — the server side of the DSM
 * (DESIGN §7): IVY-style single writer / multiple readers, write-invalidate, with the
 * directory (PageDirectory) kept here.
 *
 *   read fault   if another server owns the page, recall it there (downgrade: it keeps a
 *                read-only copy and sends its bytes home); add the requester to the copyset;
 *                send the page.
 *   write fault  invalidate every other copy (recalling the owner's bytes); raise the version;
 *                make the requester the owner; send the page — or, when the requester's copy
 *                is of the current version, just `same` (an upgrade, no bytes resent).
 *   write run    a write fault may ask for `count` pages (a compute server writing fresh pages in
 *                sequence): the faulted page is granted as above, and each following page that
 *                no one holds, no request waits for, and that needs no recall or invalidation
 *                is granted writable to the requester too, in the same reply (`extra`).
 *   creation     a new object's first pages are all zeros and unknown to anyone: the home grants
 *                them writable to the creating compute server with the descriptor (grantCreated),
 *                so its constructor faults on none of them.
 *   commit       one commit segment of a compute server (DESIGN §7a): the PageLogs of the
 *                pages it wrote — its own words only, never a page — applied to the pages'
 *                durable images word by word in stamp order (applyPageLog), all pages in one
 *                store transaction (group commit). Bytes of other segments that share those
 *                pages (false sharing, the heap allocator) are never stored by it.
 *   order        a writer's commits of one object are decided in the order it sent them, and
 *                one it sent before it learned that an earlier one was refused is refused too:
 *                it may rest on that one's words (CommitChains: early lock release pipelines
 *                them). A recall's "dirty" that its writer's last commit already covered is
 *                stale and marks nothing (PageDirectory: doneBy).
 *   abort        a segment that will not commit (its compute server gave it up, or its lease
 *                term is over: fencing) is applied nowhere, and every page it wrote is
 *                reverted, since its bytes are in their coherent image.
 *   periods      while a server's writes to a page are not all committed, the home keeps what
 *                it wrote in each period of its ownership (the image granted, the bytes
 *                recalled: OwnershipPeriods), dropped once a commit of its says none are left.
 *   revert       a page whose coherent image holds writes that will never commit (tainted:
 *                their writer died, lost its lease, or aborted) is rebuilt: its durable image
 *                plus the periods of every server but the one whose words are taken out. Every
 *                copy is dropped first: the current owner sends its bytes (its last period)
 *                and aborts nothing, as every other holder ("refresh"); only a live server
 *                whose words are taken out (an aborted segment, a dead isiba worker, copies it
 *                lost) is told to abort its segments that wrote the page ("revert"): they
 *                cannot be told apart from its others there; until it answers, its commits of
 *                the page are refused (they were sent before it knew: PageDirectory `fenced`).
 *                A dead server is told nothing: its lease term is over, its commits refused.
 *                So a crash loses exactly the crashed server's uncommitted words (DESIGN §7a).
 *   closure      pages are reverted together, never one by one: the allocator's page 0
 *                reverted while a block page still holds a lost allocation's string makes the
 *                free list point into that string. A revert closure starts from the pages
 *                with lost writes (a dead holder's, an aborted segment's), and every server
 *                told to abort segments answers with the other pages of that object its
 *                doomed segments may have written (`lost`): those join the closure, with that
 *                server's words to be taken out of them too, round after round, until no new
 *                page joins. From its start until its end no fault of any page of its objects
 *                is served (RevertClosures; faults wait, or give their page lock back and
 *                wait) — not only of its pages: one named in a later round must not be
 *                fetched before it joins. So nobody ever reads a rebuilt page beside another
 *                that still holds bytes of the writes being taken back.

 *   restart      a home that restarted (epoch > 1) knows no holder of its previous epoch, so it
 *                could not recall their copies: it grants no write (nor, in DataServer, any
 *                lock) until every such holder has surely dropped them — its lease, measured
 *                from before we died, has run out (`afterRestartGrace`). A holder that saw the
 *                connection close dropped them at once; this covers one cut off by a partition.
 *                Read grants serve committed data and need not wait.
 *
 * Requests for one page are serialized (PageLocks), so the directory changes one request at
 * a time per page, and every grant of a version is sent before any recall of it.
 * A holder that cannot be reached is taken out of the directory only once its lease has
 * expired (HolderLeases): until then it might still be using its copy. Taking it out revokes
 * its lease (a new term: its commits under the old one are refused) and reverts the pages it
 * may have written.
 */
import createDebug from "debug";
import type { AtomicId, ServerId, SysName } from "../../ra-kernel/ids.js";
import { LatencyHistogram } from "../../ra-kernel/latency-histogram.js";
import type { ThreadTrace } from "../host/thread-trace.js";
import { ObjectCounters } from "../../ra-kernel/object-counters.js";
import type { Peer } from "../transport/transport.js";
import { ownDirty, PageDirectory, pageKey, type PageEntry, type PageRef } from "./page-directory.js";
import { PageLocks } from "./page-locks.js";
import { RevertClosures } from "./revert-closures.js";
import { HolderLeases } from "./holder-leases.js";
import { StaleEpochError } from "../../ra-kernel/errors.js";
import type { CommitOutcome, DroppedCopy, ExtraGrant, HolderOutcome, PageCommitMsg, PageGrant, PageInfo } from "./protocol.js";
import { applyPageLog, WORDS_PER_PAGE } from "../../ra-kernel/page-log.js";
import { PAGE_SIZE } from "../../ra-kernel/ids.js";
import type { SegmentStore } from "./segment-store.js";
import { isWholePage } from "./ownership-periods.js";
import { PageReverts, type RecallReply, type RevertNotice } from "./page-reverts.js";
import { CommitChains, type ChainTicket } from "./commit-chains.js";
import type { DecisionRecord } from "./atomic-decisions.js";

const log = createDebug("servers:data:home");

/** How long a holder may take to answer a recall before we fall back on its lease. */
const RECALL_TIMEOUT_MS = 2000;

/** A recall as sent (compute.recall). */
type RecallBody = Omit<RevertNotice, "action"> & { action: "invalidate" | "downgrade" | RevertNotice["action"]; threads?: string[] };

/** Thrown inside a page's lock when it must be reverted first: the fault gives the lock back, waits, retries. */
class RevertFirst {
  constructor(readonly closure: Promise<void>) {}
}

export const HOME_COUNTERS = [
  "readFaults", "writeFaults", "upgrades", "invalidationsSent", "recalls", "bytesSent", "bytesReceived", "pagesCommitted", "holdersDropped",
  "pagesPrefetched", "pagesGrantedAtCreation", "segmentsCommitted", "segmentsAborted", "pagesReverted", "releases",
  "settlesAlive", "settlesTakenBack",
] as const;
export type HomeCounter = (typeof HOME_COUNTERS)[number];

export interface PageHomeOptions {
  /** How long a compute server's lease lasts (ms). @default 3000 */
  leaseMs?: number;
  /** How long a holder may take to answer a recall before its lease decides (ms). @default 2000 */
  recallTimeoutMs?: number;
  /** After a restart, how long writes and locks wait (ms). @default the lease plus its margin */
  restartGraceMs?: number;
  /**
   * The store failed to make ordered commits durable: the images here are ahead of the disk,
   * so the process must stop (and recover from the disk). @default none: the home refuses
   * every commit and fault from then on
   */
  onStoreFailure?: (err: unknown) => void;
  /**
   * A holder was dropped (its lease ran out, it reconnected, or it was taken back after a
   * recall it could not answer): what else it holds goes too (DataServer: its locks).
   */
  onHolderDropped?: (holder: string) => void;
  /**
   * Waited for before a fault of a page of `object` by `holder` is served, outside the page's
   * lock (DataServer: a page of an object an atomic thread holds elsewhere waits for its end);
   * what it resolves with, if anything, is called once the fault was served. @default none
   */
  admit?: (object: SysName, holder: string) => Promise<(() => void) | void>;
  /**
   * A revert takes `holder`'s words out of a page (AtomicParticipants: a prepared part of its
   * in that page is in doubt from now on). Called synchronously, before the page is served again.
   */
  onWordsTakenOut?: (ref: PageRef, holder: string) => void;
  /** Where the faults a thread made here, and the recalls they cost, are traced. @default none */
  trace?: ThreadTrace;
}

/** A page a compute server evicts (data.page.release). */
export interface ReleaseRequest extends PageRef {
  epoch: number;
  version: number;
  bytes: Uint8Array | null;
  stamp: number;
}

/** One commit segment as a compute server sends it (data.page.commit). */
export interface CommitRequest {
  epoch: number;
  term: number;
  abort: boolean;
  /** The writer's count of refused commits of the object as last told (CommitChains). */
  seen?: number;
  pages: PageCommitMsg[];
}

export interface FaultRequest extends PageRef {
  mode: "read" | "write";
  /** The version of the requester's copy, 0 if it has none. */
  have: number;
  /** A write fault may ask for this many pages from `page` on (1: just the page). @default 1 */
  count?: number;
  /** Whose fault it is (traced with what it cost them). */
  threads?: string[];
}

export class PageHome {
  readonly directory = new PageDirectory();
  readonly counters = new ObjectCounters<HomeCounter>(HOME_COUNTERS);
  readonly faultLatency = new LatencyHistogram();
  readonly leases: HolderLeases;
  private readonly locks = new PageLocks();
  /** Revert closures and the fault barriers they raise (see header). */
  private readonly closures = new RevertClosures({
    directory: this.directory,
    locks: this.locks,
    entryOf: (ref) => this.entryOf(ref),
    barKey: (ref) => this.barKey(ref),
    round: (refs) => this.reverts.round(refs),
    takeOut: (holder, refs) => void this.reverts.takeOut(holder, refs),
  });
  /** What a closure's round does to each page (PageReverts). */
  private readonly reverts = new PageReverts({
    directory: this.directory,
    epoch: () => this.epoch,
    entryOf: (ref) => this.entryOf(ref),
    ask: (holder, notice) => this.ask(holder, notice),
    noteDirty: (e, holder, bytes, stamp) => this.noteDirty(e, holder, bytes, stamp),
    durableOf: (ref, e) => e.durable ?? this.storedBytes(ref),
    homesPage: (p): p is PageRef => this.homesPage(p),
    reverted: (ref, doomed) => {
      this.counters.add(this.objectOfSegment(ref.segment), "pagesReverted");
      for (const holder of doomed) this.onWordsTakenOut?.(ref, holder);
    },
    received: () => this.receipts,
  });
  private readonly objectOf = new Map<SysName, SysName>();
  /** The order commits of one writer and object are decided in, and their refusal cascade. */
  readonly chains = new CommitChains();
  /** Connections accepted per holder so far (to tell a reconnected holder from a silent one). */
  private readonly connections = new Map<string, number>();

  constructor(
    private readonly store: SegmentStore,
    readonly serverId: ServerId,
    /** The live connection to a holder, if any. */
    private readonly peerOf: (holder: string) => Peer | undefined,
    options: PageHomeOptions = {},
  ) {
    this.leases = new HolderLeases(options.leaseMs);
    this.onStoreFailure = options.onStoreFailure;
    this.onHolderDropped = options.onHolderDropped;
    this.admit = options.admit;
    this.onWordsTakenOut = options.onWordsTakenOut;
    this.trace = options.trace;
    this.recallTimeoutMs = options.recallTimeoutMs ?? RECALL_TIMEOUT_MS;
    const grace = store.epoch > 1 ? options.restartGraceMs ?? this.leases.leaseMs + this.leases.marginMs : 0;
    this.graceEnds = performance.now() + grace;
  }

  private readonly recallTimeoutMs: number;
  private readonly onStoreFailure?: (err: unknown) => void;
  private readonly onHolderDropped?: (holder: string) => void;
  private readonly admit?: (object: SysName, holder: string) => Promise<(() => void) | void>;
  private readonly onWordsTakenOut?: (ref: PageRef, holder: string) => void;
  private readonly trace?: ThreadTrace;
  /** Set once the store failed to make ordered commits durable: nothing is served after. */
  private storeFailure: unknown = null;
  /** Commits received so far (PageDirectory: fenced). */
  private receipts = 0;
  /** When holders of our previous epoch have surely dropped its pages and locks (see header). */
  private readonly graceEnds: number;

  /** Resolves once the restart grace is over (at once if it is, or we never restarted). */
  afterRestartGrace(): Promise<void> {
    const left = this.graceEnds - performance.now();
    if (left <= 0) return Promise.resolve();
    log("waiting %d ms for holders of the previous epoch to drop what they cached", Math.ceil(left));
    return new Promise((resolve) => setTimeout(resolve, left + 1));
  }

  get epoch(): number {
    return this.store.epoch;
  }

  async fault(req: FaultRequest, holder: string): Promise<PageGrant> {
    const started = performance.now();
    this.assertStoreSound();
    this.leaseFromFirstContact(holder);
    if (req.mode === "write") await this.afterRestartGrace();
    const object = this.admit ? this.objectOfSegment(req.segment) : undefined;
    const admitted = object !== undefined ? await this.admit!(object, holder) : undefined;
    try {
      const grant = await this.serveFault(req, holder, started);
      this.traceFor(req, "page fault served", `${req.mode} ${req.segment}#${req.page}${(req.count ?? 1) > 1 ? ` (+${req.count! - 1} following)` : ""} for ${holder}`, performance.now() - started);
      return grant;
    } finally {
      admitted?.();
    }
  }

  /** Records an event for each thread whose fault this is (if traced). */
  private traceFor(ref: PageRef & { threads?: string[] }, kind: string, detail: string, ms?: number): void {
    if (!this.trace || !ref.threads) return;
    for (const t of ref.threads) this.trace.record(t, kind, detail, ms);
  }

  private async serveFault(req: FaultRequest, holder: string, started: number): Promise<PageGrant> {
    for (;;) {
      const closure = this.closures.barrierOf(req);
      if (closure) {
        await closure;
        continue;
      }
      try {
        const { grant, synced } = await this.grantUnderLock(req, holder, started);
        await synced; // bytes of commits ordered but not durable yet leave only once they are
        return grant;
      } catch (err) {
        if (!(err instanceof RevertFirst)) throw err;
        await err.closure;
      }
    }
  }

  private grantUnderLock(req: FaultRequest, holder: string, started: number): Promise<{ grant: PageGrant; synced: Promise<void> | null }> {
    return this.locks.withPages([pageKey(req.segment, req.page)], async () => {
      const e = this.entryOf(req);
      const grant = req.mode === "read" ? await this.grantRead(req, e, holder) : await this.grantWrite(req, e, holder);
      if (req.mode === "write" && (req.count ?? 1) > 1) grant.extra = this.grantFollowing(req, req.count!, holder);
      const object = this.objectOfSegment(req.segment);
      this.counters.add(object, req.mode === "read" ? "readFaults" : "writeFaults");
      if (grant.same) this.counters.add(object, "upgrades");
      this.counters.add(object, "bytesSent", grant.bytes?.length ?? 0);
      this.faultLatency.record((performance.now() - started) * 1000);
      return { grant, synced: e.synced };
    });
  }

  private async grantRead(ref: PageRef, e: PageEntry, holder: string): Promise<PageGrant> {
    if (e.owner === holder) this.holderLostCopies(ref, e, holder); // the owner faults on its own page: it lost it
    if (e.owner !== null) await this.recall(ref, e, e.owner, "downgrade");
    this.revertedFirst(ref, e);
    e.copyset.add(holder);
    return this.grant(ref, e, holder, false);
  }

  private async grantWrite(req: FaultRequest, e: PageEntry, holder: string): Promise<PageGrant> {
    if (e.owner === holder) this.holderLostCopies(req, e, holder);
    const readers = [...e.copyset].filter((h) => h !== holder && h !== e.owner);
    await Promise.all(readers.map((h) => this.recall(req, e, h, "invalidate")));
    if (e.owner !== null) await this.recall(req, e, e.owner, "invalidate");
    this.revertedFirst(req, e);
    const same = req.have === e.version && e.copyset.has(holder) && e.owner === null;
    this.makeOwner(e, holder);
    return this.grant(req, e, holder, same);
  }

  private grant(ref: PageRef, e: PageEntry, holder: string, same: boolean): PageGrant {
    return { bytes: same ? null : this.bytesOf(ref, e), same, version: e.version, stamp: e.stamp, epoch: this.epoch, term: this.leases.term(holder) };
  }

  /**
   * A holder's lease starts with its first grant at the latest (it counts its own from when
   * it connected): one we never heard from could not be waited for (HolderLeases).
   */
  private leaseFromFirstContact(holder: string): void {
    if (this.leases.term(holder) === 0) this.leases.renew(holder);
  }

  /**
   * A page of an object a revert closure bars, or a tainted page, is served only once that
   * closure is done: give the lock back and wait (RevertFirst).
   */
  private revertedFirst(ref: PageRef, e: PageEntry): void {
    const closure = this.closures.barrierOf(ref) ?? (e.tainted ? this.closures.start([ref]) : undefined);
    if (closure) throw new RevertFirst(closure);
  }

  private barKey(ref: PageRef): string {
    const object = this.objectOfSegment(ref.segment);
    return object ?? pageKey(ref.segment, ref.page);
  }

  /**
   * `holder` owned the page but has no copy of it any more: it dropped every page of ours at
   * once (connection, lease, term or epoch), so every page it owned or was dirty in lost its
   * uncommitted writes: revert them all, together (then the fault retries).
   */
  private holderLostCopies(ref: PageRef, e: PageEntry, holder: string): never {
    e.owner = null;
    e.copyset.delete(holder);
    e.tainted = true;
    log("%s no longer holds %s#%d, which it owned: reverting what it wrote", holder, ref.segment, ref.page);
    throw new RevertFirst(this.closures.start(this.reverts.takeOut(holder, [ref, ...this.directory.writtenBy(holder)]), holder));
  }

  /**
   * A write run: ownership of the `count - 1` pages after `ref.page` (within the segment) that
   * are free to give — no holder, no request waiting — in one go. Synchronous: nothing else
   * touches the directory meanwhile, so those pages need not be locked.
   */
  private grantFollowing(ref: PageRef, count: number, holder: string): ExtraGrant[] {
    const end = Math.min(ref.page + count, this.store.getSegment(ref.segment)?.maxPages ?? 0);
    const out: ExtraGrant[] = [];
    for (let page = ref.page + 1; page < end; page++) {
      const next = { segment: ref.segment, page };
      if (!this.locks.isFree(pageKey(ref.segment, page))) continue;
      const e = this.entryOf(next);
      if (e.owner !== null || e.copyset.size > 0) continue;
      if (e.tainted || this.closures.barrierOf(next)) continue;
      this.makeOwner(e, holder);
      out.push({ page, version: e.version, stamp: e.stamp, bytes: this.bytesOf(next, e) });
    }
    this.counters.add(this.objectOfSegment(ref.segment), "pagesPrefetched", out.length);
    return out;
  }

  /**
   * Write ownership of a new object's first pages for the compute server creating it (see
   * header). Call once the segments are stored, before anyone else can know them.
   */
  grantCreated(refs: PageRef[], holder: string): Promise<{ segment: SysName; page: number; version: number }[]> {
    this.leaseFromFirstContact(holder);
    return this.locks.withPages(refs.map((r) => pageKey(r.segment, r.page)), () => refs.map((ref) => {
      const e = this.directory.entry(ref, () => 0);
      if (e.owner !== null || e.copyset.size > 0) throw new Error(`page ${ref.page} of new segment ${ref.segment} is already held`);
      // Its frames are new: it stamps its writes from 1, whatever our entry starts at (the
      // stampFloor), and a new page has no earlier commit. So its period starts at 0, or
      // the periods' rule for words committed during them could never apply to it.
      this.makeOwner(e, holder, 0);
      this.counters.add(this.objectOfSegment(ref.segment), "pagesGrantedAtCreation");
      return { segment: ref.segment, page: ref.page, version: e.version };
    }));
  }

  /**
   * A new version, owned by `holder` alone (the page must be free of other holders); its
   * ownership period begins, its writes stamped above `start` (the stamp its grant carries).
   */
  private makeOwner(e: PageEntry, holder: string, start = e.stamp): void {
    e.version++;
    e.owner = holder;
    e.copyset = new Set([holder]);
    e.twin = e.pending; // what it writes over (OwnershipPeriods); null: the durable image
    e.twinStamp = start;
  }

  /**
   * Asks a holder to drop (`invalidate`) or keep read-only (`downgrade`) its copy of the current
   * version; an owner sends its bytes, which become the page's pending bytes, and every holder
   * its stamp and whether its copy holds writes not committed yet (then it is `dirty` here).
   * A holder that cannot answer is dropped from the whole directory once its lease has run
   * out (the page is then tainted if it owned it or was dirty: callers revert it).
   */
  private async recall(ref: PageRef, e: PageEntry, holder: string, action: "invalidate" | "downgrade"): Promise<void> {
    const object = this.objectOfSegment(ref.segment);
    const threads = (ref as Partial<FaultRequest>).threads;
    const body = { segment: ref.segment, page: ref.page, version: e.version, epoch: this.epoch, action, ...(threads ? { threads } : {}) };
    const started = performance.now();
    const r = await this.ask(holder, body);
    const what = e.owner === holder ? `recalled ${ref.segment}#${ref.page} from its owner ${holder}` : `invalidated ${holder}'s copy of ${ref.segment}#${ref.page}`;
    this.traceFor(ref, action === "downgrade" ? "recall (downgrade)" : e.owner === holder ? "recall" : "invalidation", r ? what : `${what}: no answer`, performance.now() - started);
    if (r && !r.held && e.owner === holder) this.holderLostCopies(ref, e, holder);
    if (r) {
      const owned = e.owner === holder;
      this.counters.add(object, owned ? "recalls" : "invalidationsSent");
      if (r.bytes && owned) {
        e.pending = r.bytes;
        this.counters.add(object, "bytesReceived", r.bytes.length);
      }
      if ((r.stamp ?? 0) > e.stamp) e.stamp = r.stamp!;
      if (r.dirty) this.noteDirty(e, holder, owned ? r.bytes : null, r.stamp ?? e.stamp);
    }
    if (e.owner === holder) {
      e.owner = null;
      e.twin = null;
    }
    if (action === "invalidate" || !r) e.copyset.delete(holder);
  }

  /**
   * `holder` has writes not committed yet in the page (as of its copy's stamp); an owner
   * giving the page back (`bytes`) ends a period of its ownership (OwnershipPeriods).
   */
  private noteDirty(e: PageEntry, holder: string, bytes: Uint8Array | null, stamp: number): void {
    if (e.doneBy === holder && stamp <= e.doneAt) return; // stale: all of it committed (PageDirectory: doneBy)
    ownDirty(e).set(holder, Math.max(e.dirty.get(holder) ?? 0, stamp));
    if (isWholePage(bytes)) e.periods.record(holder, e.twin, bytes, e.twinStamp, stamp);
  }

  /**
   * Sends a recall; null if the holder could not answer (it has then been taken out) — or
   * was taken out while its answer was on its way (its lease ran out meanwhile, or it
   * reconnected): that answer speaks for copies and writes the drop already took back, and
   * taking its "dirty" now would bring them back (a dead server's words kept by a revert).
   */
  private async ask(holder: string, body: RecallBody): Promise<RecallReply | null> {
    const peer = this.peerOf(holder);
    const term = this.leases.term(holder);
    try {
      if (!peer) throw new Error("not connected");
      const reply = await peer.request<RecallReply>("compute.recall", body, { timeoutMs: this.recallTimeoutMs });
      if (this.leases.term(holder) === term) return reply;
      log("%s answered a recall of %s#%d after it was dropped: ignored", holder, body.segment, body.page);
      return null;
    } catch (err) {
      log("%s did not answer a recall of %s#%d (%s): waiting for its lease", holder, body.segment, body.page, (err as Error).message);
      await this.takeBackFrom(holder);
      return null;
    }
  }

  /** Whether a page a compute server named is one of ours (a bad name is ignored). */
  private homesPage(p: { segment: unknown; page: unknown }): p is PageRef {
    if (typeof p?.segment !== "string" || !Number.isInteger(p.page) || (p.page as number) < 0) return false;
    const seg = this.store.getSegment(p.segment as SysName);
    return seg !== null && seg !== undefined && (p.page as number) < seg.maxPages;
  }

  /**
   * Resolves once the revert closures running now are done: a lock taken back from a dead
   * holder is granted to the next only after that (DataServer), so the next holder cannot
   * read a copy that still holds the dead one's uncommitted writes — in the lock's object or
   * any other its section wrote. The dead holder's closure started when it was dropped,
   * before its locks were: closures that start later are not waited for (with servers dying
   * every few seconds, waiting for "none left" could last for ever).
   */
  revertsSettled(): Promise<void> {
    return this.closures.settled();
  }

  /**
   * A caller lost `holder` while a call of its may have been running there (data.holder.settle):
   * resolves once it answered us since ("alive": the lost call may still be running), or
   * everything it held was taken back — its uncommitted words out of every page, the reverts
   * done, so no copy anywhere still holds them ("taken back"); "unknown": it never held
   * anything here. A holder that does not answer is taken back as after a recall it could
   * not answer: once its lease has run out. Either way, the reverts running by then finish
   * first.
   */
  async settleHolder(holder: string): Promise<HolderOutcome> {
    const term = this.leases.term(holder);
    if (term === 0) return "unknown";
    const peer = this.peerOf(holder);
    let alive = false;
    if (peer) {
      try {
        await peer.request("compute.ping", {}, { timeoutMs: this.recallTimeoutMs });
        alive = this.leases.term(holder) === term;
      } catch (err) {
        log("%s did not answer a ping (%s): waiting for its lease", holder, (err as Error).message);
      }
    }
    if (!alive && this.leases.term(holder) === term) await this.takeBackFrom(holder);
    // Also when alive: a repaired server answers for its new process, and the revert of what
    // the dead one held (started when it reconnected) may still be running.
    await this.revertsSettled();
    this.counters.add(undefined, alive ? "settlesAlive" : "settlesTakenBack");
    return alive ? "alive" : "taken back";
  }

  /**
   * Takes back everything a holder that cannot answer holds, once its lease has run out: its
   * renewals are refused meanwhile. If it reconnected while we waited, it dropped its copies
   * itself (and may hold new ones granted since): nothing more to take.
   */
  private async takeBackFrom(holder: string): Promise<void> {
    const connection = this.connections.get(holder) ?? 0;
    const term = this.leases.term(holder);
    this.leases.suspect(holder);
    await this.leases.expired(holder, term);
    // Revoked meanwhile (taken back by another wait, or it reconnected): nothing more to take.
    if ((this.connections.get(holder) ?? 0) === connection && this.leases.term(holder) === term) this.dropHolder(holder);
  }

  /**
   * One commit segment of `writer` (see header): applied all together and durable when this
   * resolves, or — aborted by the writer, or sent under a lease term that is over — applied
   * nowhere, its pages reverted.
   */
  async commit(req: CommitRequest, writer: string, decision?: DecisionRecord): Promise<CommitOutcome> {
    this.assertEpoch(req);
    this.assertStoreSound();
    const receivedAt = ++this.receipts;
    const object = req.pages.length > 0 ? this.objectOfSegment(req.pages[0].segment) : undefined;
    // Entered on receipt: decided in the order the writer sent them (CommitChains).
    const ticket = object !== undefined ? this.chains.enter(writer, req.term, object) : null;
    try {
      await ticket?.turn;
      return await this.decide(req, writer, receivedAt, object, ticket, decision);
    } finally {
      ticket?.abandon();
    }
  }

  private assertEpoch(req: { epoch: number }): void {
    if (req.epoch === this.epoch) return;
    const msg = `data server ${this.serverId} restarted (epoch ${req.epoch} is over, now ${this.epoch}): the segment was not applied`;
    throw new StaleEpochError(msg, { server: this.serverId, epoch: req.epoch, current: this.epoch });
  }

  /** Applies a commit whose turn came, or refuses it (see commit); resolves once durable or reverted. */
  private async decide(req: CommitRequest, writer: string, receivedAt: number, object: SysName | undefined, ticket: ChainTicket | null, decision?: DecisionRecord): Promise<CommitOutcome> {
    let reverted: Promise<void> | undefined;
    let durable: Promise<void> | undefined;
    const outcome = await this.locks.withPages(req.pages.map((p) => pageKey(p.segment, p.page)), async (): Promise<CommitOutcome> => {
      const entries = req.pages.map((p) => this.entryOf(p));
      const fenced = entries.map((e) => this.fencedAt(e, writer, receivedAt));
      const reason = this.refusal(req, writer, fenced.some(Boolean), ticket);
      if (reason !== null) {
        const refused = this.refuse(req, writer, fenced, ticket, object, reason);
        reverted = refused.reverted;
        return refused.outcome;
      }
      durable = this.order(req.pages, entries, writer, decision);
      ticket?.decide(true);
      this.counters.add(object, "segmentsCommitted");
      return { applied: true, epoch: this.epoch };
    });
    await reverted;
    await durable; // the pages' locks are free meanwhile: the next commits join the same fsync
    return outcome;
  }

  /**
   * Two-phase commit, a participant's first phase (AtomicParticipants): the part is checked as
   * a commit would be, in its writer's chain order, and refused the same way (its pages
   * reverted) — or accepted and NOT applied: the ticket it returns holds the chain's turn
   * (later commits of the writer for the object wait) until applyPrepared or abortPrepared.
   */
  async prepare(req: CommitRequest, writer: string): Promise<{ outcome: CommitOutcome; ticket: ChainTicket | null }> {
    this.assertEpoch(req);
    this.assertStoreSound();
    const receivedAt = ++this.receipts;
    const object = req.pages.length > 0 ? this.objectOfSegment(req.pages[0].segment) : undefined;
    const ticket = object !== undefined ? this.chains.enter(writer, req.term, object) : null;
    let held = false;
    try {
      await ticket?.turn;
      let reverted: Promise<void> | undefined;
      const outcome = await this.locks.withPages(req.pages.map((p) => pageKey(p.segment, p.page)), async (): Promise<CommitOutcome> => {
        const fenced = req.pages.map((p) => this.fencedAt(this.entryOf(p), writer, receivedAt));
        const reason = this.refusal(req, writer, fenced.some(Boolean), ticket);
        if (reason === null) return { applied: true, epoch: this.epoch };
        const refused = this.refuse(req, writer, fenced, ticket, object, reason);
        reverted = refused.reverted;
        return refused.outcome;
      });
      await reverted;
      held = outcome.applied;
      return { outcome, ticket: held ? ticket : null };
    } finally {
      if (!held) ticket?.abandon();
    }
  }

  /**
   * A prepared part's thread committed: its PageLogs are applied as a commit's (order), the
   * prepared record `finished` deleted in the same transaction, and also to the page's coherent
   * image if the home has one (a revert may have rebuilt it without them: their writer died, or
   * lost the pages, while the thread was in doubt). Resolves once durable.
   */
  async applyPrepared(pages: PageCommitMsg[], writer: string, ticket: ChainTicket | null, finished: AtomicId): Promise<void> {
    let durable: Promise<void> | undefined;
    await this.locks.withPages(pages.map((p) => pageKey(p.segment, p.page)), async () => {
      const entries = pages.map((p) => this.entryOf(p));
      durable = this.order(pages, entries, writer, undefined, finished);
      pages.forEach((p, i) => {
        const e = entries[i];
        if (e.pending === null) return;
        const image = new Uint8Array(e.pending); // twins may share the old array
        applyPageLog(p.log, image, new Float64Array(WORDS_PER_PAGE));
        e.pending = image;
      });
      ticket?.decide(true);
      this.counters.add(this.objectOfPages(pages), "segmentsCommitted");
    });
    await durable;
  }

  /**
   * A prepared part's thread aborted: applied nowhere; with `revert`, its pages are reverted
   * (its words are in their coherent image) — not needed when its writer's words were taken
   * out already (it was dropped, or this home restarted). Returns the chain's refusal count.
   */
  async abortPrepared(pages: PageCommitMsg[], writer: string, ticket: ChainTicket | null, revert: boolean): Promise<number | undefined> {
    let reverted: Promise<void> | undefined;
    const refused = await this.locks.withPages(pages.map((p) => pageKey(p.segment, p.page)), async () => {
      if (revert) reverted = this.closures.start(this.reverts.takeOut(writer, pages), writer);
      this.counters.add(this.objectOfPages(pages), "segmentsAborted");
      return ticket?.decide(false);
    });
    await reverted;
    return refused;
  }

  /**
   * Refuses a commit or a prepare (under its pages' locks): barred from faults from now on,
   * reverted once the locks are given back (a fenced page's revert already takes the writer's
   * words out, or has); its chain counts the refusal.
   */
  private refuse(req: CommitRequest, writer: string, fenced: boolean[], ticket: ChainTicket | null, object: SysName | undefined, reason: string): { outcome: CommitOutcome; reverted: Promise<void> } {
    const reverted = this.closures.start(this.reverts.takeOut(writer, req.pages.filter((_, i) => !fenced[i])), writer);
    this.counters.add(object, "segmentsAborted");
    log("refused a commit of %s (%d page(s) of %s): %s", writer, req.pages.length, object ?? "?", reason);
    const refused = ticket?.decide(false);
    return { outcome: { applied: false, epoch: this.epoch, reason, ...(refused !== undefined ? { refused } : {}) }, reverted };
  }

  /** Why a commit must not be applied, or null (see commit). */
  private refusal(req: CommitRequest, writer: string, fenced: boolean, ticket: ChainTicket | null): string | null {
    const term = this.leases.term(writer);
    if (req.abort) return `${writer} gave the segment up (pages it relied on were taken back)`;
    if (req.term !== term) return `the lease term ${req.term} of ${writer} is over (now ${term}): its pages were taken back`;
    if (fenced) return `its writes were taken out of pages it wrote (a segment of ${writer} there aborted) before it was sent`;
    if (ticket?.cascaded(req.seen)) return `an earlier commit of ${writer} for this object was refused, and this one was sent before it knew (it may rest on that one's words)`;
    return null;
  }

  /**
   * A holder evicts its copy (data.page.release): an owner's bytes become the page's pending
   * image, as if recalled; a reader just leaves the copyset. Only a copy of the current
   * version, of a page not being reverted, whose holder has no writes here not committed yet:
   * otherwise nothing changes and the holder keeps its copy (a recall or revert will come).
   */
  async release(req: ReleaseRequest, holder: string): Promise<{ released: boolean }> {
    if (req.epoch !== this.epoch) return { released: false };
    return this.locks.withPages([pageKey(req.segment, req.page)], async () => {
      const e = this.entryOf(req);
      const owned = e.owner === holder;
      if (e.version !== req.version || !e.copyset.has(holder) || e.tainted || e.dirty.has(holder) || this.closures.barrierOf(req)) return { released: false };
      if (owned && !req.bytes) return { released: false };
      if (owned) {
        e.pending = req.bytes;
        if (req.stamp > e.stamp) e.stamp = req.stamp;
        e.owner = null;
        e.twin = null;
        this.counters.add(this.objectOfSegment(req.segment), "bytesReceived", req.bytes!.length);
      }
      e.copyset.delete(holder);
      // Nobody has words here that are not committed: the coherent image is the durable one,
      // which the store has (a page image kept per released page would grow with the objects).
      if (e.owner === null && e.dirty.size === 0 && !e.tainted) {
        e.pending = null;
        this.settle(e);
      }
      this.counters.add(this.objectOfSegment(req.segment), "releases");
      this.prune(req);
      return { released: true };
    });
  }

  /**
   * A holder evicted read copies (data.page.drop): it leaves the copyset of each whose version
   * is still the one it had and that it does not own, and pages nobody holds any more are
   * forgotten (PageDirectory: pruning). The holder sends these before it faults any of the pages
   * again, so a copy granted after the drop is never taken for the dropped one.
   */
  async dropCopies(req: { epoch: number; pages: DroppedCopy[] }, holder: string): Promise<{ dropped: number }> {
    if (req.epoch !== this.epoch) return { dropped: 0 };
    const done = req.pages.map((ref) => this.locks.withPages([pageKey(ref.segment, ref.page)], () => {
      const e = this.directory.peek(ref);
      if (!e || e.version !== ref.version || e.owner === holder || !e.copyset.delete(holder)) return 0;
      this.settlePending(ref, e);
      return 1;
    }));
    const dropped = (await Promise.all(done)).reduce<number>((n, d) => n + d, 0);
    return { dropped };
  }

  /** Forgets the page's entry if nobody holds it and nothing of it is pending (under its lock). */
  private prune(ref: PageRef): void {
    if (this.closures.barrierOf(ref)) return;
    if (this.directory.prune(ref)) this.objectOf.delete(ref.segment);
  }

  /**
   * Whether a commit of `writer` received as the `receivedAt`th was sent before it learned that
   * its words in the page were taken out (PageDirectory: fenced); a fence no earlier commit
   * can meet any more is lifted (pages are locked in the order commits arrive).
   */
  private fencedAt(e: PageEntry, writer: string, receivedAt: number): boolean {
    const until = e.fenced.get(writer);
    if (until === undefined) return false;
    if (receivedAt <= until) return true;
    e.fenced.delete(writer);
    return false;
  }

  /**
   * Applies a segment's PageLogs to the pages' durable images and hands them to the store's
   * group commit, at once, under the pages' locks; resolves once they are durable — the locks
   * are given back before (early lock release at the home): a commit of the same page that
   * arrives meanwhile builds on these images and may share their transaction. Until durable,
   * an entry keeps its images (`unsynced`: never settled or pruned) and a fault that serves
   * them waits (`synced`).
   */
  private order(pages: PageCommitMsg[], entries: PageEntry[], writer: string, decision?: DecisionRecord, finished?: AtomicId): Promise<void> {
    const images = pages.map((p, i) => {
      const e = entries[i];
      const bytes = new Uint8Array(e.durable ?? this.storedBytes(p)); // a copy: a Buffer's slice is a view
      const stamps = e.durableStamps ? e.durableStamps.slice() : new Float64Array(WORDS_PER_PAGE);
      return { bytes, stamps, max: applyPageLog(p.log, bytes, stamps) };
    });
    const stored = this.store.commitPages(pages.map((p, i) => ({ segment: p.segment, page: p.page, bytes: images[i].bytes })), decision, finished);
    const synced = stored.then(
      (versions) => this.synced(pages, entries, versions, writer),
      (err: unknown) => this.storeFailed(err),
    );
    pages.forEach((p, i) => {
      const e = entries[i], image = images[i];
      e.durable = image.bytes;
      e.durableStamps = image.stamps;
      // Up to the stamp it was sent at, not only its words' (some of its server's writes may
      // never come: aborted): grants hand it on, so that server's next writes stamp above
      // doneAt whatever happens to its page tables meanwhile (PageDirectory: doneBy).
      e.stamp = Math.max(e.stamp, image.max, p.stamp ?? 0);
      if (p.left === 0) this.writerDone(e, writer, p.stamp);
      e.unsynced++;
      e.synced = synced;
      this.counters.add(this.objectOfSegment(p.segment), "pagesCommitted");
      this.counters.add(this.objectOfSegment(p.segment), "bytesReceived", p.log.length);
    });
    return synced;
  }

  /** A segment's images are durable: its pages may settle now (after the reply: not awaited). */
  private synced(pages: PageCommitMsg[], entries: PageEntry[], versions: number[], writer: string): void {
    pages.forEach((p, i) => {
      const e = entries[i];
      if (versions[i] > e.storedVersion) e.storedVersion = versions[i];
      if (--e.unsynced > 0) return;
      e.synced = null;
      void this.locks.withPages([pageKey(p.segment, p.page)], () => {
        if (e.unsynced > 0 || this.directory.peek(p) !== e) return;
        this.settle(e, p.left === 0 && !e.dirty.has(writer) ? writer : null);
        this.settlePending(p, e);
      });
    });
  }

  /**
   * The store could not make ordered images durable: later commits were built on them, so no
   * commit may be applied any more; the process must restart from the disk (onStoreFailure).
   */
  private storeFailed(err: unknown): never {
    if (this.storeFailure === null) {
      this.storeFailure = err;
      log("FATAL: the store failed to commit ordered pages (%s): refusing everything from now on", (err as Error)?.message ?? String(err));
      this.onStoreFailure?.(err);
    }
    throw err;
  }

  private assertStoreSound(): void {
    if (this.storeFailure !== null) throw new Error(`data server ${this.serverId} cannot serve pages: its store failed (${(this.storeFailure as Error)?.message ?? String(this.storeFailure)})`);
  }

  /**
   * Nobody owns the page and no words in it wait for a commit: its coherent image is the
   * durable one, so the pending image (the bytes last recalled) goes — the store has them; and
   * if nobody holds a copy either, the entry goes too (prune). After commits and drops.
   */
  private settlePending(ref: PageRef, e: PageEntry): void {
    if (e.owner !== null || e.dirty.size > 0 || e.tainted || this.closures.barrierOf(ref)) return;
    e.pending = null;
    this.settle(e);
    if (e.copyset.size === 0) this.prune(ref);
  }

  /**
   * `writer` committed with no other writer of the page left, as of stamp `stamp` when it sent
   * the commit: its periods up to then go, and it is no longer dirty — unless a recall said it
   * was after that stamp (it wrote again while the commit was on its way).
   */
  private writerDone(e: PageEntry, writer: string, stamp: number | undefined): void {
    e.periods.drop(writer, stamp ?? Infinity);
    if ((e.dirty.get(writer) ?? 0) <= (stamp ?? Infinity)) e.dirty.delete(writer);
    if (stamp === undefined) return;
    e.doneBy = writer;
    e.doneAt = stamp;
  }

  /**
   * Once no uncommitted write of anyone but the owner is in the page's coherent image, and the
   * owner has none either (`done`: it just committed its last), no commit can arrive out of
   * order any more (a later one only has newer stamps): drop the durable words' stamps, and
   * the durable image's cache with them — the store has it, and an owner's next commit reads
   * it back (one indexed read): a cache kept per owned page would grow with the objects that
   * compute servers hold (4 KiB each), not with the work.
   */
  private settle(e: PageEntry, done: string | null = null): void {
    if ((e.owner !== null && e.owner !== done) || e.dirty.size > 0 || e.tainted || e.unsynced > 0) return;
    e.durableStamps = null;
    e.durable = null;
    // An owner that goes on writing: its period is compared with the durable image from now
    // on. Its twin predates words it committed, whose stamps are gone: a word it set back
    // (A -> B committed -> A in flight) would show no change, and a revert would take B.
    if (e.owner !== null) e.twin = null;
  }

  private storedBytes(ref: PageRef): Uint8Array {
    return this.store.readPage(ref.segment, ref.page).bytes ?? new Uint8Array(PAGE_SIZE);
  }

  /**
   * A holder is gone: it keeps nothing, its lease starts a new term (its commits under the old
   * one are refused), and every page it owned or may have written uncommitted is reverted.
   */
  dropHolder(holder: string): void {
    const { held, tainted } = this.directory.dropHolder(holder);
    this.leases.revoke(holder);
    this.chains.forgetWriter(holder);
    if (held > 0 || tainted.length > 0) this.counters.add(undefined, "holdersDropped");
    if (tainted.length > 0) void this.closures.start(tainted);
    log("dropped holder %s from %d pages, %d to revert", holder, held, tainted.length);
    // Its locks last, once its pages' revert has started: a lock granted now is answered
    // only after the reverts running now (DataServer: revertsSettled).
    this.onHolderDropped?.(holder);
  }

  /**
   * Takes back everything of each holder whose lease ran out since its last renewal (it
   * died, its connection closed, or a partition cut it off); returns them. A compute server
   * that reconnects before then never stopped holding (holderConnected drops it at once).
   */
  dropLapsed(): string[] {
    const lapsed = this.leases.lapsed();
    for (const holder of lapsed) this.dropHolder(holder);
    return lapsed;
  }

  /**
   * A holder (re)connected. A compute server drops every page of a home whose connection
   * closed, so one that reconnects holds none of ours from before: forget them now.
   */
  holderConnected(holder: string): boolean {
    const n = this.connections.get(holder) ?? 0;
    this.connections.set(holder, n + 1);
    if (n > 0) this.dropHolder(holder);
    this.leases.renew(holder);
    return n > 0;
  }

  info(segments: SysName[]): PageInfo[] {
    return this.directory.info(segments);
  }

  forgetSegment(segment: SysName): void {
    this.directory.forgetSegment(segment);
    this.objectOf.delete(segment);
  }

  private entryOf(ref: PageRef): PageEntry {
    return this.directory.entry(ref, () => this.store.readPage(ref.segment, ref.page).version);
  }

  /** The page's coherent image: the bytes last recalled, else the durable image (perhaps ordered, not in the store yet). */
  private bytesOf(ref: PageRef, e: PageEntry): Uint8Array | null {
    return e.pending ?? e.durable ?? this.store.readPage(ref.segment, ref.page).bytes;
  }

  private objectOfPages(pages: PageRef[]): SysName | undefined {
    return pages.length > 0 ? this.objectOfSegment(pages[0].segment) : undefined;
  }

  private objectOfSegment(segment: SysName): SysName | undefined {
    let object = this.objectOf.get(segment);
    if (object === undefined) {
      object = this.store.getSegment(segment)?.object ?? undefined;
      if (object) this.objectOf.set(segment, object);
    }
    return object;
  }
}
