/**
 * PageDirectory: the home's record of every page it has handed out (DESIGN §7).
 *
 * The data server is home and directory of its segments' pages. For each page served it
 * keeps a PageEntry:
 *   version  the content version: raised each time write ownership is granted, carried by
 *            every grant and recall so that a stale message is recognised by its receiver
 *   owner    the compute server holding the page writable (at most one), or null
 *   copyset  every compute server that may hold a copy (the owner included)
 *   pending  the coherent image while no one owns the page: the bytes last recalled from an
 *            owner. They may hold writes of segments not committed yet (see dirty); never
 *            stored as such — the store takes committed PageLogs only
 *   stamp    the page's write stamp as far as the home knows it (grants hand it on)
 *   dirty    compute servers whose uncommitted writes may be in the coherent image (pending,
 *            or a copy made from it), each with the page's stamp when it last said so: recalled
 *            with writes not committed yet, until a commit of theirs sent at a stamp at least
 *            that high says none are left (an older one crossed a newer write on the way).
 *            If one dies, the page is reverted
 *   periods  what each dirty server wrote while it owned the page (OwnershipPeriods): a revert
 *            rebuilds the image without the words of the servers taken out only
 *   twin, twinStamp  the image granted to the owner with its write ownership (null: the
 *            durable one — and from when the page settles under its owner on: PageHome.settle),
 *            and the page's stamp then (its writes are stamped above it)
 *   doom     live servers whose uncommitted words are to be taken out at the next revert (a
 *            segment of theirs aborted): they are told to abort their segments that wrote it
 *   fenced   live servers whose words were (or are to be) taken out, each with the count of
 *            commits the home had received when it answered that it aborted the segments that
 *            wrote them (Infinity until then): a commit of theirs touching the page received
 *            up to then was sent before it knew, and is refused (its words are gone)
 *   tainted  the coherent image holds writes that will never commit (their writer died or
 *            its segment aborted): revert before serving it
 *   reverting  the revert closure this page is part of (PageHome.revertClosure), while it
 *            runs: no fault of the page is served until the whole closure is reverted
 *   doneBy, doneAt  the last writer whose commit left none of its words uncommitted here, and
 *            the page's stamp when it sent it: a recall's "dirty" of that writer at a stamp no
 *            higher is stale (the recall overtook the commit's reply on its way back), so it
 *            marks nothing — a stale mark would have a kill of that writer revert committed words.
 *            Sound only while the writer's stamps for the page never go back below doneAt: a
 *            commit raises the page's stamp to the one it was sent at (every later grant hands
 *            it on, so a writer whose page tables were rebuilt, by a deactivation, starts above
 *            it), and a dropped holder is forgotten here (a restarted one starts afresh)
 *   unsynced, synced  commits ordered on this page whose transaction is not durable yet, and
 *            the promise of the last one: its durable images stay here meanwhile (the store
 *            does not have them yet), and a fault that serves them waits for it
 *   durable, durableStamps  the committed image and the stamp of each of its words (PageLog),
 *            kept while commits may still arrive out of order (someone owns or is dirty);
 *            null: read the store, every word older than any commit to come
 * Invariants: owner !== null implies copyset = {owner}; every copyset member holds the
 * current version; the store holds whole committed segments only.
 *
 * Pruning: an entry that holds nothing but numbers (no holder, nothing pending, dirty, fenced
 * or tainted: `quiescent`) is the store's page and nothing more, and is dropped (prune): the
 * directory grows with the pages compute servers cache, not with every page ever served. A
 * page served again gets a new entry whose version and stamp start above every pruned one
 * (the floors), so versions never go back for anyone who saw the old entry.
 *
 * Rules: an entry is read and changed only by PageHome while it holds the page's lock
 * (PageLocks) — except `dropHolder`, which runs when a holder is known dead and only takes
 * it out (marking pages whose coherent image it may have written `tainted`).
 */
import type { PageNo, SysName } from "../../ra-kernel/ids.js";
import type { PageInfo } from "./protocol.js";
import { OwnershipPeriods } from "./ownership-periods.js";

export interface PageRef {
  segment: SysName;
  page: PageNo;
}

