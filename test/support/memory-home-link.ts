/**
 * MemoryHomeLink: a DsmClient HomeLink over pages kept in a Map — the homes of a unit test.
 *
 * `readPage` answers the stored copy (null for a page never written); `commit` stores copies
 * of the pages, so a later fetch (by this or a fresh DsmClient) sees them. Calls are counted.
 * `commitGate`, when set, holds every commit until it resolves, so a test can observe that
 * a caller waits for its write-back; `nextCommit()` resolves when the next commit arrives.
 */
import type { FetchedPage, HomeLink } from "../../ra-kernel/dsm-client.js";
import type { PageNo, ServerId, SysName } from "../../ra-kernel/ids.js";
import type { AccessMode } from "../../ra-kernel/page-state.js";

export type CommittedPage = { segment: SysName; page: PageNo; bytes: Uint8Array };

export class MemoryHomeLink implements HomeLink {
  /** Stored pages by `${segment}#${page}`. */
  readonly pages = new Map<string, Uint8Array>();
  reads = 0;
  readonly commits: { home: ServerId; pages: CommittedPage[] }[] = [];
  epoch = 1;
  commitGate: Promise<void> | null = null;
  private commitWaiters: Array<() => void> = [];

  static key(segment: SysName, page: PageNo): string {
    return `${segment}#${page}`;
  }

  async readPage(_home: ServerId, segment: SysName, page: PageNo, _mode: AccessMode): Promise<FetchedPage> {
    this.reads++;
    const stored = this.pages.get(MemoryHomeLink.key(segment, page));
    return { bytes: stored ? stored.slice() : null, version: 0, epoch: this.epoch };
  }

  async commit(home: ServerId, pages: CommittedPage[]): Promise<{ epoch: number }> {
    this.commits.push({ home, pages });
    for (const w of this.commitWaiters.splice(0)) w();
    if (this.commitGate) await this.commitGate;
    for (const p of pages) this.pages.set(MemoryHomeLink.key(p.segment, p.page), p.bytes.slice());
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
