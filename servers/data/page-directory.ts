/**
 * PageDirectory: the home's record of which compute servers hold a copy of each page.
 *
 * The data server is home and directory of its segments' pages (DESIGN §7). For every page
 * it has served, the directory keeps the copyset: the ids of the compute servers that may
 * hold a copy. Before a write-back of a page is committed, every other holder is told to
 * invalidate its copy, so no compute server serves a stale page after the writer returned.
 * A compute server that disconnects is dropped from every copyset (its cache is gone).
 *
 * Rules: changed only by the DataServer while it holds the page's lock (PageLocks).
 */
import type { PageNo, SysName } from "../../ra-kernel/ids.js";

export interface PageRef {
  segment: SysName;
  page: PageNo;
}

export function pageKey(segment: SysName, page: PageNo): string {
  return `${segment}#${page}`;
}

export class PageDirectory {
  private readonly copysets = new Map<string, Set<string>>();

  get size(): number {
    return this.copysets.size;
  }

  addHolder(ref: PageRef, holder: string): void {
    const key = pageKey(ref.segment, ref.page);
    let set = this.copysets.get(key);
    if (!set) this.copysets.set(key, (set = new Set()));
    set.add(holder);
  }

  /** Holders other than `except` of any of `refs`, with the pages each must drop. */
  otherHolders(refs: PageRef[], except: string): Map<string, PageRef[]> {
    const out = new Map<string, PageRef[]>();
    for (const ref of refs) {
      for (const holder of this.copysets.get(pageKey(ref.segment, ref.page)) ?? []) {
        if (holder === except) continue;
        if (!out.has(holder)) out.set(holder, []);
        out.get(holder)!.push(ref);
      }
    }
    return out;
  }

  /** After a write-back: only the writer holds a current copy. */
  setSoleHolder(ref: PageRef, holder: string): void {
    this.copysets.set(pageKey(ref.segment, ref.page), new Set([holder]));
  }

  holders(ref: PageRef): string[] {
    return [...(this.copysets.get(pageKey(ref.segment, ref.page)) ?? [])];
  }

  dropHolder(holder: string): void {
    for (const set of this.copysets.values()) set.delete(holder);
  }

  forgetSegment(segment: SysName): void {
    for (const key of this.copysets.keys()) if (key.startsWith(`${segment}#`)) this.copysets.delete(key);
  }
}
