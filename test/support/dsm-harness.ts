/**
 * DsmHarness: both sides of the DSM, for protocol tests — a REAL data server (DataServer,
 * with its PageHome over an InMemorySegmentStore) and REAL DsmClients, one per simulated
 * compute server, each with its own InMemoryTransport on one InMemoryBus, as processes.
 *
 *   const h = await DsmHarness.start();
 *   const [a, b] = [await h.node("cs1"), await h.node("cs2")];
 *   const seg = await h.newSegment(a);
 *   await a.write(seg, 0, pageOf(1));          // write fault, then the bytes, as an isiba
 *   expect((await b.read(seg, 0))[0]).to.equal(1);   // the home recalls them from a
 *   await h.close();                           // from afterEach
 *
 * A node's DsmClient reaches the home through data.page.fault / data.page.commit over its
 * connection, and answers the home's compute.recall on the same connection (decoded by the
 * compute protocol), exactly as a ComputeServer does; every recall it answered is in
 * `recalls`. When its connection closes it drops the home's pages, as DataHomes does. It
 * renews its lease every leaseMs / 8 (data.lease.renew; a new term drops the home's pages,
 * as HomeLeases does) until it disconnects or `stopRenewing()` (a partition, seen from the
 * home: the home's lease watch takes its pages back once the lease has run out).
 * Messages go through the in-memory transport (structured clones, delivered on later turns),
 * so grants, recalls and commits interleave as they do over sockets.
 *
 * `read` / `write` / `update` act as an isiba would: fault, then touch the frame only if its
 * state (checked synchronously, with no await between the check and the access) allows it,
 * else fault again. No isiba runs here, so every page is quiesced when the kernel lowers it.
 * Writes are logged as the MMU logs them (DESIGN §7a): each `update` is one write, stamped
 * one above the page's stamp, and the words it changed go into the node's current commit
 * segment (a WriteLog begun by `begin()` or by the first write after the last `commit()`);
 * `commit()` commits that segment, as an invocation's return does. Faults carry the
 * segment's start mark, as an isiba's do (fencing).
 */
import { DsmClient } from "../../ra-kernel/dsm-client.js";
import { deferred } from "./deferred.js";
import type { HomeLink, RecallReply, RecallRequest } from "../../ra-kernel/home-link.js";
import { asServerId, PAGE_SIZE, type PageNo, type ServerId, type SysName } from "../../ra-kernel/ids.js";
import { WORD_SIZE } from "../../ra-kernel/page-log.js";
import { WriteLog } from "../../ra-kernel/write-log.js";
import { LamportClock } from "../../ra-kernel/lamport-clock.js";
import type { ObjectDescriptor } from "../../ra-kernel/object-descriptor.js";
import { PageState } from "../../ra-kernel/page-state.js";
import { Segment } from "../../ra-kernel/segment.js";
import { recordAt, W_WRITERS, type SegmentFrames } from "../../ra-kernel/segment-frames.js";
import { decodeComputeRequest } from "../../servers/compute/protocol.js";
import { DataServer } from "../../servers/data/data-server.js";
import type { PageHome } from "../../servers/data/page-home.js";
import { InMemorySegmentStore } from "../../servers/data/in-memory-segment-store.js";
import { DataClient } from "../../servers/data/protocol.js";
import { InMemoryBus, InMemoryTransport } from "../../servers/transport/in-memory-transport.js";
import type { Peer, TransportServer } from "../../servers/transport/transport.js";

const TOKEN = "dsm-harness-token";

export interface DsmHarnessOptions {
  /** The data server's id (the home named in the segments' sysnames). @default "ds1" */
  dataServer?: string;
  /** The home's lease length for holders (ms). @default the HolderLeases default */
  leaseMs?: number;
}

/** One simulated compute server: a DsmClient and its connection to the data server. */
export class DsmNode {
  readonly dsm: DsmClient;
  readonly data: DataClient;
  /** Every recall this node answered, with its answer, in order. */
  readonly recalls: ({ req: RecallRequest } & RecallReply)[] = [];
  private recallWaiters: Array<() => void> = [];
  /** The commit segment in progress here (null: none; the next write begins one). */
  private current: WriteLog | null = null;
  private readonly renewals: NodeJS.Timeout;

