/**
 * PageHome: the data server as home of its segments' pages — the server side of the DSM
 * (DESIGN §7): IVY-style single writer / multiple readers, write-invalidate, with the
 * directory (PageDirectory) kept here.
 *
 *   read fault   if another server owns the page, recall it there (downgrade: it keeps a
 *                read-only copy and sends its bytes home); add the requester to the copyset;
 *                send the page.
 *   write fault  invalidate every other copy (recalling the owner's bytes); raise the version;
 *                make the requester the owner; send the page — or, when the requester's copy
 *                is of the current version, just `same` (an upgrade, no bytes resent).
 *   write run    a write fault may ask for `count` pages (a compute server writing fresh pages in
 *                sequence): the faulted page is granted as above, and each following page that
 *                no one holds, no request waits for, and that needs no recall or invalidation
 *                is granted writable to the requester too, in the same reply (`extra`).
 *   creation     a new object's first pages are all zeros and unknown to anyone: the home grants
 *                them writable to the creating compute server with the descriptor (grantCreated),
 *                so its constructor faults on none of them.
 *   write-back   the owner's bytes of the current version are committed (group commit in the
 *                store); a writer that lost the page meanwhile sends no bytes, and the home
 *                commits the newer bytes it recalled instead (they contain that writer's writes).
 *
 * Requests for one page are serialized (PageLocks), so the directory changes one request at
 * a time per page, and every grant of a version is sent before any recall of it.
 * A holder that cannot be reached is taken out of the directory only once its lease has
 * expired (HolderLeases): until then it might still be using its copy.
 */
import createDebug from "debug";
import type { ServerId, SysName } from "../../ra-kernel/ids.js";
import { LatencyHistogram } from "../../ra-kernel/latency-histogram.js";
import { ObjectCounters } from "../../ra-kernel/object-counters.js";
import type { Peer } from "../transport/transport.js";
import { PageDirectory, pageKey, type PageEntry, type PageRef } from "./page-directory.js";
import { PageLocks } from "./page-locks.js";
import { HolderLeases } from "./holder-leases.js";
import { StaleEpochError } from "../../ra-kernel/errors.js";
import type { ExtraGrant, PageCommitMsg, PageGrant, PageInfo } from "./protocol.js";
import type { SegmentStore } from "./segment-store.js";

const log = createDebug("servers:data:home");

/** How long a holder may take to answer a recall before we fall back on its lease. */
const RECALL_TIMEOUT_MS = 2000;

export const HOME_COUNTERS = [
  "readFaults", "writeFaults", "upgrades", "invalidationsSent", "recalls", "bytesSent", "bytesReceived", "pagesCommitted", "holdersDropped",
  "pagesPrefetched", "pagesGrantedAtCreation",
] as const;
export type HomeCounter = (typeof HOME_COUNTERS)[number];

export interface PageHomeOptions {
  /** How long a compute server's lease lasts (ms). @default 3000 */
  leaseMs?: number;
  /** How long a holder may take to answer a recall before its lease decides (ms). @default 2000 */
  recallTimeoutMs?: number;
}

export interface FaultRequest extends PageRef {
  mode: "read" | "write";
  /** The version of the requester's copy, 0 if it has none. */
  have: number;
  /** A write fault may ask for this many pages from `page` on (1: just the page). @default 1 */
  count?: number;
}

export class PageHome {
  readonly directory = new PageDirectory();
  readonly counters = new ObjectCounters<HomeCounter>(HOME_COUNTERS);
  readonly faultLatency = new LatencyHistogram();
  readonly leases: HolderLeases;
  private readonly locks = new PageLocks();
  private readonly objectOf = new Map<SysName, SysName>();
  /** Connections accepted per holder so far (to tell a reconnected holder from a silent one). */
  private readonly connections = new Map<string, number>();

  constructor(
    private readonly store: SegmentStore,
    readonly serverId: ServerId,
    /** The live connection to a holder, if any. */
    private readonly peerOf: (holder: string) => Peer | undefined,
    options: PageHomeOptions = {},
  ) {
    this.leases = new HolderLeases(options.leaseMs);
    this.recallTimeoutMs = options.recallTimeoutMs ?? RECALL_TIMEOUT_MS;
  }

  private readonly recallTimeoutMs: number;

  get epoch(): number {
    return this.store.epoch;
  }

  fault(req: FaultRequest, holder: string): Promise<PageGrant> {
    const started = performance.now();
    return this.locks.withPages([pageKey(req.segment, req.page)], async () => {
      const e = this.entryOf(req);
      const grant = req.mode === "read" ? await this.grantRead(req, e, holder) : await this.grantWrite(req, e, holder);
      if (req.mode === "write" && (req.count ?? 1) > 1) grant.extra = this.grantFollowing(req, req.count!, holder);
      const object = this.objectOfSegment(req.segment);
      this.counters.add(object, req.mode === "read" ? "readFaults" : "writeFaults");
      if (grant.same) this.counters.add(object, "upgrades");
      this.counters.add(object, "bytesSent", grant.bytes?.length ?? 0);
      this.faultLatency.record((performance.now() - started) * 1000);
      return grant;
    });
  }

