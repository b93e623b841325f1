/**
 * DsmClient: a compute server's partition — the client side of the DSM (DESIGN §7). It caches
 * pages of segments whose homes are data servers, in frames shared with the isibas, and keeps
 * them coherent with the home's single-writer / multiple-reader write-invalidate protocol.
 *
 *   fault(segment, page, mode)  an isiba found the page INVALID (or READ, for a write): ask the
 *                               home (one request however many isibas fault on the page), and
 *                               install the grant. A write fault on a page this server still
 *                               owns needs no message at all. A write fault that continues a
 *                               sequential run (the page after the last run faulted) asks for
 *                               the following pages too, twice as many each time (up to
 *                               MAX_FAULT_PAGES); they are busy here until the reply landed,
 *                               and those the home grants are installed owned (`extra`).
 *   adoptCreated(...)           a new object's first pages, granted writable with its creation:
 *                               installed owned (zeros) before its constructor runs.
 *   recall(...)                 the home takes the page back: lower the page table entry, wait
 *                               until no accessor is inside the page (pins), and, if we owned
 *                               it, send the bytes home — with the page's write stamp and
 *                               whether the copy holds writes of segments here not committed
 *                               yet (or being committed). A "revert" drops the copy and dooms
 *                               those segments: their words are taken out of the page. A
 *                               "refresh" drops the copy (an owner sends its bytes) and dooms
 *                               nothing: the page is rebuilt without another server's words,
 *                               ours kept (servers/data/ownership-periods.ts).
 *   commit(logs, since)         a commit segment ends (an invocation returns, or releases a
 *                               lock): send each home the PageLogs of the pages it wrote (never
 *                               the pages), all applied at once or none (DESIGN §7a). A segment
 *                               that relied on pages taken back since `since` (a dropMark) is
 *                               aborted instead: the home applies none of it and reverts the
 *                               pages it wrote. Either way the caller learns which, and
 *                               PagesLostError always means "not applied". `sent` is told once
 *                               it is on its way (early lock release hands the monitor on then).
 *   refusals                    a home decides our commits of one object in the order we sent
 *                               them, and refuses one we sent before it told us of an earlier
 *                               one's refusal (servers/data/commit-chains.ts): each commit
 *                               carries the count of refusals it told us (`seen`); and here a
 *                               refusal aborts every segment of that object begun before it
 *                               (a successor may have read the refused one's words).
 *
 * Fencing: every commit carries our lease term with the home; the home refuses a term that is
 * over. A segment that spans a drop of its home's pages here (connection lost, lease run out
 * or revoked, home restarted) is aborted at its commit, whatever its term says by then, and
 * once it has written, its faults on that home's pages fail (PagesLostError): it never goes
 * on writing on fresh pages, or inside a lock it may have lost, what it computed before.
 *
 * Versions: every grant and recall names the page version it concerns. Grants and recalls of
 * one page are serialized at the home and travel on one connection, but this server may see
 * a recall before it has installed the grant it follows (both arrive, the grant's reply
 * continuation runs later): a recall for a version newer than ours waits for our fetch in
 * flight to land. An invalidated copy's version is forgotten (0): a read grant does not raise
 * the version, so the home may grant the version it just invalidated again, and a recall of
 * that grant must not be taken for the one already answered (it would leave a copy here that
 * the home thinks gone: stale reads). A home whose epoch changed (it restarted) has all its
 * pages dropped.
 *
 * The DsmClient never touches sockets: it talks to homes through a HomeLink.
 */
import createDebug from "debug";
import { attemptId, type AtomicId, type PageNo, type ServerId, type SysName } from "./ids.js";
import { commitTwoPhase, type BranchPart, type HomePart, type TwoPhasePoint } from "./two-phase-commit.js";
import { PageState, stateFor, type AccessMode } from "./page-state.js";
import type { Segment } from "./segment.js";
import type { SegmentFrames } from "./segment-frames.js";
import { CachedSegment, type PageMeta } from "./cached-segment.js";
import type { CommitReply, CreationGrant, Grant, HomeLink, LockRelease, PageCommit, RecallReply, RecallRequest } from "./home-link.js";
import { FramePool } from "./frame-pool.js";
import { ObjectCounters } from "./object-counters.js";
import { LatencyHistogram } from "./latency-histogram.js";
import { CommitOutcomeUnknownError, PagesLostError, StaleEpochError } from "./errors.js";
import { CloudsError } from "./clouds-error.js";
import type { SegmentLog } from "./write-log.js";
import { mergePageLogs, PageLog } from "./page-log.js";
import { DropNotices } from "./drop-notices.js";

/** An atomic thread's segment (UserObjectManager): its id, and from when it relied on each object's pages. */
export interface AtomicCommit {
  /** The thread's id (its decision is stored under it). */
  id: AtomicId;
  /** Which attempt of the thread this is (from 0; attemptId names it). */
  attempt: number;
  sinceOf(object: SysName | undefined): number;
  /** Figures of two-phase commits (how long, by outcome). */
  record?(outcome: "commit" | "abort" | "unknown", ms: number): void;
  /** Compute servers that ran frames of the thread (branches): participants of its commit too. */
  branches?: BranchPart[];
  /** Where its decision is kept if this server wrote nothing itself (the root object's home). */
  fallbackLogHome?: ServerId;
  /**
   * Locks to give back at a home with its part's last message (the commit carrying the
   * decision, or the finish): the thread's monitors there. `released(home)` is told once that
   * home answered (they are given back); a home that did not may not have.
   */
  releases?(home: ServerId): LockRelease[];
  released?(home: ServerId): void;
  /** Fault injection for tests (Coordination.pause). */
  pause?(point: TwoPhasePoint): Promise<void>;
}

/** An atomic thread's part in a commit: its decision's id and attempt, and the locks that ride with it (AtomicCommit.releases). */
interface AtomicPart {
  id: AtomicId;
  attempt: number;
  twoPhase?: true;
  release?: LockRelease[];
  released?(home: ServerId): void;
}

/** One page of a commit segment as sent to its home; `count`: our writer counts it carries. */
interface CommitPage {
  c: CachedSegment;
  page: PageNo;
  log: Uint8Array;
  count: number;
}

/** The log of an aborted page: nothing of it is applied anyway. */
const EMPTY_PAGE_LOG = new PageLog().encode();

const log = createDebug("ra:dsm");