  constructor(readonly id: string, readonly peer: Peer, readonly home: ServerId, leaseMs: number) {
    this.data = new DataClient(peer);
    const link: HomeLink = {
      fault: (_home, segment, page, mode, have) => this.data.call("data.page.fault", { segment, page, mode, have }),
      commit: (_home, req) => this.data.call("data.page.commit", req),
      release: (_home, req) => this.data.call("data.page.release", req),
      drop: (_home, req) => this.data.call("data.page.drop", req),
    };
    this.dsm = new DsmClient(link);
    // As DataHomes does: a closed connection means the home can no longer recall our pages.
    peer.onClose(() => {
      this.stopRenewing();
      this.dsm.dropHome(home, "the connection to it closed");
    });
    this.renewals = setInterval(() => void this.renew(), leaseMs / 8);
    this.renewals.unref();
    peer.setHandler(async (kind, body) => {
      const req = decodeComputeRequest(kind, body);
      if (req.kind !== "compute.recall") throw new Error(`${id}: the harness answers only compute.recall, not ${kind}`);
      const answer = await this.dsm.recall(req);
      this.recalls.push({ req, ...answer });
      for (const wake of this.recallWaiters.splice(0)) wake();
      return answer;
    });
  }

  /** Resolves with the first recall of `action` this node answered (now or later). */
  recalled(action: RecallRequest["action"]): Promise<{ req: RecallRequest } & RecallReply> {
    return new Promise((resolve) => {
      const check = (): void => {
        const r = this.recalls.find((x) => x.req.action === action);
        if (r) resolve(r);
        else this.recallWaiters.push(check);
      };
      check();
    });
  }

  /** Stops renewing the lease (the home stops hearing from this node; it may still answer recalls). */
  stopRenewing(): void {
    clearInterval(this.renewals);
  }

  private async renew(): Promise<void> {
    try {
      const r = await this.data.call("data.lease.renew", {});
      this.dsm.noteEpoch(this.home, r.epoch);
      this.dsm.noteTerm(this.home, r.term);
    } catch {
      // refused (suspect) or disconnected: the lease runs out
    }
  }

  /** The frames of a data segment here (mapped on first use). */
  frames(segment: SysName): SegmentFrames {
    return this.dsm.framesOf(new Segment(segment, "data"));
  }

  state(segment: SysName, page: PageNo): number {
    return this.frames(segment).state(page);
  }

  /** Reads a page as an isiba would: a copy of its bytes, taken while it is at least READ. */
  async read(segment: SysName, page: PageNo): Promise<Uint8Array> {
    const frames = this.frames(segment);
    for (;;) {
      if (frames.state(page) >= PageState.READ) return frames.copyPage(page);
      await this.fault(segment, page, "read");
    }
  }

  /** Replaces a page's bytes as an isiba would: only while the page is WRITE here. */
  write(segment: SysName, page: PageNo, bytes: Uint8Array): Promise<void> {
    return this.update(segment, page, () => bytes);
  }

  /**
   * Read-modify-write of a page as one isiba access: `change` sees the bytes it replaces; the
   * words it changed are logged in the current commit segment under one new stamp.
   */
  async update(segment: SysName, page: PageNo, change: (old: Uint8Array) => Uint8Array): Promise<void> {
    const frames = this.frames(segment);
    this.begin();
    for (;;) {
      if (frames.state(page) === PageState.WRITE) {
        const old = frames.copyPage(page);
        const next = change(old.slice());
        frames.install(page, next, PageState.WRITE);
        this.log(frames, segment, page, old, next);
        return;
      }
      await this.fault(segment, page, "write");
    }
  }

  /** Writes the 32-bit word at byte `offset` of a page (one isiba write). */
  writeU32(segment: SysName, page: PageNo, offset: number, value: number): Promise<void> {
    return this.update(segment, page, (old) => {
      new DataView(old.buffer, old.byteOffset).setUint32(offset, value, true);
      return old;
    });
  }

