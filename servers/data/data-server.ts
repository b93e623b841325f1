/**
 * DataServer: the data server role — segments, pages, descriptors and class code, and the
 * home/directory of its segments' pages.
 *
 * It answers the messages of protocol.ts through `handler` (one switch) and keeps a
 * PageDirectory of which compute servers hold copies of which pages. A write-back
 * (`data.page.commit`) first makes every other holder invalidate its copies
 * (`compute.invalidate`), then commits all its pages atomically (group commit in the store),
 * then replies: when the reply leaves, the pages are durable and no other compute server
 * can serve the old bytes. Reads and commits of one page are serialized (PageLocks).
 *
 * It owns no sockets: the process host (servers/host) wires `handler` to a transport and
 * calls `attach` for each new peer.
 */
import createDebug from "debug";
import { newSysName, type ServerId, type SysName } from "../../ra-kernel/ids.js";
import { SEGMENT_MAX_PAGES } from "../../ra-kernel/segment.js";
import type { ClassSegment, ObjectDescriptor } from "../../ra-kernel/object-descriptor.js";
import type { Peer, RequestContext } from "../transport/transport.js";
import { decodeDataRequest, type DataReplies, type DataRequest, type DataStatus, type PageWriteMsg } from "./protocol.js";
import { PageDirectory, pageKey, type PageRef } from "./page-directory.js";
import { PageLocks } from "./page-locks.js";
import type { SegmentRecord, SegmentStore } from "./segment-store.js";

const log = createDebug("servers:data");

/** How long a holder may take to acknowledge an invalidation before it is dropped. */
const INVALIDATE_TIMEOUT_MS = 5000;

export class DataServer {
  readonly directory = new PageDirectory();
  private readonly locks = new PageLocks();
  private readonly peers = new Map<string, Peer>();

  constructor(
    private readonly store: SegmentStore,
    readonly serverId: ServerId,
  ) {}

  /** Tracks a connected peer so the directory can call it back and forget it when it goes. */
  attach(peer: Peer): void {
    this.peers.set(peer.remoteId, peer);
    peer.onClose(() => {
      if (this.peers.get(peer.remoteId) !== peer) return;
      this.peers.delete(peer.remoteId);
      this.directory.dropHolder(peer.remoteId);
    });
  }

  readonly handler = async (kind: string, body: unknown, ctx: RequestContext): Promise<unknown> => {
    const req = decodeDataRequest(kind, body);
    return this.handle(req, ctx.peer);
  };

  private async handle(req: DataRequest, peer: Peer): Promise<DataReplies[keyof DataReplies]> {
    switch (req.kind) {
      case "data.hello": return { serverId: this.serverId, epoch: this.store.epoch };
      case "data.page.read": return this.readPage(req.segment, req.page, peer.remoteId);
      case "data.page.commit": return this.commit(req.pages, peer.remoteId);
      case "data.object.create": return this.createObject(req.className, req.classVersion);
      case "data.object.get": return this.store.getObject(req.sysname);
      case "data.object.delete": return this.deleteObject(req.sysname);
      case "data.object.list": return this.store.listObjects();
      case "data.class.register": return this.registerClass(req);
      case "data.class.get": return this.store.getClass(req.name, req.version);
      case "data.class.list": return this.store.listClasses().map(summary);
      case "data.status": return this.statusNow();
    }
  }

  private readPage(segment: SysName, page: number, holder: string): Promise<DataReplies["data.page.read"]> {
    return this.locks.withPages([pageKey(segment, page)], () => {
      const stored = this.store.readPage(segment, page);
      this.directory.addHolder({ segment, page }, holder);
      return { bytes: stored.bytes, version: stored.version, epoch: this.store.epoch };
    });
  }

  private commit(pages: PageWriteMsg[], writer: string): Promise<DataReplies["data.page.commit"]> {
    const keys = pages.map((p) => pageKey(p.segment, p.page));
    return this.locks.withPages(keys, async () => {
      await this.invalidateOthers(pages, writer);
      const versions = await this.store.commitPages(pages);
      for (const p of pages) this.directory.setSoleHolder(p, writer);
      return { versions, epoch: this.store.epoch };
    });
  }

  /** Tells every other holder to drop its copies; a holder that does not answer is dropped. */
  private async invalidateOthers(pages: PageRef[], writer: string): Promise<void> {
    const others = this.directory.otherHolders(pages, writer);
    await Promise.all(
      [...others].map(async ([holder, refs]) => {
        const peer = this.peers.get(holder);
        try {
          if (!peer) throw new Error("not connected");
          await peer.request("compute.invalidate", { pages: refs, epoch: this.store.epoch }, { timeoutMs: INVALIDATE_TIMEOUT_MS });
        } catch (err) {
          // Only a holder that cannot answer is forgotten everywhere (its cache is unreachable).
          log("holder %s did not invalidate (%s): dropping it from the directory", holder, (err as Error).message);
          this.directory.dropHolder(holder);
        }
      }),
    );
  }

  /**
   * Records a new object and allocates its segments. The class is resolved by the caller
   * (the compute server, through the name server): it may be stored at another data server.
   */
  private async createObject(className: string, classVersion: number): Promise<ObjectDescriptor> {
    const sysname = newSysName(this.serverId);
    const seg = (role: "data" | "heap" | "volatile"): SegmentRecord => ({
      sysname: newSysName(this.serverId), object: sysname, role, maxPages: SEGMENT_MAX_PAGES[role], createdAt: Date.now(),
    });
    const segments = [seg("data"), seg("heap"), seg("volatile")];
    const desc: ObjectDescriptor = {
      sysname, className, classVersion, home: this.serverId,
      segments: { data: segments[0].sysname, heap: segments[1].sysname, volatile: segments[2].sysname }, createdAt: Date.now(),
    };
    await this.store.createObject(desc, segments);
    log("created %s (%s@%d)", sysname, className, classVersion);
    return desc;
  }

  private async deleteObject(sysname: SysName): Promise<{ removed: boolean }> {
    const desc = this.store.getObject(sysname);
    const removed = await this.store.deleteObject(sysname);
    if (desc) for (const s of Object.values(desc.segments)) this.directory.forgetSegment(s);
    return { removed };
  }

  private async registerClass(req: Extract<DataRequest, { kind: "data.class.register" }>): Promise<DataReplies["data.class.register"]> {
    const latest = this.store.getClass(req.name);
    if (latest && latest.sourceHash === req.sourceHash) return { class: summary(latest), created: false };
    const rec: ClassSegment = {
      name: req.name, version: (latest?.version ?? 0) + 1, sysname: newSysName(this.serverId), code: req.code,
      entries: req.entries, sourceFile: req.sourceFile, sourceHash: req.sourceHash, registeredAt: Date.now(),
    };
    await this.store.putClass(rec);
    log("registered class %s@%d", rec.name, rec.version);
    return { class: summary(rec), created: true };
  }

  statusNow(): DataStatus {
    return {
      serverId: this.serverId, epoch: this.store.epoch, objects: this.store.listObjects().length,
      classes: this.store.listClasses().length, directoryPages: this.directory.size,
      commits: this.store.stats.commitCalls, transactions: this.store.stats.transactions,
    };
  }
}

function summary(rec: ClassSegment): Omit<ClassSegment, "code"> {
  const { code: _code, ...rest } = rec;
  return rest;
}