/** A segment's writes were applied nowhere: why, naming the home that caused it. */
function notApplied(pages: number, homes: ServerId[], home: ServerId, why: string): PagesLostError {
  return new PagesLostError(
    `the writes of this invocation since its last commit point (${pages} page(s) homed at ${homes.join(", ")}) were NOT applied: ${why}; ` +
      "nothing of them is durable, so a retry is safe",
    { server: home, pages },
  );
}

/** Most pages one fault asks for (the faulted page included): servers/data/protocol.ts says the same. */
export const MAX_FAULT_PAGES = 64;

export const DSM_COUNTERS = [
  "readFaults", "writeFaults", "fetches", "upgrades", "ownedRewrites", "recallsReceived", "invalidationsReceived",
  "pagesWrittenBack", "bytesIn", "bytesOut", "pagesDropped", "pagesPrefetched", "pagesGrantedAtCreation",
  "segmentsCommitted", "segmentsAborted", "revertsReceived", "refreshesReceived", "pagesEvicted", "pagesReleased",
] as const;
export type DsmCounter = (typeof DSM_COUNTERS)[number];

/** The page cache's bound when none is given (pages): 256 MiB. */
export const DEFAULT_CACHE_PAGES = 65_536;

/** A fault that keeps losing its page to other servers gives up after this many fetches. */
const MAX_FETCHES_PER_FAULT = 64;
/**
 * How long a freshly installed copy is kept before a recall may take it (ms): long enough for
 * the isiba that faulted to wake up and make its access (~0.1 ms across CPUs).
 */
const MIN_HOLD_MS = 0.25;
/**
 * How long a recall waits, at most, for an accessor that held the page exclusively and let it
 * go to fault in another page (SegmentFrames: returning). The heap allocator does that with
 * page 0 at every allocation whose block's page is not here: given away in between, servers
 * allocating in one object at once took it from each other at every step.
 */
const RETURN_HOLD_MS = 2;

/** Objects whose last commit refusal is remembered (objectLosses), at most. */
const MAX_OBJECT_LOSSES = 4096;

/** Calls `fn` once `count` calls of the result were made. */
function countdown(count: number, fn: () => void): () => void {
  let left = count;
  return () => {
    if (--left === 0) fn();
  };
}

export class DsmClient {
  readonly counters = new ObjectCounters<DsmCounter>(DSM_COUNTERS);
  readonly faultLatency = new LatencyHistogram();
  private readonly segments = new Map<SysName, CachedSegment>();
  private readonly epochs = new Map<ServerId, number>();
  /** Our lease term at each home, as last told (grants, renewals). */
  private readonly terms = new Map<ServerId, number>();
  /** The dropSeq of the last time a home's pages were all dropped here (grants in flight then are stale). */
  private readonly homeDrops = new Map<ServerId, number>();
  /** The dropSeq of the last such drop that took something a segment may rely on (segments begun before abort). */
  private readonly homeLosses = new Map<ServerId, number>();
  private dropSeq = 0;
  /**
   * Per object, the dropSeq when a home last refused one of our commits of it: segments of
   * the object begun before abort (a pipelined one may rest on the refused one's words).
   */
  private readonly objectLosses = new Map<SysName, number>();
  /** Per home, under our current lease term there, its count of our refused commits per object (CommitRequest.seen). */
  private readonly refusals = new Map<ServerId, { term: number; counts: Map<SysName, number> }>();
  /** Read copies evicted here, told to their homes so they can forget them. */
  readonly dropNotices: DropNotices;
  /** Told of every dropHome (the MonitorCache drops the monitors of that home with its pages). */
  readonly homeDropListeners: Array<(home: ServerId) => void> = [];

  constructor(
    private readonly link: HomeLink,
    /** The page cache's frames (PageCache keeps it within its bound). */
    readonly pool: FramePool = new FramePool({ softPages: DEFAULT_CACHE_PAGES }),
  ) {
    this.dropNotices = new DropNotices((home, req) => this.link.drop(home, req));
  }

  /** The frames of a segment (created empty on first use), noting which object maps it. */
  framesOf(segment: Segment, object?: SysName): SegmentFrames {
    let c = this.segments.get(segment.sysname);
    if (!c) this.segments.set(segment.sysname, (c = new CachedSegment(segment, object, this.pool)));
    if (object && !c.object) c.object = object;
    return c.frames;
  }

  /** Marks the present (a segment's start): a later commit(logs, mark) aborts if pages it relied on were lost since. */
  get dropMark(): number {
    return this.dropSeq;
  }

  /** Pages cached here in READ or WRITE state (walks every segment: for tests and tools; `pool.used` is the cheap figure). */
  cachedPages(): number {
    let n = 0;
    for (const c of this.segments.values()) n += c.frames.pagesAtLeast(PageState.READ).length;
    return n;
  }

  /**
   * Brings the page in for `mode`. `since`: the dropMark at the start of the faulting segment,
   * given if it has written: if the home's pages were dropped after it, the segment is
   * doomed (PagesLostError).
   */
  readonly fault = async (segment: SysName, page: PageNo, mode: AccessMode, since?: number, threads?: string[]): Promise<void> => {
    const c = this.segments.get(segment);
    if (!c) throw new Error(`segment ${segment} is not mapped on this compute server`);
    if (since !== undefined && (this.homeLosses.get(c.home) ?? 0) > since) throw this.doomed(c.home);
    this.counters.add(c.object, mode === "read" ? "readFaults" : "writeFaults");
    const want = stateFor(mode);
    const started = performance.now();
    for (let fetches = 0; c.frames.state(page) < want; ) {
      const m = c.meta(page);
      if (m.busy) {
        await m.busy; // a failed fetch fails every fault that waited for it
      } else if (want === PageState.WRITE && m.owned) {
        c.frames.setState(page, PageState.WRITE);
        this.counters.add(c.object, "ownedRewrites");
      } else {
        if (fetches++ === MAX_FETCHES_PER_FAULT) throw new Error(`page ${page} of ${segment} kept being taken away before it could be used`);
        await this.busyWith(m, this.fetch(c, page, mode, threads));
        this.faultLatency.record((performance.now() - started) * 1000);
      }
    }
  };