/** Add to `dirty`, `doom` and `fenced` only through ownDirty / ownDoom / ownFenced (they start shared). */
export interface PageEntry {
  version: number;
  owner: string | null;
  copyset: Set<string>;
  storedVersion: number;
  pending: Uint8Array | null;
  stamp: number;
  dirty: Map<string, number>;
  periods: OwnershipPeriods;
  twin: Uint8Array | null;
  twinStamp: number;
  doom: Set<string>;
  fenced: Map<string, number>;
  tainted: boolean;
  reverting: Promise<void> | null;
  durable: Uint8Array | null;
  durableStamps: Float64Array | null;
  doneBy: string | null;
  doneAt: number;
  unsynced: number;
  synced: Promise<void> | null;
}

/**
 * The empty `dirty`, `doom` and `fenced` every entry starts with, shared by all entries: most
 * pages are never dirty, doomed or fenced, and three empty containers of their own would be
 * ~40% of an entry (the home keeps one per page it ever served). They refuse changes: add
 * through ownDirty / ownDoom / ownFenced, which give the entry containers of its own first.
 * (Deleting from or clearing them is harmless: they stay empty.)
 */
class SharedEmptyMap extends Map<string, number> {
  override set(): this {
    throw new Error("PageEntry: a shared empty map is read-only (add through ownDirty / ownFenced)");
  }
}
class SharedEmptySet extends Set<string> {
  override add(): this {
    throw new Error("PageEntry: a shared empty set is read-only (add through ownDoom)");
  }
}
const NO_STAMPS: Map<string, number> = new SharedEmptyMap();
export const NO_HOLDERS: Set<string> = new SharedEmptySet();

/** The entry's own `dirty` map (made on first use), to add to. */
export function ownDirty(e: PageEntry): Map<string, number> {
  if (e.dirty === NO_STAMPS) e.dirty = new Map();
  return e.dirty;
}

/** The entry's own `doom` set (made on first use), to add to. */
export function ownDoom(e: PageEntry): Set<string> {
  if (e.doom === NO_HOLDERS) e.doom = new Set();
  return e.doom;
}

/** The entry's own `fenced` map (made on first use), to add to. */
export function ownFenced(e: PageEntry): Map<string, number> {
  if (e.fenced === NO_STAMPS) e.fenced = new Map();
  return e.fenced;
}

export function pageKey(segment: SysName, page: PageNo): string {
  return `${segment}#${page}`;
}

export class PageDirectory {
  /**
   * Entries by segment, then page: an object's pages are found without walking every page the
   * home serves (forgetSegment when it is deleted, info for `pages NAME`).
   */
  private readonly segments = new Map<SysName, Map<PageNo, PageEntry>>();
  private count = 0;
  /** The highest version and stamp of any pruned entry: new entries start above them. */
  private versionFloor = 0;
  private stampFloor = 0;
  /** Entries pruned so far (metrics). */
  pruned = 0;

  get size(): number {
    return this.count;
  }

  /** The page's entry; created from the store's version the first time the page is served. */
  entry(ref: PageRef, storedVersion: () => number): PageEntry {
    let pages = this.segments.get(ref.segment);
    let e = pages?.get(ref.page);
    if (!e) {
      const stored = storedVersion();
      // Versions start above 0: a requester's `have: 0` means "no copy".
      e = {
        version: Math.max(stored, this.versionFloor) + 1, owner: null, copyset: new Set(), storedVersion: stored, pending: null,
        stamp: this.stampFloor, dirty: NO_STAMPS, periods: new OwnershipPeriods(), twin: null, twinStamp: 0, doom: NO_HOLDERS, fenced: NO_STAMPS, tainted: false, reverting: null, durable: null, durableStamps: null, doneBy: null, doneAt: 0, unsynced: 0, synced: null,
      };
      if (!pages) this.segments.set(ref.segment, (pages = new Map()));
      pages.set(ref.page, e);
      this.count++;
    }
    return e;
  }

  peek(ref: PageRef): PageEntry | undefined {
    return this.segments.get(ref.segment)?.get(ref.page);
  }

  /**
   * Drops the page's entry if it is quiescent (see the header); the caller holds the page's
   * lock and knows no revert closure includes it. Returns whether the segment has no entry
   * left (its caches may go too).
   */
  prune(ref: PageRef): boolean {
    const pages = this.segments.get(ref.segment);
    const e = pages?.get(ref.page);
    if (!pages || !e || !quiescent(e)) return false;
    if (e.version > this.versionFloor) this.versionFloor = e.version;
    if (e.stamp > this.stampFloor) this.stampFloor = e.stamp;
    pages.delete(ref.page);
    this.count--;
    this.pruned++;
    if (pages.size > 0) return false;
    this.segments.delete(ref.segment);
    return true;
  }