  private async grantRead(ref: PageRef, e: PageEntry, holder: string): Promise<PageGrant> {
    if (e.owner !== null && e.owner !== holder) await this.recall(ref, e, e.owner, "downgrade");
    // A requester that is the owner lost its copy (it would not fault otherwise).
    if (e.owner === holder) e.owner = null;
    e.copyset.add(holder);
    return { bytes: this.bytesOf(ref, e), same: false, version: e.version, epoch: this.epoch };
  }

  private async grantWrite(req: FaultRequest, e: PageEntry, holder: string): Promise<PageGrant> {
    const readers = [...e.copyset].filter((h) => h !== holder && h !== e.owner);
    await Promise.all(readers.map((h) => this.recall(req, e, h, "invalidate")));
    if (e.owner !== null && e.owner !== holder) await this.recall(req, e, e.owner, "invalidate");
    const same = req.have === e.version && e.copyset.has(holder) && e.owner === null;
    this.makeOwner(e, holder);
    return { bytes: same ? null : this.bytesOf(req, e), same, version: e.version, epoch: this.epoch };
  }

  /**
   * A write run: ownership of the `count - 1` pages after `ref.page` (within the segment) that
   * are free to give — no holder, no request waiting — in one go. Synchronous: nothing else
   * touches the directory meanwhile, so those pages need not be locked.
   */
  private grantFollowing(ref: PageRef, count: number, holder: string): ExtraGrant[] {
    const end = Math.min(ref.page + count, this.store.getSegment(ref.segment)?.maxPages ?? 0);
    const out: ExtraGrant[] = [];
    for (let page = ref.page + 1; page < end; page++) {
      const next = { segment: ref.segment, page };
      if (!this.locks.isFree(pageKey(ref.segment, page))) continue;
      const e = this.entryOf(next);
      if (e.owner !== null || e.copyset.size > 0) continue;
      this.makeOwner(e, holder);
      out.push({ page, version: e.version, bytes: this.bytesOf(next, e) });
    }
    this.counters.add(this.objectOfSegment(ref.segment), "pagesPrefetched", out.length);
    return out;
  }

  /**
   * Write ownership of a new object's first pages for the compute server creating it (see
   * header). Call once the segments are stored, before anyone else can know them.
   */
  grantCreated(refs: PageRef[], holder: string): Promise<{ segment: SysName; page: number; version: number }[]> {
    return this.locks.withPages(refs.map((r) => pageKey(r.segment, r.page)), () => refs.map((ref) => {
      const e = this.directory.entry(ref, () => 0);
      if (e.owner !== null || e.copyset.size > 0) throw new Error(`page ${ref.page} of new segment ${ref.segment} is already held`);
      this.makeOwner(e, holder);
      this.counters.add(this.objectOfSegment(ref.segment), "pagesGrantedAtCreation");
      return { segment: ref.segment, page: ref.page, version: e.version };
    }));
  }

  /** A new version, owned by `holder` alone (the page must be free of other holders). */
  private makeOwner(e: PageEntry, holder: string): void {
    e.version++;
    e.owner = holder;
    e.copyset = new Set([holder]);
  }

  /**
   * Asks a holder to drop (`invalidate`) or keep read-only (`downgrade`) its copy of the current
   * version; an owner sends its bytes, which become the page's pending bytes. A holder that
   * cannot answer is dropped from the whole directory once its lease has run out.
   */
  private async recall(ref: PageRef, e: PageEntry, holder: string, action: "invalidate" | "downgrade"): Promise<void> {
    const object = this.objectOfSegment(ref.segment);
    const peer = this.peerOf(holder);
    try {
      if (!peer) throw new Error("not connected");
      const body = { segment: ref.segment, page: ref.page, version: e.version, epoch: this.epoch, action };
      const r = await peer.request<{ held: boolean; bytes: Uint8Array | null }>("compute.recall", body, { timeoutMs: this.recallTimeoutMs });
      this.counters.add(object, e.owner === holder ? "recalls" : "invalidationsSent");
      if (r.bytes && e.owner === holder) {
        e.pending = r.bytes;
        this.counters.add(object, "bytesReceived", r.bytes.length);
      }
    } catch (err) {
      log("%s did not answer a recall of %s#%d (%s): waiting for its lease", holder, ref.segment, ref.page, (err as Error).message);
      await this.takeBackFrom(holder);
      e.copyset.delete(holder);
    }
    if (e.owner === holder) e.owner = null;
    if (action === "invalidate") e.copyset.delete(holder);
  }

