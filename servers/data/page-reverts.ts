/**
 * PageReverts: one round of a revert closure at the home (PageHome header: revert, closure)
 * — what happens to each page, and who is told what.
 *
 * A page is reverted when its coherent image holds words that will never commit. The
 * servers whose words are taken out (its `doom`: a segment of theirs aborted, an isiba worker
 * died, they lost their copies; all its dirty servers if its periods were lost) are told to
 * abort the segments that wrote it ("revert": they cannot tell which of theirs did) and
 * answer with the other pages of the object those segments wrote, which join the closure
 * with the same servers' words to be taken out. Every other holder drops its copy and aborts
 * nothing ("refresh"); the owner sends its bytes back, ending a period of its ownership. Once
 * all have answered, the page's image is rebuilt from its durable image and the periods kept
 * (OwnershipPeriods): everything but the words taken out. A dead server is told nothing: its
 * periods went when it was dropped (PageDirectory.dropHolder).
 *
 * Rules: a round runs holding the locks of its pages (RevertClosures), and changes only
 * their entries; the pages it names are marked (`takeOut`) by the closure as they join.
 */
import createDebug from "debug";
import type { SysName } from "../../ra-kernel/ids.js";
import { NO_HOLDERS, ownDoom, ownFenced, type PageDirectory, type PageEntry, type PageRef } from "./page-directory.js";

const log = createDebug("servers:data:home");

/** What a compute server answers to a recall (compute.recall). */
export interface RecallReply {
  held: boolean;
  bytes: Uint8Array | null;
  /** Its copy's write stamp. */
  stamp?: number;
  /** Its copy holds writes of segments there that have not committed yet (or are committing). */
  dirty?: boolean;
  /** Answering a revert: other pages of the object its doomed segments may have written. */
  lost?: { segment: SysName; page: number }[];
}

export interface RevertHost {
  readonly directory: PageDirectory;
  /** The home's epoch now. */
  epoch(): number;
  /** The page's entry, created if it has none. */
  entryOf(ref: PageRef): PageEntry;
  /** Sends a recall; null if the holder could not answer (it has then been taken out). */
  ask(holder: string, body: RevertNotice): Promise<RecallReply | null>;
  /** `holder` has uncommitted writes in the page; `bytes`: it owned it and gave these back. */
  noteDirty(e: PageEntry, holder: string, bytes: Uint8Array | null, stamp: number): void;
  /** The page's durable image. */
  durableOf(ref: PageRef, e: PageEntry): Uint8Array;
  /** Whether a page a compute server named is one of ours (a bad name is ignored). */
  homesPage(p: { segment: unknown; page: unknown }): p is PageRef;
  /** Counts a page reverted; `doomed`: the servers whose words it takes out. */
  reverted(ref: PageRef, doomed: ReadonlySet<string>): void;
  /** How many commits the home has received so far (PageDirectory: fenced). */
  received(): number;
}

export interface RevertNotice {
  segment: SysName;
  page: number;
  version: number;
  epoch: number;
  action: "revert" | "refresh";
  /** A refresh: the version being replaced (a holder whose grant of it is on its way waits for it: its bytes may be asked). */
  current?: number;
}

/** One page being reverted: who owned it (and is asked for its bytes), who is told what. */
interface Revert {
  ref: PageRef;
  e: PageEntry;
  owner: string | null;
  told: Map<string, RevertNotice>;
}

export class PageReverts {
  constructor(private readonly host: RevertHost) {}