  /** A dropped copy's notice reaches the home before the page is faulted again (DropNotices): what to wait for. */
  private dropNoticesOf(segment: SysName, page: PageNo, following: PageNo[]): Promise<unknown> | undefined {
    const first = this.dropNotices.before(segment, page);
    if (following.length === 0) return first;
    const all = [first, ...following.map((p) => this.dropNotices.before(segment, p))].filter((w) => w !== undefined);
    return all.length > 0 ? Promise.all(all) : undefined;
  }

  private busyWith(m: PageMeta, work: Promise<void>): Promise<void> {
    const p = work.finally(() => {
      if (m.busy === p) m.busy = undefined;
    });
    m.busy = p;
    return p;
  }

  private async fetch(c: CachedSegment, page: PageNo, mode: AccessMode, threads?: string[]): Promise<void> {
    const m = c.meta(page);
    const have = c.frames.state(page) >= PageState.READ ? m.version : 0;
    const following = mode === "write" ? this.runPages(c, page) : [];
    let landed!: () => void;
    const landing = new Promise<void>((resolve) => (landed = resolve));
    for (const p of following) void this.busyWith(c.meta(p), landing);
    try {
      const notices = this.dropNoticesOf(c.sysname, page, following);
      if (notices) await notices;
      const sent = this.homeDrops.get(c.home) ?? 0;
      const g = await this.link.fault(c.home, c.sysname, page, mode, have, following.length > 0 ? following.length + 1 : undefined, threads);
      this.counters.add(c.object, "fetches");
      // Dropped while in flight (the connection closed, the lease ran out): as stale as they were.
      const inFlightDrop = this.droppedSince(c.home, sent);
      if (!this.noteEpoch(c.home, g.epoch)) return;
      this.noteTerm(c.home, g.term);
      if (inFlightDrop) {
        log("ignoring a grant of %s#%d: the home's pages were dropped while it was in flight", c.sysname, page);
        return;
      }
      const accepted = this.homeDrops.get(c.home) ?? 0;
      await this.installGrant(c, page, mode, have, g, accepted);
      if (g.extra) await this.installExtra(c, page, g.extra, accepted);
    } finally {
      landed();
    }
  }

  /**
   * The pages after `page` to ask for with a write fault: none unless it continues the
   * segment's write run (then twice as many as last time), and only pages not cached, owned
   * or being fetched here, up to the first that is.
   */
  private runPages(c: CachedSegment, page: PageNo): PageNo[] {
    const run = c.writeRun;
    run.count = page === run.next ? Math.min(run.count * 2, MAX_FAULT_PAGES) : 1;
    run.next = page + 1;
    const out: PageNo[] = [];
    for (let p = page + 1; p < Math.min(page + run.count, c.segment.maxPages); p++) {
      const m = c.meta(p);
      if (m.busy || m.owned || c.frames.state(p) !== PageState.INVALID) break;
      out.push(p);
    }
    return out;
  }

  /** Installs the pages granted along with a write fault on `page`, owned; the run goes on after them. */
  private async installExtra(c: CachedSegment, page: PageNo, extra: NonNullable<Grant["extra"]>, accepted: number): Promise<void> {
    for (const x of extra) {
      const m = c.meta(x.page);
      if (x.version <= m.version || x.version < m.floor || c.frames.state(x.page) !== PageState.INVALID) continue;
      await c.frames.lower(x.page, PageState.INVALID);
      if (this.droppedSince(c.home, accepted)) return;
      c.frames.raiseStamp(x.page, x.stamp);
      this.installOwned(c, x.page, x.bytes, x.version);
      this.counters.add(c.object, "bytesIn", x.bytes?.length ?? 0);
    }
    this.counters.add(c.object, "pagesPrefetched", extra.length);
    let next = page + 1;
    while (extra.some((x) => x.page === next)) next++;
    c.writeRun.next = next;
  }

  /** A page granted writable without a fault of its own: the bytes (null: zeros), owned here. */
  private installOwned(c: CachedSegment, page: PageNo, bytes: Uint8Array | null, version: number): void {
    const m = c.meta(page);
    c.frames.install(page, bytes, PageState.INVALID);
    m.version = version;
    m.owned = true;
    m.heldSince = performance.now();
    c.frames.setState(page, PageState.WRITE);
  }

  /**
   * Installs the pages a home granted writable with a new object (zeros, owned here), so its
   * constructor faults on none. Synchronous, and called as the creation's reply lands: no
   * recall of these pages can be handled before (nobody else knows the object yet anyway).
   * The segments must have frames here already (framesOf).
   */
  adoptCreated(home: ServerId, epoch: number, grants: CreationGrant[], term?: number): void {
    this.noteEpoch(home, epoch);
    if (term !== undefined) this.noteTerm(home, term);
    for (const g of grants) {
      const c = this.segments.get(g.segment);
      if (!c) throw new Error(`segment ${g.segment} is not mapped on this compute server`);
      if (c.meta(g.page).version !== 0 || c.frames.state(g.page) !== PageState.INVALID) {
        throw new Error(`page ${g.page} of new segment ${g.segment} is already cached here`);
      }
      this.installOwned(c, g.page, null, g.version);
      this.counters.add(c.object, "pagesGrantedAtCreation");
    }
  }

  /**
   * Installs a granted page. `accepted`: the home's drop count when the grant was accepted; if
   * its pages are dropped while we wait to install (the connection closed, the lease ran
   * out), the grant is as stale as they are and is not installed: a copy installed after the
   * drop would outlive it, and a restarted home would never recall it.
   */
  private async installGrant(c: CachedSegment, page: PageNo, mode: AccessMode, have: number, g: Grant, accepted: number): Promise<void> {
    const m = c.meta(page);
    if (g.version < m.version || g.version < m.floor || (g.same && (have === 0 || m.version !== have))) {
      log("ignoring a stale grant of %s#%d (v%d, ours v%d)", c.sysname, page, g.version, m.version);
      return;
    }
    if (g.same) {
      this.counters.add(c.object, "upgrades");
    } else {
      await c.frames.lower(page, PageState.INVALID);
      if (this.droppedSince(c.home, accepted)) return;
      c.frames.install(page, g.bytes, PageState.INVALID);
      this.counters.add(c.object, "bytesIn", g.bytes?.length ?? 0);
    }
    c.frames.raiseStamp(page, g.stamp);
    m.version = g.version;
    m.owned = mode === "write";
    m.heldSince = performance.now();
    c.frames.setState(page, stateFor(mode));
  }

