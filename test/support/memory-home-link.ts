/**
 * MemoryHomeLink: a DsmClient HomeLink over pages kept in a Map — the homes of a unit test
 * that needs pages to persist but no coherence (one compute server at a time).
 *
 * `fault` answers the stored copy (null for a page never written) with the page's version
 * (a read gets the current one, a write raises it, as a home does), its write stamp (the
 * highest committed, so a fresh DsmClient's writes are stamped above every stored word) and
 * lease term `term`; never `same`, and it recalls nothing from anyone: for protocol tests use
 * DsmHarness (a real PageHome).
 * `commit` applies each page's PageLog word by word to the stored copy (applyPageLog, as a
 * home does), so a later fault (by this or a fresh DsmClient) sees the committed words only;
 * an `abort` stores nothing and answers `applied: false`, and so does every commit while
 * `refuse` names a reason (as a home refuses a fenced writer). Calls are counted. `commitGate`,
 * when set, holds every commit until it resolves, so a test can observe that a caller waits
 * for its commit; `nextCommit()` resolves when the next commit arrives.
 */
import type { CommitReply, CommitRequest, DropRequest, Grant, HomeLink, ReleaseRequest } from "../../ra-kernel/home-link.js";
import { PAGE_SIZE, type PageNo, type ServerId, type SysName } from "../../ra-kernel/ids.js";
import type { AccessMode } from "../../ra-kernel/page-state.js";
import { applyPageLog, WORDS_PER_PAGE } from "../../ra-kernel/page-log.js";

export class MemoryHomeLink implements HomeLink {
  /** Stored pages by `${segment}#${page}`. */
  readonly pages = new Map<string, Uint8Array>();
  /** The stamp of each stored word, by `${segment}#${page}`. */
  private readonly stamps = new Map<string, Float64Array>();
  /** Page versions by `${segment}#${page}` (absent: 1). */
  private readonly versions = new Map<string, number>();
  faults = 0;
  readonly commits: ({ home: ServerId } & CommitRequest)[] = [];
  epoch = 1;
  term = 1;
  /** When set, commits are refused with this reason (nothing stored). */
  refuse: string | null = null;
  commitGate: Promise<void> | null = null;
  private commitWaiters: Array<() => void> = [];

  static key(segment: SysName, page: PageNo): string {
    return `${segment}#${page}`;
  }

  async fault(_home: ServerId, segment: SysName, page: PageNo, mode: AccessMode, _have: number): Promise<Grant> {
    this.faults++;
    const key = MemoryHomeLink.key(segment, page);
    const version = (this.versions.get(key) ?? 1) + (mode === "write" ? 1 : 0);
    this.versions.set(key, version);
    const stored = this.pages.get(key);
    return { bytes: stored ? stored.slice() : null, same: false, version, stamp: this.stampOf(key), epoch: this.epoch, term: this.term };
  }

  /** Pages given back by evictions (no coherence here: always taken, nothing stored). */
  readonly releases: ReleaseRequest[] = [];

  async release(_home: ServerId, req: ReleaseRequest): Promise<{ released: boolean }> {
    this.releases.push(req);
    return { released: true };
  }

  /** Read copies dropped by evictions, batch by batch. */
  readonly drops: DropRequest[] = [];

  async drop(_home: ServerId, req: DropRequest): Promise<{ dropped: number }> {
    this.drops.push(req);
    return { dropped: req.pages.length };
  }

  async commit(home: ServerId, req: CommitRequest, sent?: () => void): Promise<CommitReply> {
    this.commits.push({ home, ...req });
    sent?.();
    for (const w of this.commitWaiters.splice(0)) w();
    if (this.commitGate) await this.commitGate;
    if (req.abort) return { applied: false, epoch: this.epoch, reason: "aborted by its writer" };
    if (this.refuse !== null) return { applied: false, epoch: this.epoch, reason: this.refuse };
    for (const p of req.pages) {
      const key = MemoryHomeLink.key(p.segment, p.page);
      const bytes = this.pages.get(key)?.slice() ?? new Uint8Array(PAGE_SIZE);
      const stamps = this.stamps.get(key) ?? new Float64Array(WORDS_PER_PAGE);
      applyPageLog(p.log, bytes, stamps);
      this.pages.set(key, bytes);
      this.stamps.set(key, stamps);
    }
    return { applied: true, epoch: this.epoch };
  }

  /** Resolves when the next commit call arrives (before it stores anything). */
  nextCommit(): Promise<void> {
    return new Promise((resolve) => this.commitWaiters.push(resolve));
  }

  /** Stored pages of one segment. */
  pagesOf(segment: SysName): PageNo[] {
    return [...this.pages.keys()].filter((k) => k.startsWith(`${segment}#`)).map((k) => Number(k.split("#")[1]));
  }

  /** The highest stamp committed to a page (0: none). */
  private stampOf(key: string): number {
    const stamps = this.stamps.get(key);
    return stamps ? stamps.reduce((a, b) => Math.max(a, b), 0) : 0;
  }
}
