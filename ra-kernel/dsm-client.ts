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
 *                               it, send the bytes home.
 *   writeBack(dirty, since)     an invocation returns: for each page it wrote, send the bytes
 *                               if we still own it (copied while no writer is inside), else just
 *                               ask the home to commit what it recalled from us; resolves when
 *                               committed. Pages dropped without their bytes going home fail it.
 *
 * Versions: every grant and recall names the page version it concerns. Grants and recalls of
 * one page are serialized at the home and travel on one connection, but this server may see
 * a recall before it has installed the grant it follows (both arrive, the grant's reply
 * continuation runs later): a recall for a version newer than ours waits for our fetch in
 * flight to land. A home whose epoch changed (it restarted) has all its pages dropped.
 *
 * The DsmClient never touches sockets: it talks to homes through a HomeLink.
 */
import createDebug from "debug";
import { type PageNo, type ServerId, type SysName } from "./ids.js";
import { PageState, stateFor, type AccessMode } from "./page-state.js";
import type { Segment } from "./segment.js";
import type { SegmentFrames } from "./segment-frames.js";
import type { DirtyPages } from "./isiba-messages.js";
import { CachedSegment, type PageMeta } from "./cached-segment.js";
import { ObjectCounters } from "./object-counters.js";
import { LatencyHistogram } from "./latency-histogram.js";
import { PagesLostError, StaleEpochError } from "./errors.js";

const log = createDebug("ra:dsm");

/** A home's answer to a fault (see data.page.fault). */
export interface Grant {
  bytes: Uint8Array | null;
  same: boolean;
  version: number;
  epoch: number;
  /** The following pages, also granted writable (asked with count > 1). */
  extra?: { page: PageNo; version: number; bytes: Uint8Array | null }[];
}

/** A page of a new object granted writable to its creator (see data.object.create). */
export interface CreationGrant {
  segment: SysName;
  page: PageNo;
  version: number;
}

/** Most pages one fault asks for (the faulted page included): servers/data/protocol.ts says the same. */
export const MAX_FAULT_PAGES = 64;

export interface PageCommit {
  segment: SysName;
  page: PageNo;
  version: number;
  bytes: Uint8Array;
}

/** A home's answer to a write-back: `lost` lists pages whose writes it could not take. */
export interface CommitReply {
  epoch: number;
  lost?: { segment: SysName; page: PageNo }[];
}

/** How the DSM client reaches a segment's home. */
export interface HomeLink {
  /** `count` > 1: a write fault asking for the following pages too (see the header). */
  fault(home: ServerId, segment: SysName, page: PageNo, mode: AccessMode, have: number, count?: number): Promise<Grant>;
  commit(home: ServerId, epoch: number, pages: PageCommit[]): Promise<CommitReply>;
}

export interface RecallRequest {
  segment: SysName;
  page: PageNo;
  version: number;
  epoch: number;
  action: "invalidate" | "downgrade";
}

export const DSM_COUNTERS = [
  "readFaults", "writeFaults", "fetches", "upgrades", "ownedRewrites", "recallsReceived", "invalidationsReceived",
  "pagesWrittenBack", "bytesIn", "bytesOut", "pagesDropped", "pagesPrefetched", "pagesGrantedAtCreation",
] as const;
export type DsmCounter = (typeof DSM_COUNTERS)[number];

/** A fault that keeps losing its page to other servers gives up after this many fetches. */
const MAX_FETCHES_PER_FAULT = 64;
/**
 * How long a freshly installed copy is kept before a recall may take it (ms): long enough for
 * the isiba that faulted to wake up and make its access (~0.1 ms across CPUs).
 */
const MIN_HOLD_MS = 0.25;
const NO_BYTES = new Uint8Array(0);

export class DsmClient {
  readonly counters = new ObjectCounters<DsmCounter>(DSM_COUNTERS);
  readonly faultLatency = new LatencyHistogram();
  private readonly segments = new Map<SysName, CachedSegment>();
  private readonly epochs = new Map<ServerId, number>();
  private dropSeq = 0;

  constructor(private readonly link: HomeLink) {}

  /** The frames of a segment (created empty on first use), noting which object maps it. */
  framesOf(segment: Segment, object?: SysName): SegmentFrames {
    let c = this.segments.get(segment.sysname);
    if (!c) this.segments.set(segment.sysname, (c = new CachedSegment(segment, object)));
    if (object && !c.object) c.object = object;
    return c.frames;
  }

  /** Marks the present: a later writeBack(dirty, mark) fails if pages were lost since. */
  get dropMark(): number {
    return this.dropSeq;
  }

  /** Pages cached here in READ or WRITE state. */
  cachedPages(): number {
    let n = 0;
    for (const c of this.segments.values()) n += c.frames.pagesAtLeast(PageState.READ).length;
    return n;
  }