  /** The home takes our copy of `version` back, or reverts the page (see header). */
  async recall(req: RecallRequest): Promise<RecallReply> {
    const c = this.segments.get(req.segment);
    if (!c || !this.noteEpoch(c.home, req.epoch)) return { held: false, bytes: null, stamp: 0, dirty: false };
    if (req.action === "revert") return this.revert(c, req);
    if (req.action === "refresh") return this.refresh(c, req);
    const m = c.meta(req.page);
    const none = (): RecallReply => ({ held: false, bytes: null, stamp: c.frames.stamp(req.page), dirty: this.uncommitted(c, req.page) });
    // Our grant of this version is in transit: let it land first.
    if (m.version < req.version && m.busy) await m.busy.catch(() => undefined);
    if (m.version !== req.version) return none();
    // Sub-millisecond: timers cannot wait that little, so yield to the event loop until then.
    const asked = performance.now();
    while (performance.now() < m.heldSince + MIN_HOLD_MS || (c.frames.returning(req.page) && performance.now() < asked + RETURN_HOLD_MS)) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (m.version !== req.version) return none();
    const owned = m.owned;
    m.owned = false;
    // Invalidated, we hold no version: a grant of this same version may come again (a read
    // grant keeps the version), and a recall of it must then wait for it to land (see above).
    if (req.action === "invalidate") m.version = 0;
    await c.frames.lower(req.page, req.action === "invalidate" ? PageState.INVALID : PageState.READ);
    const bytes = owned ? c.frames.copyPage(req.page) : null;
    this.counters.add(c.object, owned ? "recallsReceived" : "invalidationsReceived");
    if (bytes) this.counters.add(c.object, "bytesOut", bytes.length);
    return { held: true, bytes, stamp: c.frames.stamp(req.page), dirty: this.uncommitted(c, req.page) };
  }

  /**
   * The page's coherent image went back to its durable one at `req.version`: drop our copy
   * (grants older than that are ignored when they land) and doom our segments that wrote it.
   * We cannot tell which of our segments those are, nor which other pages they wrote (their
   * logs are in the isibas): every segment here that wrote a page of the object is doomed,
   * and those pages are named in the answer (`lost`), so the home reverts them too, in the
   * same closure. Never waits for a fetch in flight: it may be queued at the home behind
   * this very revert.
   */
  private async revert(c: CachedSegment, req: RecallRequest): Promise<RecallReply> {
    const dirty = c.frames.writersOf(req.page) > 0;
    const lost = dirty ? this.doomObject(c, req.page) : [];
    const { held } = await this.dropCopy(c, req);
    this.counters.add(c.object, "revertsReceived");
    return { held, bytes: null, stamp: c.frames.stamp(req.page), dirty, ...(lost.length > 0 ? { lost } : {}) };
  }

  /**
   * The page's coherent image is rebuilt without another server's uncommitted words (it died
   * or aborted): drop our copy like a revert, but doom nothing — our words are kept, from the
   * bytes we send if we own it (the last period of our ownership) or from earlier periods.
   */
  private async refresh(c: CachedSegment, req: RecallRequest): Promise<RecallReply> {
    const m = c.meta(req.page);
    // Our grant of the version being replaced is on its way (the home sent it before the
    // refresh): let it land, so an owner's bytes are not taken for lost. A fetch of a newer
    // version may wait behind this very refresh: that one we never wait for.
    if (req.current !== undefined && m.version < req.current && m.busy) await m.busy.catch(() => undefined);
    const { held, owned } = await this.dropCopy(c, req);
    const bytes = owned ? c.frames.copyPage(req.page) : null;
    this.counters.add(c.object, "refreshesReceived");
    return { held, bytes, stamp: c.frames.stamp(req.page), dirty: this.uncommitted(c, req.page) };
  }

  /**
   * Drops our copy as the page's image goes to `req.version` (a revert or refresh: grants of
   * older versions are ignored when they land); whether we held it, and owned it.
   */
  private async dropCopy(c: CachedSegment, req: RecallRequest): Promise<{ held: boolean; owned: boolean }> {
    const m = c.meta(req.page);
    m.floor = Math.max(m.floor, req.version);
    const held = m.version !== 0;
    const owned = held && m.owned;
    m.owned = false;
    m.version = 0;
    await c.frames.lower(req.page, PageState.INVALID);
    return { held, owned };
  }

  /** Dooms every segment here that wrote a page of `c`'s object (at its home); returns those pages but `page` of `c`. */
  private doomObject(c: CachedSegment, page: PageNo): { segment: SysName; page: PageNo }[] {
    const seq = ++this.dropSeq;
    const lost: { segment: SysName; page: PageNo }[] = [];
    for (const other of this.segments.values()) {
      if (other !== c && (other.home !== c.home || other.object === undefined || other.object !== c.object)) continue;
      for (const p of other.knownPages()) {
        if (other.frames.writersOf(p) === 0) continue;
        other.meta(p).lostSeq = seq;
        if (other !== c || p !== page) lost.push({ segment: other.sysname, page: p });
      }
    }
    return lost;
  }

  /**
   * Whether segments here wrote the page and their commit has not been answered yet: one on
   * its way may still be refused, and must not leave our words in the page unaccounted for.
   */
  private uncommitted(c: CachedSegment, page: PageNo): boolean {
    return c.frames.writersOf(page) > 0;
  }