  /**
   * A holder is gone (dead, its lease ran out, or it reconnected having dropped everything):
   * it owns and holds nothing any more. Pages it owned or was dirty in become `tainted` (its
   * uncommitted writes are in their coherent image; its periods go, so a revert takes them
   * out); returns those, and how many it held.
   */
  dropHolder(holder: string): { held: number; tainted: PageRef[] } {
    let held = 0;
    const tainted: PageRef[] = [];
    for (const [ref, e] of this.all()) {
      if (e.copyset.delete(holder)) held++;
      e.periods.drop(holder);
      e.doom.delete(holder);
      e.fenced.delete(holder); // its lease term is over: its commits are refused anyway
      if (e.doneBy === holder) e.doneBy = null; // its next incarnation's stamps start afresh
      const owned = e.owner === holder;
      const dirty = e.dirty.delete(holder); // also when it owned the page: a dirty mark left behind never clears
      if (owned || dirty) {
        if (owned) e.owner = null;
        e.tainted = true;
        tainted.push(ref);
      }
    }
    return { held, tainted };
  }

  /**
   * Walks every entry and names the first broken invariant (null: none): an owner alone in
   * its copyset, versions from 1, durable stamps only with a durable image, a tainted page
   * never owned, periods kept only for dirty servers.
   */
  check(): string | null {
    for (const [ref, e] of this.all()) {
      const broken = brokenInvariant(e);
      if (broken) return `${pageKey(ref.segment, ref.page)}: ${broken}`;
    }
    return null;
  }

  /** Pages `holder` owns or is dirty in: where its uncommitted writes may be. */
  writtenBy(holder: string): PageRef[] {
    const out: PageRef[] = [];
    for (const [ref, e] of this.all()) if (e.owner === holder || e.dirty.has(holder)) out.push(ref);
    return out;
  }

  /** Pages where `holder` is in the copyset. */
  heldBy(holder: string): number {
    let n = 0;
    for (const [, e] of this.all()) if (e.copyset.has(holder)) n++;
    return n;
  }

  forgetSegment(segment: SysName): void {
    this.count -= this.segments.get(segment)?.size ?? 0;
    this.segments.delete(segment);
  }

  /** Every served page of these segments, by segment then page. */
  info(segments: SysName[]): PageInfo[] {
    const out: PageInfo[] = [];
    for (const segment of new Set(segments)) {
      const pages = [...(this.segments.get(segment) ?? [])].sort((a, b) => a[0] - b[0]);
      for (const [page, e] of pages) {
        out.push({ segment, page, version: e.version, owner: e.owner, copyset: [...e.copyset].sort(), storedVersion: e.storedVersion });
      }
    }
    return out;
  }

  /** Every entry with its page, segment by segment. */
  private *all(): Generator<[PageRef, PageEntry]> {
    for (const [segment, pages] of this.segments) for (const [page, e] of pages) yield [{ segment, page }, e];
  }
}

/** Whether the entry holds nothing the store does not: no holder, and no uncommitted or refused words. */
function quiescent(e: PageEntry): boolean {
  return e.owner === null && e.copyset.size === 0 && e.pending === null && e.dirty.size === 0 && e.periods.size === 0 && e.twin === null &&
    e.doom.size === 0 && e.fenced.size === 0 && !e.tainted && e.reverting === null && e.durable === null && e.durableStamps === null &&
    e.unsynced === 0;
}

/** The first invariant one entry breaks (see PageDirectory.check), or null. */
function brokenInvariant(e: PageEntry): string | null {
  if (e.owner !== null && (e.copyset.size !== 1 || !e.copyset.has(e.owner))) return `owner ${e.owner} is not alone in its copyset {${[...e.copyset].join(", ")}}`;
  if (e.version < 1) return `version ${e.version} (versions start at 1: 0 means "no copy")`;
  if (e.durableStamps !== null && e.durable === null) return "durable stamps without a durable image";
  if (e.tainted && e.owner !== null) return `tainted, yet owned by ${e.owner}`;
  for (const h of e.periods.holders()) if (!e.dirty.has(h)) return `periods of ${h} kept, yet it is not dirty`;
  return null;
}