  readonly fault = async (segment: SysName, page: PageNo, mode: AccessMode): Promise<void> => {
    const c = this.segments.get(segment);
    if (!c) throw new Error(`segment ${segment} is not mapped on this compute server`);
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
        await this.busyWith(m, this.fetch(c, page, mode));
        this.faultLatency.record((performance.now() - started) * 1000);
      }
    }
  };

  private busyWith(m: PageMeta, work: Promise<void>): Promise<void> {
    const p = work.finally(() => {
      if (m.busy === p) m.busy = undefined;
    });
    m.busy = p;
    return p;
  }

  private async fetch(c: CachedSegment, page: PageNo, mode: AccessMode): Promise<void> {
    const m = c.meta(page);
    const have = c.frames.state(page) >= PageState.READ ? m.version : 0;
    const following = mode === "write" ? this.runPages(c, page) : [];
    let landed!: () => void;
    const landing = new Promise<void>((resolve) => (landed = resolve));
    for (const p of following) void this.busyWith(c.meta(p), landing);
    try {
      const g = await this.link.fault(c.home, c.sysname, page, mode, have, following.length > 0 ? following.length + 1 : undefined);
      this.counters.add(c.object, "fetches");
      this.noteEpoch(c.home, g.epoch);
      await this.installGrant(c, page, mode, have, g);
      if (g.extra) await this.installExtra(c, page, g.extra);
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
  private async installExtra(c: CachedSegment, page: PageNo, extra: NonNullable<Grant["extra"]>): Promise<void> {
    for (const x of extra) {
      const m = c.meta(x.page);
      if (x.version <= m.version || c.frames.state(x.page) !== PageState.INVALID) continue;
      await c.frames.lower(x.page, PageState.INVALID);
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
  adoptCreated(home: ServerId, epoch: number, grants: CreationGrant[]): void {
    this.noteEpoch(home, epoch);
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

  private async installGrant(c: CachedSegment, page: PageNo, mode: AccessMode, have: number, g: Grant): Promise<void> {
    const m = c.meta(page);
    if (g.version < m.version || (g.same && (have === 0 || m.version !== have))) {
      log("ignoring a stale grant of %s#%d (v%d, ours v%d)", c.sysname, page, g.version, m.version);
      return;
    }
    if (g.same) {
      this.counters.add(c.object, "upgrades");
    } else {
      await c.frames.lower(page, PageState.INVALID);
      c.frames.install(page, g.bytes, PageState.INVALID);
      this.counters.add(c.object, "bytesIn", g.bytes?.length ?? 0);
    }
    m.version = g.version;
    m.owned = mode === "write";
    m.heldSince = performance.now();
    c.frames.setState(page, stateFor(mode));
  }

  /** The home takes our copy of `version` back (see header). */
  async recall(req: RecallRequest): Promise<{ held: boolean; bytes: Uint8Array | null }> {
    const c = this.segments.get(req.segment);
    if (!c) return { held: false, bytes: null };
    this.noteEpoch(c.home, req.epoch);
    const m = c.meta(req.page);
    // Our grant of this version is in transit: let it land first.
    if (m.version < req.version && m.busy) await m.busy.catch(() => undefined);
    if (m.version !== req.version) return { held: false, bytes: null };
    // Sub-millisecond: timers cannot wait that little, so yield to the event loop until then.
    while (performance.now() < m.heldSince + MIN_HOLD_MS) await new Promise((resolve) => setImmediate(resolve));
    if (m.version !== req.version) return { held: false, bytes: null };
    const owned = m.owned;
    m.owned = false;
    await c.frames.lower(req.page, req.action === "invalidate" ? PageState.INVALID : PageState.READ);
    const bytes = owned ? c.frames.copyPage(req.page) : null;
    this.counters.add(c.object, owned ? "recallsReceived" : "invalidationsReceived");
    if (bytes) this.counters.add(c.object, "bytesOut", bytes.length);
    return { held: true, bytes };
  }

  /**
   * Writes back the pages an invocation dirtied and resolves once every home committed them.
   * Throws PagesLostError if some had to be dropped since `since` (a `dropMark`).
   */
  async writeBack(dirty: DirtyPages[], since = this.dropSeq): Promise<void> {
    const byHome = new Map<ServerId, PageCommit[]>();
    const lost = new Map<ServerId, number>();
    for (const d of dirty) {
      const c = this.segments.get(d.segment);
      if (!c) continue;
      for (const page of d.pages) {
        if (c.meta(page).lostSeq > since) {
          lost.set(c.home, (lost.get(c.home) ?? 0) + 1);
          continue;
        }
        if (!byHome.has(c.home)) byHome.set(c.home, []);
        byHome.get(c.home)!.push(await this.snapshot(c, page));
      }
    }
    await Promise.all([...byHome].map(async ([home, pages]) => {
      const n = await this.commitAt(home, pages);
      if (n > 0) lost.set(home, (lost.get(home) ?? 0) + n);
    }));
    const [home, pages] = [...lost][0] ?? [];
    if (home !== undefined) {
      throw new PagesLostError(
        `the writes of this invocation to ${pages} page(s) homed at data server ${home} were lost: their copies had to be dropped ` +
          `(the connection to ${home} was lost, its lease ran out, or it restarted)`,
        { server: home, pages: pages! },
      );
    }
  }

  /** Commits at one home; returns how many pages' writes the home reports lost. */
  private async commitAt(home: ServerId, pages: PageCommit[]): Promise<number> {
    let reply: CommitReply;
    try {
      reply = await this.link.commit(home, this.epochs.get(home) ?? 0, pages);
    } catch (err) {
      // The home restarted: what we cache of it is stale, whatever else happens.
      if (err instanceof StaleEpochError) this.noteEpoch(home, err.current);
      throw err;
    }
    for (const p of pages) {
      const object = this.segments.get(p.segment)?.object;
      this.counters.add(object, "pagesWrittenBack");
      this.counters.add(object, "bytesOut", p.bytes.length);
    }
    this.noteEpoch(home, reply.epoch);
    return reply.lost?.length ?? 0;
  }

  /**
   * The bytes to write back for a page: ours if we still own it (copied while no writer is
   * inside the page), else none — the home then commits the newer bytes it recalled from us.
   */
  private async snapshot(c: CachedSegment, page: PageNo): Promise<PageCommit> {
    const m = c.meta(page);
    while (m.busy) await m.busy.catch(() => undefined);
    const none: PageCommit = { segment: c.sysname, page, version: 0, bytes: NO_BYTES };
    if (!m.owned) return none;
    let out = none;
    await this.busyWith(m, (async () => {
      const version = m.version;
      await c.frames.lower(page, PageState.READ);
      if (!m.owned || m.version !== version) return;
      out = { segment: c.sysname, page, version, bytes: c.frames.copyPage(page) };
      c.frames.setState(page, PageState.WRITE);
    })());
    return out;
  }

  /** Records a home's epoch; a new epoch means it restarted: drop every page it homes. */
  noteEpoch(home: ServerId, epoch: number): void {
    const known = this.epochs.get(home);
    this.epochs.set(home, epoch);
    if (known === undefined || known === epoch) return;
    this.dropHome(home, `it restarted (epoch ${known} -> ${epoch})`);
  }

  /**
   * Forgets every page homed at `home` without giving anything back (it restarted, the
   * connection closed, or our lease ran out): owned pages are marked lost.
   */
  dropHome(home: ServerId, why: string): void {
    const seq = ++this.dropSeq;
    let n = 0;
    for (const c of this.segments.values()) {
      if (c.home !== home) continue;
      for (const page of c.knownPages()) {
        const m = c.meta(page);
        if (m.owned) m.lostSeq = seq;
        if (c.frames.state(page) >= PageState.READ) n++;
        m.owned = false;
        m.version = 0;
        void c.frames.lower(page, PageState.INVALID);
      }
    }
    this.counters.add(undefined, "pagesDropped", n);
    if (n > 0) log("dropped %d pages of %s: %s", n, home, why);
  }

  /** Whether any page of `home` is cached here (a lease is worth keeping). */
  holdsPagesOf(home: ServerId): boolean {
    for (const c of this.segments.values()) if (c.home === home && c.knownPages().length > 0) return true;
    return false;
  }

  /** Forgets one page here as if the home had invalidated it (diagnostics, benchmarks). */
  async dropPage(segment: SysName, page: PageNo): Promise<void> {
    const c = this.segments.get(segment);
    if (!c) return;
    const m = c.meta(page);
    while (m.busy) await m.busy.catch(() => undefined);
    if (m.owned) m.lostSeq = ++this.dropSeq;
    m.owned = false;
    m.version = 0;
    await c.frames.lower(page, PageState.INVALID);
  }

  /** How this server caches the pages of these segments (for `pages NAME`). */
  pagesOf(segments: SysName[]): { segment: SysName; page: PageNo; state: "invalid" | "read" | "write"; version: number; owned: boolean }[] {
    const names = ["invalid", "read", "write"] as const;
    const out = [];
    for (const segment of segments) {
      const c = this.segments.get(segment);
      if (!c) continue;
      for (const page of c.knownPages()) {
        const m = c.meta(page);
        if (m.version === 0 && c.frames.state(page) === PageState.INVALID) continue;
        out.push({ segment, page, state: names[c.frames.state(page)] ?? "invalid", version: m.version, owned: m.owned });
      }
    }
    return out;
  }

  /** The object a segment belongs to, if known. */
  objectOf(segment: SysName): SysName | undefined {
    return this.segments.get(segment)?.object;
  }
}
