/**
 * DsmClient: a compute server's partition — it caches pages of segments whose homes are
 * data servers, in SegmentFrames shared with the isibas.
 *
 * Faults: `fault(segment, page, mode)` brings the page from its home (one request however
 * many isibas fault on it at once) and installs it. Write-back: `writeBack(dirty)` sends the
 * pages an invocation wrote to their homes, which commit them before answering. Coherence
 * (conservative): a home that commits a page first invalidates every other compute server's
 * copy (`invalidate`); a home whose epoch changed (it restarted) has all its pages dropped.
 *
 * A per-page generation counter closes the race between a fetch in flight and an
 * invalidation that overtakes it: a fetched page is installed only if no invalidation of
 * that page arrived since the fetch began; otherwise the fetch is retried.
 *
 * The DsmClient never touches sockets: it talks to homes through a HomeLink.
 */
import createDebug from "debug";
import { type PageNo, type ServerId, type SysName } from "./ids.js";
import { PageState, stateFor, type AccessMode } from "./page-state.js";
import { Segment } from "./segment.js";
import { SegmentFrames } from "./segment-frames.js";
import type { DirtyPages } from "./isiba-messages.js";

const log = createDebug("ra:dsm");

export interface FetchedPage {
  bytes: Uint8Array | null;
  version: number;
  epoch: number;
}

/** How the DSM client reaches a segment's home. */
export interface HomeLink {
  readPage(home: ServerId, segment: SysName, page: PageNo, mode: AccessMode): Promise<FetchedPage>;
  commit(home: ServerId, pages: { segment: SysName; page: PageNo; bytes: Uint8Array }[]): Promise<{ epoch: number }>;
}

export interface DsmCounters {
  faults: number;
  fetches: number;
  invalidations: number;
  pagesWrittenBack: number;
  bytesIn: number;
  bytesOut: number;
}

const MAX_FETCH_RETRIES = 8;

export class DsmClient {
  readonly counters: DsmCounters = { faults: 0, fetches: 0, invalidations: 0, pagesWrittenBack: 0, bytesIn: 0, bytesOut: 0 };
  private readonly frames = new Map<SysName, SegmentFrames>();
  private readonly segments = new Map<SysName, Segment>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly generations = new Map<string, number>();
  private readonly epochs = new Map<ServerId, number>();

  constructor(private readonly link: HomeLink) {}

  /** The frames of a segment (created empty on first use). */
  framesOf(segment: Segment): SegmentFrames {
    let f = this.frames.get(segment.sysname);
    if (!f) {
      f = new SegmentFrames(segment.sysname, segment.maxPages);
      this.frames.set(segment.sysname, f);
      this.segments.set(segment.sysname, segment);
    }
    return f;
  }

  /** Pages cached here in READ or WRITE state. */
  cachedPages(): number {
    let n = 0;
    for (const f of this.frames.values()) n += f.pagesAtLeast(PageState.READ).length;
    return n;
  }

  readonly fault = (segment: SysName, page: PageNo, mode: AccessMode): Promise<void> => {
    this.counters.faults++;
    const frames = this.frames.get(segment);
    if (!frames) return Promise.reject(new Error(`segment ${segment} is not mapped on this compute server`));
    if (mode === "write" && frames.state(page) >= PageState.READ) {
      frames.setState(page, PageState.WRITE);
      return Promise.resolve();
    }
    const key = `${segment}#${page}#${mode}`;
    let p = this.inFlight.get(key);
    if (!p) {
      p = this.fetch(frames, page, mode).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, p);
    }
    return p;
  };

  private async fetch(frames: SegmentFrames, page: PageNo, mode: AccessMode): Promise<void> {
    const home = this.segments.get(frames.sysname)!.home;
    const gkey = `${frames.sysname}#${page}`;
    for (let attempt = 0; attempt < MAX_FETCH_RETRIES; attempt++) {
      const gen = this.generations.get(gkey) ?? 0;
      const got = await this.link.readPage(home, frames.sysname, page, mode);
      this.counters.fetches++;
      this.counters.bytesIn += got.bytes?.length ?? 0;
      this.noteEpoch(home, got.epoch);
      if ((this.generations.get(gkey) ?? 0) !== gen) continue;
      // Another fetch (e.g. a write fault's) may have installed the page meanwhile, and an
      // isiba may have written it: never overwrite a copy at least as good as this one.
      if (frames.state(page) < stateFor(mode)) frames.install(page, got.bytes, stateFor(mode));
      return;
    }
    throw new Error(`page ${page} of ${frames.sysname} kept being invalidated while it was fetched`);
  }

  /** Writes the dirty pages back to their homes; resolves when every home has committed. */
  async writeBack(dirty: DirtyPages[]): Promise<void> {
    const byHome = new Map<ServerId, { segment: SysName; page: PageNo; bytes: Uint8Array }[]>();
    for (const d of dirty) {
      const frames = this.frames.get(d.segment);
      const segment = this.segments.get(d.segment);
      if (!frames || !segment) continue;
      if (!byHome.has(segment.home)) byHome.set(segment.home, []);
      for (const page of d.pages) byHome.get(segment.home)!.push({ segment: d.segment, page, bytes: frames.copyPage(page) });
    }
    await Promise.all(
      [...byHome].map(async ([home, pages]) => {
        const { epoch } = await this.link.commit(home, pages);
        this.counters.pagesWrittenBack += pages.length;
        this.counters.bytesOut += pages.length * (pages[0]?.bytes.length ?? 0);
        this.noteEpoch(home, epoch);
      }),
    );
  }

  /** The home says these copies are stale. */
  invalidate(pages: { segment: SysName; page: PageNo }[]): void {
    for (const { segment, page } of pages) {
      this.counters.invalidations++;
      const gkey = `${segment}#${page}`;
      this.generations.set(gkey, (this.generations.get(gkey) ?? 0) + 1);
      this.frames.get(segment)?.setState(page, PageState.INVALID);
    }
  }

  /** Records a home's epoch; a new epoch means it restarted: drop every page it homes. */
  noteEpoch(home: ServerId, epoch: number): void {
    const known = this.epochs.get(home);
    this.epochs.set(home, epoch);
    if (known === undefined || known === epoch) return;
    log("home %s restarted (epoch %d -> %d): dropping its pages", home, known, epoch);
    this.dropHome(home);
  }

  dropHome(home: ServerId): void {
    for (const [sysname, seg] of this.segments) {
      if (seg.home !== home) continue;
      const frames = this.frames.get(sysname)!;
      for (const p of frames.pagesAtLeast(PageState.READ)) this.invalidate([{ segment: sysname, page: p }]);
    }
  }
}
