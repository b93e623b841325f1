/**
 * MemoryHomeLink: a DsmClient HomeLink over pages kept in a Map — the homes of a unit test
 * that needs pages to persist but no coherence (one compute server at a time).
 *
 * `fault` answers the stored copy (null for a page never written) with the page's version
 * (a read gets the current one, a write raises it, as a home does) and never `same`, and it
 * recalls nothing from anyone: for protocol tests use DsmHarness (a real PageHome).
 * `commit` stores copies of the pages that carry bytes, so a later fault (by this or a fresh
 * DsmClient) sees them; pages sent without bytes (the writer lost them) store nothing.
 * Calls are counted. `commitGate`, when set, holds every commit until it resolves, so a test
 * can observe that a caller waits for its write-back; `nextCommit()` resolves when the next
 * commit arrives.
 */
import type { Grant, HomeLink, PageCommit } from "../../ra-kernel/dsm-client.js";
import type { PageNo, ServerId, SysName } from "../../ra-kernel/ids.js";
import type { AccessMode } from "../../ra-kernel/page-state.js";

export class MemoryHomeLink implements HomeLink {
  /** Stored pages by `${segment}#${page}`. */
  readonly pages = new Map<string, Uint8Array>();
  /** Page versions by `${segment}#${page}` (absent: 1). */
  private readonly versions = new Map<string, number>();
  faults = 0;
  readonly commits: { home: ServerId; epoch: number; pages: PageCommit[] }[] = [];
  epoch = 1;
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
    return { bytes: stored ? stored.slice() : null, same: false, version, epoch: this.epoch };
  }

  async commit(home: ServerId, epoch: number, pages: PageCommit[]): Promise<{ epoch: number }> {
    this.commits.push({ home, epoch, pages });
    for (const w of this.commitWaiters.splice(0)) w();
    if (this.commitGate) await this.commitGate;
    for (const p of pages) if (p.bytes.length > 0) this.pages.set(MemoryHomeLink.key(p.segment, p.page), p.bytes.slice());
    return { epoch: this.epoch };
  }

  /** Resolves when the next commit call arrives (before it stores anything). */
  nextCommit(): Promise<void> {
    return new Promise((resolve) => this.commitWaiters.push(resolve));
  }

  /** Stored pages of one segment. */
  pagesOf(segment: SysName): PageNo[] {
    return [...this.pages.keys()].filter((k) => k.startsWith(`${segment}#`)).map((k) => Number(k.split("#")[1]));
  }
}