  /**
   * Reverts these pages at once (see header); returns the pages to join the closure, each
   * with the server whose words must go from it too: those the aborting servers named, and
   * every page of an owner found to have lost its copy (this one included).
   */
  async round(refs: PageRef[]): Promise<{ ref: PageRef; holder: string }[]> {
    const reverts: Revert[] = [];
    for (const ref of refs) {
      const e = this.host.directory.peek(ref);
      if (e?.tainted) reverts.push(this.start(ref, e));
    }
    const asks = reverts.flatMap((r) => [...r.told].map(async ([holder, notice]) => {
      const reply = await this.host.ask(holder, notice);
      return { r, holder, notice, reply, at: this.host.received() };
    }));
    const more: { ref: PageRef; holder: string }[] = [];
    for (const { r, holder, notice, reply, at } of await Promise.all(asks)) {
      if (!reply) continue;
      if ((reply.stamp ?? 0) > r.e.stamp) r.e.stamp = reply.stamp!;
      if (notice.action === "revert") {
        ownFenced(r.e).set(holder, at); // it aborted them as it answered: what it sent after, it checked
        more.push(...this.doomedToo(holder, reply.lost ?? []));
      } else if (holder === r.owner && !reply.held) more.push(...this.ownerLostCopy(r, holder));
      else if (holder === r.owner && reply.dirty) this.host.noteDirty(r.e, holder, reply.bytes, reply.stamp ?? r.e.stamp);
    }
    for (const r of reverts) this.rebuild(r);
    return more;
  }

  /**
   * Marks `holder`'s words in these pages to be taken out by their revert (it is told to
   * abort), and fences its commits of them until it answered (PageDirectory: fenced); returns
   * the pages.
   */
  takeOut(holder: string, refs: PageRef[]): PageRef[] {
    for (const ref of refs) {
      const e = this.host.entryOf(ref);
      ownDoom(e).add(holder);
      ownFenced(e).set(holder, Infinity);
    }
    return refs;
  }

  /**
   * Begins reverting one page's entry: a new version, held by no one; the servers whose words
   * are taken out lose their periods and dirtiness here and are told to abort, every other
   * holder to drop its copy.
   */
  private start(ref: PageRef, e: PageEntry): Revert {
    const doomed = new Set(e.doom);
    if (e.periods.lost) for (const h of e.dirty.keys()) doomed.add(h);
    if (e.periods.lost) e.periods.clear();
    for (const h of doomed) {
      e.periods.drop(h);
      e.dirty.delete(h);
      ownFenced(e).set(h, Infinity);
    }
    const revert: Revert = { ref, e, owner: e.owner !== null && !doomed.has(e.owner) ? e.owner : null, told: new Map() };
    const current = e.version++;
    const notice = (action: RevertNotice["action"]): RevertNotice => ({
      segment: ref.segment, page: ref.page, version: e.version, epoch: this.host.epoch(), action, ...(action === "refresh" ? { current } : {}),
    });
    for (const h of e.copyset) revert.told.set(h, notice("refresh"));
    for (const h of doomed) revert.told.set(h, notice("revert"));
    e.owner = null;
    e.copyset = new Set();
    e.doom = NO_HOLDERS;
    e.tainted = false;
    this.host.reverted(ref, doomed);
    const refreshed = [...revert.told.keys()].filter((h) => !doomed.has(h));
    log("reverting %s#%d (v%d): %s abort, %s drop their copies", ref.segment, ref.page, e.version, [...doomed].join(", ") || "no one", refreshed.join(", ") || "no one");
    return revert;
  }

  /** Ends a revert: the image becomes the durable one with the periods kept. */
  private rebuild(r: Revert): void {
    r.e.twin = null;
    r.e.pending = r.e.periods.rebuild(this.host.durableOf(r.ref, r.e), r.e.durableStamps);
  }

  /** A server that aborted segments named other pages they wrote: its words there go too. */
  private doomedToo(holder: string, lost: { segment: unknown; page: unknown }[]): { ref: PageRef; holder: string }[] {
    return lost.filter((p) => this.host.homesPage(p)).map((ref) => ({ ref: { segment: ref.segment, page: ref.page }, holder }));
  }

  /**
   * The owner told to give its bytes back had none: it dropped our pages (its segments that
   * wrote them abort there), so its words go, here and wherever else it wrote.
   */
  private ownerLostCopy(r: Revert, holder: string): { ref: PageRef; holder: string }[] {
    r.e.periods.drop(holder);
    r.e.dirty.delete(holder);
    // This page too: it joins again, so its commits on their way are fenced and it is told to abort.
    return [r.ref, ...this.host.directory.writtenBy(holder)].map((ref) => ({ ref, holder }));
  }
}