  /** Begins a commit segment here now (its start mark is the DsmClient's dropMark now). */
  begin(): void {
    this.current ??= new WriteLog(this.dsm.dropMark);
  }

  /** Whether a commit segment is in progress here. */
  get inSegment(): boolean {
    return this.current !== null;
  }

  /** Commits the current segment, as an invocation's return does (nothing to do if none). */
  commit(): Promise<void> {
    const segment = this.current;
    this.current = null;
    if (!segment) return Promise.resolve();
    return this.dsm.commit(segment.take(), segment.since);
  }

  /** A fault as an isiba takes it: carrying its segment's start mark (fencing). */
  private fault(segment: SysName, page: PageNo, mode: "read" | "write"): Promise<void> {
    return this.dsm.fault(segment, page, mode, this.current?.since);
  }

  /** Logs the words of a page that one write changed, as the MMU does. */
  private log(frames: SegmentFrames, segment: SysName, page: PageNo, old: Uint8Array, next: Uint8Array): void {
    const changed: number[] = [];
    for (let at = 0; at < PAGE_SIZE; at += WORD_SIZE) {
      if (old[at] !== next[at] || old[at + 1] !== next[at + 1] || old[at + 2] !== next[at + 2] || old[at + 3] !== next[at + 3]) changed.push(at);
    }
    if (changed.length === 0) return;
    const stamp = frames.stamp(page) + 1;
    frames.raiseStamp(page, stamp);
    const pageLog = this.current!.pageLog(segment, page, frames.records(), recordAt(page, W_WRITERS));
    for (const at of changed) pageLog.record(next, 0, at, at + WORD_SIZE, stamp);
  }

  /** Closes this node's connection (as a crash of its process would, seen from the home). */
  disconnect(): Promise<void> {
    return this.peer.close();
  }
}

export class DsmHarness {
  readonly nodes: DsmNode[] = [];

  private constructor(
    readonly bus: InMemoryBus,
    readonly store: InMemorySegmentStore,
    readonly server: DataServer,
    readonly listening: TransportServer,
    readonly serverId: ServerId,
  ) {}

  static async start(options: DsmHarnessOptions = {}): Promise<DsmHarness> {
    const serverId = asServerId(options.dataServer ?? "ds1");
    const store = new InMemorySegmentStore({ serverId });
    const server = new DataServer(store, serverId, options.leaseMs === undefined ? {} : { leaseMs: options.leaseMs });
    const bus = new InMemoryBus();
    const transport = new InMemoryTransport(bus, new LamportClock(), serverId);
    const listening = await transport.listen({ host: serverId, port: 0, token: TOKEN }, server.handler);
    listening.onPeer((peer) => server.attach(peer));
    return new DsmHarness(bus, store, server, listening, serverId);
  }

  get home(): PageHome {
    return this.server.home;
  }

  /** A new compute server connected to the data server. */
  async node(id: string): Promise<DsmNode> {
    const transport = new InMemoryTransport(this.bus, new LamportClock(), id);
    const peer = await transport.connect(this.listening.address, { token: TOKEN, localId: id });
    const node = new DsmNode(id, peer, this.serverId, this.home.leases.leaseMs);
    this.nodes.push(node);
    return node;
  }

  /** Creates an object at the data server (through `via`) and returns its data segment. */
  async newSegment(via: DsmNode): Promise<SysName> {
    const d: ObjectDescriptor = await via.data.call("data.object.create", { className: "Probe", classVersion: 1 });
    return d.segments.data;
  }

  /** Resolves when the home has taken everything of `holder` back (its connection closed, its lease ran out). */
  dropped(holder: string): Promise<void> {
    const done = deferred<void>();
    const real = this.home.dropHolder.bind(this.home);
    this.home.dropHolder = (x) => {
      real(x);
      if (x === holder) done.resolve();
    };
    return done.promise;
  }

  /** The bytes committed to the store for a page (zeros if never written). */
  stored(segment: SysName, page: PageNo): Uint8Array {
    return this.store.readPage(segment, page).bytes ?? new Uint8Array(PAGE_SIZE);
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.nodes.map((n) => n.disconnect()));
    this.server.close();
    await this.listening.close();
    await this.store.close();
  }
}