  /**
   * Takes back everything a holder that cannot answer holds, once its lease has run out: its
   * renewals are refused meanwhile. If it reconnected while we waited, it dropped its copies
   * itself (and may hold new ones granted since): nothing more to take.
   */
  private async takeBackFrom(holder: string): Promise<void> {
    const connection = this.connections.get(holder) ?? 0;
    this.leases.suspect(holder);
    await this.leases.expired(holder);
    if ((this.connections.get(holder) ?? 0) === connection) this.dropHolder(holder);
  }

  /**
   * A write-back: commits, atomically, for each page either the writer's bytes (it still owns
   * the version it sent) or the newer bytes recalled from it. Resolves once durable, listing
   * the pages whose writes were lost (sent as owner, but the page had been taken back from a
   * writer whose lease ran out, with nothing recalled).
   */
  commit(epoch: number, pages: PageCommitMsg[], writer: string): Promise<{ committed: number; lost: PageRef[]; epoch: number }> {
    if (epoch !== this.epoch) {
      const msg = `data server ${this.serverId} restarted (epoch ${epoch} is over, now ${this.epoch}): the pages written were lost`;
      return Promise.reject(new StaleEpochError(msg, { server: this.serverId, epoch, current: this.epoch }));
    }
    return this.locks.withPages(pages.map((p) => pageKey(p.segment, p.page)), async () => {
      const chosen: { entry: PageEntry; write: { segment: SysName; page: number; bytes: Uint8Array } }[] = [];
      const lost: PageRef[] = [];
      for (const p of pages) {
        const e = this.entryOf(p);
        const current = e.owner === writer && p.version === e.version && p.bytes.length > 0;
        const bytes = current ? p.bytes : e.pending;
        if (bytes) chosen.push({ entry: e, write: { segment: p.segment, page: p.page, bytes } });
        if (current) this.counters.add(this.objectOfSegment(p.segment), "bytesReceived", p.bytes.length);
        // Sent as owner, but taken back without a recall (its lease ran out): those writes are gone.
        else if (p.bytes.length > 0 && e.droppedOwner?.holder === writer && e.droppedOwner.version === p.version) {
          lost.push({ segment: p.segment, page: p.page });
        }
      }
      const versions = await this.store.commitPages(chosen.map((c) => c.write));
      chosen.forEach((c, i) => {
        c.entry.pending = null;
        c.entry.storedVersion = versions[i];
        this.counters.add(this.objectOfSegment(c.write.segment), "pagesCommitted");
      });
      return { committed: chosen.length, lost, epoch: this.epoch };
    });
  }

  /** A holder is gone: it keeps nothing, and its lease starts a new term. Its pending bytes (already home) stay. */
  dropHolder(holder: string): void {
    const n = this.directory.dropHolder(holder);
    this.leases.revoke(holder);
    if (n > 0) this.counters.add(undefined, "holdersDropped");
    log("dropped holder %s from %d pages", holder, n);
  }

  /**
   * A holder's connection closed: once its lease has expired, it holds nothing. (A compute
   * server that reconnects before then keeps its place: it never stopped holding.)
   */
  async holderDisconnected(holder: string, stillGone: () => boolean): Promise<void> {
    await this.leases.expired(holder);
    if (stillGone()) this.dropHolder(holder);
  }

  /**
   * A holder (re)connected. A compute server drops every page of a home whose connection
   * closed, so one that reconnects holds none of ours from before: forget them now.
   */
  holderConnected(holder: string): void {
    const n = this.connections.get(holder) ?? 0;
    this.connections.set(holder, n + 1);
    if (n > 0) {
      this.directory.dropHolder(holder);
      this.leases.revoke(holder);
    }
    this.leases.renew(holder);
  }

  info(segments: SysName[]): PageInfo[] {
    return this.directory.info(segments);
  }

  forgetSegment(segment: SysName): void {
    this.directory.forgetSegment(segment);
    this.objectOf.delete(segment);
  }

  private entryOf(ref: PageRef): PageEntry {
    return this.directory.entry(ref, () => this.store.readPage(ref.segment, ref.page).version);
  }

  private bytesOf(ref: PageRef, e: PageEntry): Uint8Array | null {
    return e.pending ?? this.store.readPage(ref.segment, ref.page).bytes;
  }

  private objectOfSegment(segment: SysName): SysName | undefined {
    let object = this.objectOf.get(segment);
    if (object === undefined) {
      object = this.store.getSegment(segment)?.object ?? undefined;
      if (object) this.objectOf.set(segment, object);
    }
    return object;
  }
}
