/**
 * PageDirectory: the home's record of every page it has handed out (DESIGN §7).
 *
 * The data server is home and directory of its segments' pages. For each page served it
 * keeps a PageEntry:
 *   version  the content version: raised each time write ownership is granted, carried by
 *            every grant and recall so that a stale message is recognised by its receiver
 *   owner    the compute server holding the page writable (at most one), or null
 *   copyset  every compute server that may hold a copy (the owner included)
 *   pending  bytes newer than the store's: recalled from an owner, not committed yet (they
 *            hold only writes of invocations still in flight; the owner's write-back, or the
 *            next writer's, commits them)
 *   droppedOwner  an owner taken out of the directory without a recall (dead, lease ran out):
 *            its write-back of that version, if it comes, reports the writes lost
 * Invariants: owner !== null implies copyset = {owner}; every copyset member holds the
 * current version.
 *
 * Rules: an entry is read and changed only by PageHome while it holds the page's lock
 * (PageLocks) — except `dropHolder`, which runs when a holder is known dead.
 */
import type { PageNo, SysName } from "../../ra-kernel/ids.js";
import type { PageInfo } from "./protocol.js";

export interface PageRef {
  segment: SysName;
  page: PageNo;
}

export interface PageEntry {
  version: number;
  owner: string | null;
  copyset: Set<string>;
  storedVersion: number;
  pending: Uint8Array | null;
  /** The owner (and its version) last taken out without a recall: its later write-back was lost. */
  droppedOwner: { holder: string; version: number } | null;
}

export function pageKey(segment: SysName, page: PageNo): string {
  return `${segment}#${page}`;
}

export class PageDirectory {
  private readonly entries = new Map<string, PageEntry>();

  get size(): number {
    return this.entries.size;
  }

  /** The page's entry; created from the store's version the first time the page is served. */
  entry(ref: PageRef, storedVersion: () => number): PageEntry {
    const key = pageKey(ref.segment, ref.page);
    let e = this.entries.get(key);
    if (!e) {
      const stored = storedVersion();
      // Versions start above 0: a requester's `have: 0` means "no copy".
      e = { version: stored + 1, owner: null, copyset: new Set(), storedVersion: stored, pending: null, droppedOwner: null };
      this.entries.set(key, e);
    }
    return e;
  }

  peek(ref: PageRef): PageEntry | undefined {
    return this.entries.get(pageKey(ref.segment, ref.page));
  }

  /** A holder is gone (dead, or its lease ran out): it owns and holds nothing any more. */
  dropHolder(holder: string): number {
    let n = 0;
    for (const e of this.entries.values()) {
      if (e.copyset.delete(holder)) n++;
      if (e.owner === holder) {
        e.owner = null;
        e.droppedOwner = { holder, version: e.version };
      }
    }
    return n;
  }

  /** Pages where `holder` is in the copyset. */
  heldBy(holder: string): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.copyset.has(holder)) n++;
    return n;
  }

  forgetSegment(segment: SysName): void {
    for (const key of this.entries.keys()) if (key.startsWith(`${segment}#`)) this.entries.delete(key);
  }

  /** Every served page of these segments, by segment then page. */
  info(segments: SysName[]): PageInfo[] {
    const out: PageInfo[] = [];
    for (const [key, e] of this.entries) {
      const at = key.lastIndexOf("#");
      const segment = key.slice(0, at) as SysName;
      if (!segments.includes(segment)) continue;
      out.push({ segment, page: Number(key.slice(at + 1)), version: e.version, owner: e.owner, copyset: [...e.copyset].sort(), storedVersion: e.storedVersion });
    }
    return out.sort((a, b) => segments.indexOf(a.segment) - segments.indexOf(b.segment) || a.page - b.page);
  }
}
