/**
 * DropNotices: tells homes which read copies this compute server evicted (data.page.drop).
 *
 * Coherence does not need them: a read copy may leave the cache silently, and the home's
 * next invalidation of it just finds nothing. But the home keeps us in the page's copyset
 * meanwhile, and so keeps the page's directory entry for good: with a million objects its
 * memory would grow with every page ever read. A notice lets the home forget pages nobody
 * caches (servers/data/page-directory.ts: pruning).
 *
 * Batching: evictions come in sweeps (PageCache reclaims hundreds of pages at once, a
 * deactivation a whole object's), so notices wait for the end of the turn and leave as one
 * message per home.
 *
 * Order: the home must see a notice before any later fault of the same page, or it would
 * take the copy that fault brings for the dropped one and leave a copy out of the copyset
 * (a writer would never invalidate it). So a fault first calls `before(page)`: a notice not
 * sent yet is cancelled (the home still counts us in, which is now true again), and one on
 * its way is waited for (the home answers after it applied it).
 *
 * A lost notice (connection closed, home restarted) is harmless: the home drops all our
 * copies then anyway, or keeps a copyset member too many (memory, and one idle recall).
 */
import createDebug from "debug";
import type { PageNo, ServerId, SysName } from "./ids.js";
import type { DropRequest } from "./home-link.js";

const log = createDebug("ra:dsm");

interface Notice {
  home: ServerId;
  epoch: number;
  segment: SysName;
  page: PageNo;
  version: number;
}

export class DropNotices {
  /** Notices not sent yet, by page key. */
  private readonly queued = new Map<string, Notice>();
  /** Notices on their way, by page key: settled once the home answered (or failed). */
  private readonly sending = new Map<string, Promise<void>>();
  private scheduled = false;
  /** Notices sent so far (metrics, tests). */
  sent = 0;

  constructor(private readonly send: (home: ServerId, req: DropRequest) => Promise<unknown>) {}

  /** A read copy of `version` was evicted here (the home had it granted in `epoch`). */
  add(home: ServerId, epoch: number, segment: SysName, page: PageNo, version: number): void {
    this.queued.set(key(segment, page), { home, epoch, segment, page, version });
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /**
   * The page is about to be faulted: its notice, if not sent yet, is cancelled; resolves once
   * one already sent has been answered (undefined: nothing to wait for).
   */
  before(segment: SysName, page: PageNo): Promise<void> | undefined {
    const k = key(segment, page);
    this.queued.delete(k);
    return this.sending.get(k);
  }

  /** Sends every queued notice now, one message per home and epoch. */
  flush(): void {
    this.scheduled = false;
    const batches = new Map<string, Notice[]>();
    for (const n of this.queued.values()) {
      const b = `${n.home}@${n.epoch}`;
      let list = batches.get(b);
      if (!list) batches.set(b, (list = []));
      list.push(n);
    }
    this.queued.clear();
    for (const list of batches.values()) this.sendBatch(list);
  }

  /** Sends what is queued and resolves once every notice sent has been answered (tests, shutdown). */
  async drained(): Promise<void> {
    this.flush();
    await Promise.all(this.sending.values());
  }

  private sendBatch(list: Notice[]): void {
    const { home, epoch } = list[0];
    const pages = list.map(({ segment, page, version }) => ({ segment, page, version }));
    const done: Promise<void> = this.send(home, { epoch, pages }).then(
      () => undefined,
      (err: unknown) => log("could not tell %s of %d dropped copies: %s", home, pages.length, (err as Error).message),
    );
    this.sent += pages.length;
    const keys = list.map((n) => key(n.segment, n.page));
    for (const k of keys) this.sending.set(k, done);
    void done.then(() => {
      for (const k of keys) if (this.sending.get(k) === done) this.sending.delete(k);
    });
  }
}

function key(segment: SysName, page: PageNo): string {
  return `${segment}#${page}`;
}