  /**
   * Commits one segment (see header) and resolves once every home applied it — or aborts it
   * if `broken` says why it must not commit (a page fault failed inside it). Throws
   * PagesLostError if it was not applied (aborted here or refused by a home; nothing of it is
   * durable), CommitOutcomeUnknownError if a home could not answer, or the home's error.
   */
  async commit(logs: SegmentLog[], since = this.dropSeq, broken?: string, sent?: () => void, atomic?: AtomicCommit): Promise<void> {
    const byHome = this.groupByHome(logs);
    const branches = atomic?.branches ?? [];
    if (byHome.size === 0 && branches.length === 0) return;
    // An atomic thread relied on an object's pages only from when it took its monitor.
    const sinceOf = atomic?.sinceOf;
    const lostAt = byHome.size === 0 ? undefined : broken !== undefined ? [...byHome.keys()][0] : this.lostHome(byHome, since, sinceOf);
    const homes = [...byHome.keys()];
    // Told once every home's part is on its way (never for an abort: see UserObjectManager).
    const onSent = lostAt === undefined && sent ? countdown(byHome.size, sent) : undefined;
    if (atomic && lostAt === undefined && (byHome.size > 1 || branches.length > 0)) return this.commitAcrossHomes(byHome, atomic);
    const one = atomic && byHome.size === 1 ? { id: atomic.id, attempt: atomic.attempt, release: atomic.releases?.([...byHome.keys()][0]), released: atomic.released } : undefined;
    const outcomes = await Promise.allSettled([...byHome].map(([home, pages]) => this.commitAt(home, pages, lostAt !== undefined, onSent, one)));
    const pages = [...byHome.values()].reduce((n, ps) => n + ps.length, 0);
    // An aborted segment is applied nowhere, whether or not its homes could be told so.
    if (lostAt !== undefined) {
      throw notApplied(pages, homes, lostAt, broken ?? `pages it relied on were taken back from this compute server (the connection to ${lostAt} was lost, its lease ran out or was revoked, or a crash reverted them)`);
    }
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === "rejected");
    if (failed) throw failed.reason;
    const refusedAt = outcomes.findIndex((o) => !(o as PromiseFulfilledResult<CommitReply>).value.applied);
    if (refusedAt >= 0) throw notApplied(pages, homes, homes[refusedAt], (outcomes[refusedAt] as PromiseFulfilledResult<CommitReply>).value.reason ?? "its home refused it");
  }

  /**
   * The first home whose pages a segment begun at `since` relied on were taken back since (its
   * whole home's, or one page's, or a commit of its object refused), or undefined. `sinceOf`:
   * an atomic thread relied on each object's pages only from when it took its monitor.
   */
  private lostHome(byHome: Map<ServerId, CommitPage[]>, since: number, sinceOf?: (object: SysName | undefined) => number): ServerId | undefined {
    return [...byHome].find(([home, pages]) => (this.homeLosses.get(home) ?? 0) > since || pages.some(({ c, page }) => this.lostSince(c, page, sinceOf?.(c.object) ?? since)))?.[0];
  }

  /** Whether a page a segment begun at `since` wrote was taken back since, or a commit of its object refused. */
  private lostSince(c: CachedSegment, page: PageNo, since: number): boolean {
    return c.meta(page).lostSeq > since || (c.object !== undefined && (this.objectLosses.get(c.object) ?? 0) > since);
  }

  /**
   * The pages of `logs` by home. A page several logs wrote (the frames of an atomic thread,
   * committed as one segment) goes once, its logs merged; `count` is how many writer counts
   * of ours it carries (each log's isiba counted itself a writer of the page).
   */
  private groupByHome(logs: SegmentLog[]): Map<ServerId, CommitPage[]> {
    const byHome = new Map<ServerId, CommitPage[]>();
    const seen = new Map<string, CommitPage & { logs: Uint8Array[] }>();
    for (const l of logs) {
      const c = this.segments.get(l.segment);
      if (!c) continue;
      for (const p of l.pages) {
        const key = `${l.segment}:${p.page}`;
        const again = seen.get(key);
        if (again) {
          again.logs.push(p.log);
          again.count++;
          continue;
        }
        const entry = { c, page: p.page, log: p.log, count: 1, logs: [p.log] };
        seen.set(key, entry);
        if (!byHome.has(c.home)) byHome.set(c.home, []);
        byHome.get(c.home)!.push(entry);
      }
    }
    for (const e of seen.values()) if (e.count > 1) e.log = mergePageLogs(e.logs);
    return byHome;
  }

  /** An atomic thread's segment over several homes, or with branches elsewhere: two-phase commit (two-phase-commit.ts). */
  private async commitAcrossHomes(byHome: Map<ServerId, CommitPage[]>, atomic: AtomicCommit): Promise<void> {
    const link = this.twoPhaseLink();
    const homes = [...byHome.keys()];
    const pageCount = [...byHome.values()].reduce((n, ps) => n + ps.length, 0);
    await commitTwoPhase(this.homeParts(byHome, atomic), {
      thread: atomic.id, attempt: atomic.attempt, record: atomic.record, pause: atomic.pause,
      decide: (home, req) => link.decide(home, req),
      acknowledge: (home, thread) => link.acknowledge(home, thread),
      notApplied: (home, why) => notApplied(pageCount, homes.length > 0 ? homes : [home], home, why),
    }, atomic.branches, atomic.fallbackLogHome);
  }

  /**
   * A branch's part of an atomic thread (frames it ran for a coordinator elsewhere): prepared
   * at every home it wrote at (no last agent: the coordinator commits the decision), or, if one
   * cannot be, aborted at all of them. `finish` tells them the outcome (commit only if prepared).
   */
  async prepareBranch(logs: SegmentLog[], since: number, atomic: AtomicCommit, logHome: ServerId): Promise<{ prepared: boolean; reason?: string; finish(outcome: "commit" | "abort"): Promise<void> }> {
    const byHome = this.groupByHome(logs);
    const parts = this.homeParts(byHome, atomic);
    const finish = async (outcome: "commit" | "abort") => void (await Promise.allSettled(parts.map((p) => p.finish(outcome))));
    const lostAt = this.lostHome(byHome, since, atomic.sinceOf);
    if (lostAt !== undefined) {
      await Promise.allSettled(parts.map((p) => p.abort()));
      return { prepared: false, reason: `pages it relied on were taken back from this compute server (${lostAt})`, finish: async () => undefined };
    }
    const votes = await Promise.allSettled(parts.map((p) => p.prepare(logHome)));
    const no = votes.findIndex((v) => v.status === "rejected" || !v.value.prepared);
    if (no < 0) return { prepared: true, finish };
    await finish("abort");
    const v = votes[no];
    const why = v.status === "rejected" ? (v.reason as Error)?.message ?? String(v.reason) : v.value.reason ?? "refused";
    return { prepared: false, reason: `its part at ${parts[no].home} could not be prepared (${why})`, finish: async () => undefined };
  }

  private twoPhaseLink(): Required<Pick<HomeLink, "prepare" | "finish" | "decide" | "acknowledge">> {
    const { link } = this;
    if (!link.prepare || !link.finish || !link.decide || !link.acknowledge) throw new Error("this compute server's link to its homes cannot commit across homes");
    return link as Required<Pick<HomeLink, "prepare" | "finish" | "decide" | "acknowledge">>;
  }

  /**
   * Each home's part of an atomic thread's segment, as two-phase commit sends it. Our writer
   * counts of a prepared part's pages are kept until its finish is answered, so recalls
   * meanwhile say "dirty": the home keeps our words until its part is applied.
   */
  private homeParts(byHome: Map<ServerId, CommitPage[]>, atomic: AtomicCommit): HomePart[] {
    const link = this.twoPhaseLink();
    const id = attemptId(atomic.id, atomic.attempt);
    return [...byHome].map(([home, pages]) => {
      let held: ReturnType<DsmClient["holdPages"]> | null = null;
      const object = pages[0].c.object;
      const term = this.terms.get(home) ?? 0;
      return {
        home, pages: pages.length,
        prepare: async (logHome) => {
          held = this.holdPages(pages);
          try {
            const reply = await link.prepare(home, { id, attempt: atomic.attempt, logHome, epoch: this.epochs.get(home) ?? 0, term, seen: this.seenRefusals(home, term, object), pages: held.msgs });
            this.noteEpoch(home, reply.epoch);
            if (!reply.prepared) {
              this.noteRefusal(home, term, object, reply.refused);
              held.release();
            }
            return reply;
          } catch (err) {
            if (err instanceof StaleEpochError) this.noteEpoch(home, err.current);
            throw err;
          }
        },
        finish: async (outcome) => {
          try {
            const release = atomic.releases?.(home) ?? [];
            const reply = await link.finish(home, { id, outcome, ...(release.length > 0 ? { release } : {}) });
            atomic.released?.(home);
            if (outcome === "abort" && reply.finished) this.noteRefusal(home, term, object, reply.refused);
            this.countCommit(pages, { applied: outcome === "commit", epoch: this.epochs.get(home) ?? 0 });
            return reply;
          } finally {
            held?.release();
          }
        },
        commit: () => this.commitAt(home, pages, false, undefined, { id: atomic.id, attempt: atomic.attempt, twoPhase: true, release: atomic.releases?.(home), released: atomic.released }),
        abort: () => this.commitAt(home, pages, true),
      };
    });
  }

  /** Marks pages as being committed by us (recalls say "dirty" meanwhile); `release` counts our writers off, once. */
  private holdPages(pages: CommitPage[]): { msgs: PageCommit[]; release: () => void } {
    const msgs: PageCommit[] = pages.map(({ c, page, log, count }) => {
      const m = c.meta(page);
      m.committing += count;
      return { segment: c.sysname, page, log, left: Math.max(0, c.frames.writersOf(page) - m.committing), stamp: c.frames.stamp(page) };
    });
    let released = false;
    return {
      msgs,
      release: () => {
        if (released) return;
        released = true;
        for (const { c, page, count } of pages) {
          c.meta(page).committing -= count;
          for (let i = 0; i < count; i++) c.frames.writersDone([page]);
        }
      },
    };
  }



  /** Sends one home its part of a segment; counts our writers of each page off once answered. */
  private async commitAt(home: ServerId, pages: CommitPage[], abort: boolean, sent?: () => void, atomic?: AtomicPart): Promise<CommitReply> {
    const held = this.holdPages(pages);
    const object = pages[0].c.object;
    const term = this.terms.get(home) ?? 0;
    try {
      const decision = atomic !== undefined && !abort
        ? { atomic: atomic.id, attempt: atomic.attempt, ...(atomic.twoPhase ? { twoPhase: true as const } : {}), ...(atomic.release?.length ? { release: atomic.release } : {}) }
        : {};
      const req = { epoch: this.epochs.get(home) ?? 0, term, abort, seen: this.seenRefusals(home, term, object), pages: held.msgs, ...decision };
      const reply = await this.link.commit(home, req, sent);
      if (atomic && !abort) atomic.released?.(home);
      this.noteEpoch(home, reply.epoch);
      if (!reply.applied) this.noteRefusal(home, term, object, reply.refused);
      this.countCommit(pages, reply);
      return reply;
    } catch (err) {
      // The home restarted: what we cache of it is stale, whatever else happens.
      if (err instanceof StaleEpochError) this.noteEpoch(home, err.current);
      // The home's own answer (rebuilt here, naming where it was thrown) is final; a broken
      // connection or a timeout leaves the outcome unknown.
      if (err instanceof CloudsError && err.server !== undefined) throw err;
      throw new CommitOutcomeUnknownError(
        `the commit of this invocation's writes at data server ${home} got no answer (${(err as Error).message}): they may or may not be applied`,
        { server: home },
      );
    } finally {
      held.release();
    }
  }

  /** Our count of refused commits of `object` at `home` under `term`, as it last told us. */
  private seenRefusals(home: ServerId, term: number, object: SysName | undefined): number {
    const r = this.refusals.get(home);
    return object === undefined || r?.term !== term ? 0 : r.counts.get(object) ?? 0;
  }

  /**
   * A home refused a commit of `object`: later ones we sent before this news are refused there
   * too, and every segment of the object begun before it aborts here (objectLosses).
   */
  private noteRefusal(home: ServerId, term: number, object: SysName | undefined, refused: number | undefined): void {
    if (object === undefined) return;
    this.objectLosses.delete(object); // re-inserted last: the map's order is by last refusal
    this.objectLosses.set(object, ++this.dropSeq);
    if (this.objectLosses.size > MAX_OBJECT_LOSSES) this.forgetOldestLosses();
    // A count of an older term means nothing under the current one.
    if (refused === undefined || term !== (this.terms.get(home) ?? 0)) return;
    let r = this.refusals.get(home);
    if (r?.term !== term) this.refusals.set(home, (r = { term, counts: new Map() }));
    r.counts.set(object, Math.max(r.counts.get(object) ?? 0, refused));
  }

  /** Keeps objectLosses bounded: a segment never lives across thousands of refusals. */
  private forgetOldestLosses(): void {
    let n = this.objectLosses.size / 2;
    for (const key of this.objectLosses.keys()) {
      if (n-- <= 0) break;
      this.objectLosses.delete(key);
    }
  }

  private countCommit(pages: CommitPage[], reply: CommitReply): void {
    const object = pages[0]?.c.object;
    this.counters.add(object, reply.applied ? "segmentsCommitted" : "segmentsAborted");
    for (const { c, log } of pages) {
      this.counters.add(c.object, "pagesWrittenBack");
      this.counters.add(c.object, "bytesOut", log.length);
    }
  }

  /**
   * Gives up the writes of segments that can never commit (their isiba worker died): takes
   * their writer counts off (`pages`: once per count; `overflowed`: some were not recorded,
   * so every page written here is suspect) and has each page's home abort them — the home
   * reverts the pages, so every copy that holds their words is dropped and every segment
   * that wrote those pages since is aborted, here and elsewhere (as after a crash). Resolves
   * once the homes answered (or could not be reached: then the connection or the lease
   * drops their pages anyway).
   */
  async abandon(pages: { frames: SegmentFrames; page: PageNo }[], overflowed: boolean, why: string): Promise<void> {
    const lost = new Map<CachedSegment, Set<PageNo>>();
    const add = (c: CachedSegment, page: PageNo) => {
      if (!lost.has(c)) lost.set(c, new Set());
      lost.get(c)!.add(page);
    };
    for (const { frames, page } of pages) {
      const c = this.segments.get(frames.sysname);
      if (!c || c.frames !== frames) continue;
      frames.writersDone([page]);
      add(c, page);
    }
    if (overflowed) for (const c of this.segments.values()) for (const page of c.knownPages()) if (c.frames.writersOf(page) > 0) add(c, page);
    const seq = ++this.dropSeq;
    const byHome = new Map<ServerId, PageCommit[]>();
    for (const [c, set] of lost) {
      for (const page of set) {
        if (c.frames.writersOf(page) > 0) c.meta(page).lostSeq = seq;
        if (!byHome.has(c.home)) byHome.set(c.home, []);
        byHome.get(c.home)!.push({ segment: c.sysname, page, log: EMPTY_PAGE_LOG, left: 0, stamp: c.frames.stamp(page) });
      }
    }
    log("abandoning the writes of %d page(s): %s", [...byHome.values()].reduce((n, p) => n + p.length, 0), why);
    await Promise.all([...byHome].map(([home, msg]) => this.abortAt(home, msg)));
  }

  private async abortAt(home: ServerId, pages: PageCommit[]): Promise<void> {
    const object = this.segments.get(pages[0].segment)?.object;
    const term = this.terms.get(home) ?? 0;
    try {
      const reply = await this.link.commit(home, { epoch: this.epochs.get(home) ?? 0, term, abort: true, seen: this.seenRefusals(home, term, object), pages });
      this.noteEpoch(home, reply.epoch);
      this.noteRefusal(home, term, object, reply.refused);
      this.counters.add(undefined, "segmentsAborted");
    } catch (err) {
      if (err instanceof StaleEpochError) this.noteEpoch(home, err.current);
      log("could not tell %s to abort %d page(s): %s", home, pages.length, (err as Error).message);
    }
  }

  /** Our lease term at `home` as last told, if known. */
  termOf(home: ServerId): number | undefined {
    return this.terms.get(home);
  }

  /** Records our lease term at a home; a new term means it took our pages back: drop them (true if it did). */
  noteTerm(home: ServerId, term: number): boolean {
    const known = this.terms.get(home);
    this.terms.set(home, term);
    // Term 0: we had no lease there yet; its first one (term 1) revokes nothing.
    if (known === undefined || known === 0 || known === term) return false;
    this.dropHome(home, `it revoked our lease (term ${known} -> ${term})`);
    return true;
  }

  /** Whether the home's pages were dropped here after its drop count was `seen`. */
  private droppedSince(home: ServerId, seen: number): boolean {
    return (this.homeDrops.get(home) ?? 0) !== seen;
  }

  private doomed(home: ServerId): PagesLostError {
    return new PagesLostError(
      `this invocation relied on pages of data server ${home} that were taken back from this compute server (connection lost, lease ran out or revoked): ` +
        "its writes since its last commit point are NOT applied; a retry is safe",
      { server: home, pages: 0 },
    );
  }

  /**
   * Records a home's epoch; a new epoch means it restarted: drop every page it homes. False
   * for an epoch older than the one known: a message the old process sent before it died,
   * read after the new one spoke (two sockets close in any order): stale, ignored.
   */
  noteEpoch(home: ServerId, epoch: number): boolean {
    const known = this.epochs.get(home);
    if (known !== undefined && epoch < known) return false;
    this.epochs.set(home, epoch);
    if (known === undefined || known === epoch) return true;
    this.terms.delete(home); // its leases start over too
    this.dropHome(home, `it restarted (epoch ${known} -> ${epoch})`, true);
    return true;
  }

  /**
   * Forgets every page homed at `home` without giving anything back (it restarted, the
   * connection closed, or our lease ran out or was revoked): pages with writes of segments
   * not committed yet are marked lost (those segments abort), and so is every segment begun
   * before — unless this is only the news of a restart and nothing was held here any more:
   * the connection's close took it all already, and aborting the segments begun since (say
   * one whose first fault brought the news) would lose more than the crash did.
   */
  dropHome(home: ServerId, why: string, newEpoch = false): void {
    for (const listener of this.homeDropListeners) listener(home);
    const seq = ++this.dropSeq;
    this.homeDrops.set(home, seq);
    let n = 0;
    let wrote = false;
    for (const c of this.segments.values()) {
      if (c.home !== home) continue;
      for (const page of c.knownPages()) {
        const m = c.meta(page);
        if (c.frames.writersOf(page) > 0) {
          m.lostSeq = seq;
          wrote = true;
        }
        if (c.frames.state(page) >= PageState.READ) n++;
        m.owned = false;
        m.version = 0;
        // A new epoch numbers its versions afresh: an old revert's floor means nothing there.
        if (newEpoch) m.floor = 0;
        void c.frames.lower(page, PageState.INVALID);
      }
    }
    if (!newEpoch || n > 0 || wrote) this.homeLosses.set(home, seq);
    this.counters.add(undefined, "pagesDropped", n);
    if (n > 0) log("dropped %d pages of %s: %s", n, home, why);
  }

  /** Whether any page of `home` is cached here (a lease is worth keeping). */
  holdsPagesOf(home: ServerId): boolean {
    for (const c of this.segments.values()) if (c.home === home && c.knownPages().length > 0) return true;
    return false;
  }

  /**
   * Whether the page of `frames` may leave the cache now (PageCache asks before `evict`): it
   * is not being fetched or written back, no segment here wrote it without committing yet,
   * and no accessor is in it.
   */
  evictable(frames: SegmentFrames, page: PageNo): boolean {
    const c = this.segments.get(frames.sysname);
    if (!c || c.frames !== frames) return false;
    const m = c.meta(page);
    return m.busy === undefined && m.committing === 0 && frames.writersOf(page) === 0 && frames.pinned(page) === 0;
  }

  /**
   * Takes a page out of the cache and gives its frame back to the pool: a read copy is just
   * forgotten (the home's later invalidation finds nothing); an owned page's bytes go home
   * first (data.page.release), as to a recall. Faults on the page wait meanwhile (busy), and
   * fetch it again after. False if it stayed (it became busy or written, or the home would
   * not take it back).
   */
  evict(frames: SegmentFrames, page: PageNo): Promise<boolean> {
    if (!this.evictable(frames, page)) return Promise.resolve(false);
    const c = this.segments.get(frames.sysname)!;
    const m = c.meta(page);
    let evicted = false;
    const work = this.evictPage(c, page).then((done) => void (evicted = done));
    return this.busyWith(m, work).then(() => evicted, () => false);
  }

  private async evictPage(c: CachedSegment, page: PageNo): Promise<boolean> {
    const m = c.meta(page);
    const { version, owned } = m;
    const was = c.frames.state(page);
    await c.frames.lower(page, PageState.INVALID);
    // An isiba may have written it (or a recall taken it) between the check and the lowering.
    if (c.frames.writersOf(page) > 0 || m.committing > 0 || m.version !== version) return this.keep(c, page, was);
    if (owned && version !== 0) {
      const released = await this.release(c, page, version);
      if (!released) return m.owned && m.version === version ? this.keep(c, page, was) : this.forget(c, page);
      this.counters.add(c.object, "pagesReleased");
    } else if (version !== 0) {
      this.dropNotices.add(c.home, this.epochs.get(c.home) ?? 0, c.sysname, page, version);
    }
    return this.forget(c, page);
  }

  /** Gives an owned page's bytes home; whether the home took them. */
  private async release(c: CachedSegment, page: PageNo, version: number): Promise<boolean> {
    const bytes = c.frames.copyPage(page);
    try {
      const epoch = this.epochs.get(c.home) ?? 0;
      const r = await this.link.release(c.home, { epoch, segment: c.sysname, page, version, bytes, stamp: c.frames.stamp(page) });
      if (r.released) this.counters.add(c.object, "bytesOut", bytes.length);
      return r.released;
    } catch (err) {
      log("could not release %s#%d to %s: %s", c.sysname, page, c.home, (err as Error).message);
      return false;
    }
  }

  /** The eviction is off: the page is mapped again as it was (its bytes never left the frame). */
  private keep(c: CachedSegment, page: PageNo, was: number): boolean {
    const m = c.meta(page);
    if (m.version !== 0 && c.frames.slotOf(page) !== 0) c.frames.setState(page, m.owned ? Math.max(was, PageState.READ) : Math.min(was, PageState.READ));
    return false;
  }

  /** The copy is gone from here: forget it and free its frame. */
  private forget(c: CachedSegment, page: PageNo): boolean {
    const m = c.meta(page);
    m.owned = false;
    m.version = 0;
    const freed = c.frames.evict(page);
    if (freed) this.counters.add(c.object, "pagesEvicted");
    return freed;
  }

  /**
   * Forgets segments here for good (their object is deactivated): evicts every page they
   * still hold (owned ones given home), then drops their page tables. False, with nothing
   * dropped, if a page could not be evicted (it is being fetched, written or committed).
   */
  async retire(sysnames: SysName[]): Promise<boolean> {
    const cached = sysnames.map((s) => this.segments.get(s)).filter((c): c is CachedSegment => c !== undefined);
    const held = cached.flatMap((c) => c.knownPages().filter((page) => c.frames.slotOf(page) !== 0 || c.meta(page).busy).map((page) => ({ c, page })));
    const evicted = await Promise.all(held.map(({ c, page }) => this.evict(c.frames, page)));
    if (evicted.includes(false)) return false;
    // Checked again with no await after: nothing may have come back in meanwhile.
    for (const c of cached) {
      for (const page of c.knownPages()) {
        const m = c.meta(page);
        if (m.busy || m.committing > 0 || c.frames.slotOf(page) !== 0 || c.frames.writersOf(page) > 0) return false;
      }
    }
    for (const c of cached) this.segments.delete(c.sysname);
    return true;
  }

  /** Segments cached here (their page tables). */
  get segmentCount(): number {
    return this.segments.size;
  }

  /** The segment cached here that `frames` belong to, and its object (PageCache's view of a frame's owner). */
  cachedOf(frames: SegmentFrames): { object: SysName | undefined } | undefined {
    const c = this.segments.get(frames.sysname);
    return c && c.frames === frames ? { object: c.object } : undefined;
  }

  /** Forgets one page here as if the home had invalidated it (diagnostics, benchmarks). */
  async dropPage(segment: SysName, page: PageNo): Promise<void> {
    const c = this.segments.get(segment);
    if (!c) return;
    const m = c.meta(page);
    while (m.busy) await m.busy.catch(() => undefined);
    if (c.frames.writersOf(page) > 0) m.lostSeq = ++this.dropSeq;
    m.owned = false;
    m.version = 0;
    await c.frames.lower(page, PageState.INVALID);
  }

  /** How this server caches the pages of these segments (for `pages NAME`); `ws`: whether a page is in its object's working set. */
  pagesOf(segments: SysName[], ws: (frames: SegmentFrames, page: PageNo) => boolean = () => false): { segment: SysName; page: PageNo; state: "invalid" | "read" | "write"; version: number; owned: boolean; workingSet: boolean }[] {
    const names = ["invalid", "read", "write"] as const;
    const out = [];
    for (const segment of segments) {
      const c = this.segments.get(segment);
      if (!c) continue;
      for (const page of c.knownPages()) {
        const m = c.meta(page);
        if (m.version === 0 && c.frames.state(page) === PageState.INVALID) continue;
        out.push({ segment, page, state: names[c.frames.state(page)] ?? "invalid", version: m.version, owned: m.owned, workingSet: ws(c.frames, page) });
      }
    }
    return out;
  }

  /** The object a segment belongs to, if known. */
  objectOf(segment: SysName): SysName | undefined {
    return this.segments.get(segment)?.object;
  }
}
