/**
 * Cluster: a workstation's connection to a Clouds/TS cluster — the typed client.
 *
 *   const cluster = await connect({ dir: ".clouds" });
 *   await cluster.load("objects/examples/rectangle.ts");
 *   const rect = await cluster.create<Rectangle>("Rectangle", "RectA");
 *   await rect.size(5, 10);
 *   console.log(await rect.area());    // 50
 *   await cluster.close();
 *
 * Names are resolved at the name server (paths as in the shell); each invocation and
 * creation goes to the compute server ComputePicker places it on (the hint, the server
 * where its working set is warm, or the lighter of two random live ones); one that cannot
 * be reached before the call left is avoided and the call placed again, transparently
 * (see Placer). Each decision is kept per thread (`placementLog`). Each call from here starts a new
 * thread whose id is minted on this workstation. Errors arrive as the named CloudsError
 * the server threw, with `server` and `remoteStack` (also through nested invocations: the
 * server is where it was first thrown).
 *
 * Object references: a Remote passed as an argument travels as `{ $ref: sysname }`; a
 * reference in a result comes back as a Remote. Output: lines a method prints
 * (`this.print`) in a thread started here arrive as `workstation.print` requests on the
 * connection the thread left by, and are emitted as "print" events (thread, text) — to
 * process.stdout when nobody listens.
 */
import * as path from "node:path";
import { EventEmitter } from "node:events";
import { LamportClock } from "../../ra-kernel/lamport-clock.js";
import { homeOf, newThreadId, type AtomicId, type ServerId, type SysName, type ThreadId } from "../../ra-kernel/ids.js";
import { NameExistsError } from "../../servers/name/errors.js";
import type { ObjectDescriptor } from "../../ra-kernel/object-descriptor.js";
import { compileClassFile } from "../../objects/class-compiler.js";
import { typeCheckClassFile } from "../../objects/class-type-check.js";
import { SocketIoTransport } from "../../servers/transport/socket-io-transport.js";
import { PeerCache } from "../../servers/transport/peer-cache.js";
import { ServerUnreachableError } from "../../servers/transport/errors.js";
import { ServerDirectory } from "../../servers/host/server-directory.js";
import { surveyServers, type ServerSurvey } from "../server-survey.js";
import { CLASSES_DIR, NameClient, type ServerInfo } from "../../servers/name/protocol.js";
import { normalizePath, type Binding } from "../../servers/name/name-directory.js";
import { DataClient, type ClassSummary, type LockInfo, type PageInfo, type SegmentSize } from "../../servers/data/protocol.js";
import { ComputeClient, type CachedPageInfo, type DecisionsReply } from "../../servers/compute/protocol.js";
import type { FrameInfo } from "../../servers/compute/thread-frames.js";
import type { TraceEvent } from "../../servers/host/thread-trace.js";
import { openPeer } from "../../servers/placement/placer.js";
import { afterField } from "../../servers/placement/unsettled-servers.js";
import type { PlacementRecord } from "../../servers/placement/decision-log.js";
import { DEFAULT_DIR, readCluster, readToken } from "../cluster-file.js";
import type { ConnectOptions } from "./connect-options.js";
import { ComputePicker } from "./compute-picker.js";
import type { ClientPlacementOptions } from "./connect-options.js";
import { checkDeadline, remoteRef, sysnameOfRemote, type RefOptions, type Remote } from "./remote.js";
import { decodeRefs, encodeArgs } from "../../objects/ref-codec.js";
import type { Peer, RequestHandler } from "../../servers/transport/transport.js";
import { UnknownMessageError } from "../../servers/transport/errors.js";
import { decodeComputeRequest } from "../../servers/compute/protocol.js";
import { NameUnboundError } from "./errors.js";
import { ThreadRecords, type ThreadRecord } from "./thread-records.js";
import type { FrameReport } from "../../servers/compute/frame-reports.js";

export { CLASSES_DIR };

export interface LoadResult {
  name: string;
  version: number;
  entries: number;
  created: boolean;
}

export interface LoadOptions {
  /** Type-check the file (and its imports) first; on errors throw CompileError, register nothing. @default false */
  check?: boolean;
}

export interface InvokeOptions {
  at?: string;
  /**
   * The thread is killed if it runs longer than this (ms), wherever it is then: the caller
   * gets DeadlineExceededError naming the frame it was in. Nested invocations inherit what is left.
   */
  deadlineMs?: number;
  /** Told the invocation's thread id as it starts (the shell kills it on Ctrl-C). */
  onThread?: (thread: string) => void;
}

/** What a kill found: the frames it stopped, per compute server that had any. */
export interface KillReport {
  thread: string;
  frames: { server: string; frames: number }[];
  /** Compute servers that could not be asked (their frames, if any, go on). */
  unreachable: { server: string; error: string }[];
}

/** One frame of a thread as a compute server runs it (`threads`), with where. */
export type ThreadFrame = FrameInfo & { server: string };

/** The DSM state of an object's pages: the home's directory and each compute server's cache. */
export interface PageReport {
  descriptor: ObjectDescriptor;
  epoch: number;
  pages: PageInfo[];
  locks: LockInfo[];
  /** Per compute server id: its cached pages of the object, or the error that kept us from asking. */
  cached: Map<string, CachedPageInfo[] | Error>;
}

export interface ClusterEvents {
  /** A line printed by a method of a thread started here. */
  print: [thread: string, text: string];
  /** Compute servers reported where threads of ours are (threadRecords changed). */
  frames: [threads: string[]];
}

export class Cluster extends EventEmitter<ClusterEvents> {
  private readonly picker: ComputePicker;
  /** The threads started here, where their frames are (reported by the compute servers). */
  private readonly records: ThreadRecords;

  private constructor(
    readonly dir: string,
    readonly workstation: string,
    private readonly peers: PeerCache,
    readonly servers: ServerDirectory,
    private readonly timeoutMs: number,
    onPrint?: (thread: string, text: string) => void,
    placement?: ClientPlacementOptions,
  ) {
    super();
    this.picker = new ComputePicker({ directory: servers, peers, workstation, options: placement });
    this.records = new ThreadRecords(workstation);
    if (onPrint) this.on("print", onPrint);
  }

  /** Answers what servers send back on our connections: thread output. */
  private readonly serve: RequestHandler = (kind, body) => {
    if (kind === "compute.load") {
      this.picker.onReport(body);
      return {};
    }
    if (kind === "workstation.frames") {
      const { reports } = decodeComputeRequest(kind, body) as { reports: FrameReport[] };
      this.records.apply(reports);
      this.emit("frames", [...new Set(reports.map((r) => r.thread))]);
      return {};
    }
    if (kind !== "workstation.print") throw new UnknownMessageError(`workstation: unknown message kind '${kind}'`, { kind });
    const req = decodeComputeRequest(kind, body) as { thread: string; text: string };
    if (this.listenerCount("print") === 0) process.stdout.write(`${req.text}\n`);
    else this.emit("print", req.thread, req.text);
    return { delivered: true };
  };

  static async connect(options: ConnectOptions = {}): Promise<Cluster> {
    const dir = options.clusterFile ? path.dirname(options.clusterFile) : (options.dir ?? DEFAULT_DIR);
    const info = readCluster(dir);
    const token = readToken(dir);
    const workstation = options.workstation ?? `ws-${process.pid}`;
    const transport = new SocketIoTransport(new LamportClock(), workstation);
    let cluster: Cluster | undefined;
    const handler: RequestHandler = (kind, body, ctx) => cluster!.serve(kind, body, ctx);
    const peers = new PeerCache(transport, { token, localId: workstation, handler });
    cluster = new Cluster(dir, workstation, peers, new ServerDirectory(peers, info.nameServer), options.timeoutMs ?? 30_000, options.onPrint, options.placement);
    await cluster.names();
    await cluster.picker.start();
    return cluster;
  }

  names(): Promise<NameClient> {
    return this.servers.names();
  }

  async lookup(name: string): Promise<Binding | null> {
    return (await this.names()).lookup(normalizePath(name));
  }

  /** The sysname bound to an object name, or NameUnboundError. */
  async resolve(name: string): Promise<SysName> {
    const b = await this.lookup(name);
    if (!b || !b.sysname || b.kind !== "object") {
      const p = normalizePath(name);
      throw new NameUnboundError(b ? `${p} is a ${b.kind}, not an object` : `no object named ${p}`, { path: p });
    }
    return b.sysname;
  }

  /** A reference to the object bound to `name`; `deadlineMs`: its invocations are killed after that long. */
  async bind<T>(name: string, options: RefOptions = {}): Promise<Remote<T>> {
    return this.ref<T>(await this.resolve(name), options);
  }

  ref<T>(sysname: SysName, options: RefOptions = {}): Remote<T> {
    if (options.deadlineMs !== undefined) checkDeadline(options.deadlineMs);
    return remoteRef<T>(sysname, (s, entry, args, o) => this.invoke(s, entry, args, o), options);
  }

  /** Compiles a class file and registers each of its classes (a changed class gets a new version). */
  async load(file: string, options: LoadOptions = {}): Promise<LoadResult[]> {
    if (options.check) await typeCheckClassFile(file);
    const compiled = await compileClassFile(file);
    const data = await this.dataServer();
    const names = await this.names();
    const out: LoadResult[] = [];
    for (const c of compiled) {
      const reply = await data.call("data.class.register", { name: c.name, code: c.code, entries: c.entries, sourceFile: c.sourceFile, sourceHash: c.sourceHash });
      const entries = c.entries.filter((e) => !e.ctor);
      const meta = { version: reply.class.version, home: data.peer.remoteId, entries: entries.map((e) => e.name) };
      await names.bind(`${CLASSES_DIR}/${c.name}`, reply.class.sysname, "class", { meta, replace: true });
      out.push({ name: c.name, version: reply.class.version, entries: entries.length, created: reply.created });
    }
    return out;
  }

  /** Creates an object of a registered class, runs its constructor and binds `name` to it. */
  async create<T>(className: string, name: string, args: unknown[] = [], options: InvokeOptions = {}): Promise<Remote<T>> {
    const desc = await this.createObject(className, name, args, options);
    return this.ref<T>(desc.sysname);
  }

  async createObject(className: string, name: string, args: unknown[] = [], options: InvokeOptions = {}): Promise<ObjectDescriptor> {
    const target = normalizePath(name);
    const names = await this.names();
    const existing = await names.lookup(target);
    if (existing) throw new NameExistsError(`${target} is already bound (rm it first)`, { path: target });
    const thread = newThreadId(this.workstation);
    const placed = { thread, depth: 0, entry: "constructor", hint: options.at as ServerId | undefined };
    this.records.started(thread, { object: `new ${className}`, entry: "constructor" });
    const descriptor = await this.picker.run(placed, async (server, address, _decision, after) => {
      this.records.placed(thread, server);
      const compute = await this.computeClient(server, address);
      // References travel as references ({ $ref }), as an invocation's arguments do.
      const reply = await compute.call("compute.create", { className, args: encodeArgs(args, sysnameOfRemote), thread, ...afterField(after) }, { timeoutMs: this.timeoutMs });
      if (reply.load) this.picker.table.noteReply(reply.server as ServerId, address, reply.load, reply.warm === undefined ? undefined : { object: reply.descriptor.sysname, pages: reply.warm });
      return reply.descriptor;
    }).finally(() => this.records.ended(thread));
    try {
      await names.bind(target, descriptor.sysname, "object", { meta: { className: descriptor.className } });
    } catch (err) {
      await this.deleteObject(descriptor.sysname).catch(() => undefined);
      throw err;
    }
    return descriptor;
  }

  /**
   * Invokes an entry on an object (by sysname); Remotes in `args` travel as references. An
   * error it throws carries `threadId`: the invocation's thread — for an atomic entry, the id
   * `outcome` takes.
   */
  async invoke(target: SysName, entry: string, args: unknown[], options: InvokeOptions = {}): Promise<unknown> {
    const wireArgs = encodeArgs(args, sysnameOfRemote);
    const thread = newThreadId(this.workstation);
    options.onThread?.(thread);
    const deadline = options.deadlineMs === undefined ? {} : { deadline: Date.now() + checkDeadline(options.deadlineMs) };
    const placed = { thread, depth: 0, object: target, entry, hint: options.at as ServerId | undefined };
    let reply;
    this.records.started(thread, { object: target, entry });
    try {
      reply = await this.picker.run(placed, async (server, address, _decision, after) => {
        this.records.placed(thread, server);
        const compute = await this.computeClient(server, address);
        const r = await compute.call("compute.invoke", { thread, depth: 0, target, entry, args: wireArgs, ...deadline, ...afterField(after) }, { timeoutMs: this.timeoutMs });
        this.picker.table.noteReply(r.server as ServerId, address, r.load, r.warm === undefined ? undefined : { object: target, pages: r.warm });
        return r;
      });
    } catch (err) {
      if (typeof err === "object" && err !== null && !("threadId" in err)) Object.defineProperty(err, "threadId", { value: thread, enumerable: false });
      throw err;
    } finally {
      this.records.ended(thread);
    }
    return decodeRefs(reply.value, (sysname) => this.ref(sysname));
  }

  /**
   * The object's persistent fields, decoded (`inspect NAME`): containers `depth` levels down
   * (default 3), at most `maxItems` items of each (default 100, the rest counted), references
   * as Remotes. Runs none of the class's code and writes nothing; it reads the pages as an
   * entry would, on the compute server placement picks (where the object is warm).
   */
  async inspect(target: SysName, options: { depth?: number; maxItems?: number } = {}): Promise<{ className: string; classVersion: number; fields: Record<string, unknown>; server: string }> {
    const thread = newThreadId(this.workstation);
    const placed = { thread, depth: 0, object: target, entry: "inspect", hint: undefined };
    const reply = await this.picker.run(placed, async (server, address) => {
      const compute = await this.computeClient(server, address);
      return compute.call("compute.inspect", { object: target, thread, ...options }, { timeoutMs: this.timeoutMs });
    });
    return { ...reply, fields: decodeRefs(reply.fields, (sysname) => this.ref(sysname)) as Record<string, unknown> };
  }

  /**
   * Whether the atomic thread `id` (an atomic entry's invocation: its error's `threadId`)
   * committed — for a failure that left it unknown (its compute server died after sending
   * it). Asks every data server; if none stored its commit, each stores a presumed abort,
   * which refuses the thread's commit wherever it still arrives: the answer is final. A thread
   * that wrote nothing had nothing to commit: "aborted". Throws if a data server cannot answer.
   */
  async outcome(id: string): Promise<"committed" | "aborted"> {
    const homes = await Promise.all((await this.servers.list("data")).map(async (d) => new DataClient(await this.peers.get(d.address))));
    const ask = (c: DataClient) => c.call("data.atomic.outcome", { id: id as AtomicId }, { timeoutMs: this.timeoutMs });
    if ((await Promise.all(homes.map(ask))).some((r) => r.decision?.outcome === "commit")) return "committed";
    const forced = await Promise.all(homes.map((c) => c.call("data.atomic.decide", { id: id as AtomicId, outcome: "abort" }, { timeoutMs: this.timeoutMs })));
    if (forced.some((d) => d.outcome === "commit")) return "committed";
    // Nothing can commit under this id any more: the aborts may be forgotten after their retention.
    await Promise.all(homes.map((c) => c.call("data.atomic.acknowledge", { id: id as AtomicId }, { timeoutMs: this.timeoutMs }).catch(() => undefined)));
    return "aborted";
  }

  /**
   * Placement decisions taken on this workstation: one thread's, or the latest `limit`
   * across threads (newest last). Nested invocations are placed by the compute servers: ask
   * them with `serverDecisions`.
   */
  placementLog(thread?: string, limit = 100): PlacementRecord[] {
    return thread === undefined ? this.picker.decisions.recent(limit) : this.picker.decisions.of(thread);
  }

  /** The placement decisions compute server `server` took (nested invocations): one thread's, or its latest. */
  async serverDecisions(server: string, thread?: string): Promise<DecisionsReply> {
    const address = this.picker.table.addressOf(server as ServerId) ?? (await this.servers.address(server as ServerId));
    return new ComputeClient(await this.peers.get(address)).call("compute.decisions", thread === undefined ? {} : { thread }, { timeoutMs: this.timeoutMs });
  }

  /** What this workstation knows of the compute servers (placement's view; ages in ms). */
  placementView(): ReturnType<ComputePicker["table"]["snapshot"]> {
    return this.picker.table.snapshot();
  }

  async describe(sysname: SysName): Promise<ObjectDescriptor | null> {
    return (await this.dataClient(homeOf(sysname))).call("data.object.get", { sysname });
  }

  /** Each of the object's segments at its home: pages it may have, pages stored, bytes stored. */
  async segmentSizes(d: ObjectDescriptor): Promise<SegmentSize[]> {
    return (await this.dataClient(d.home)).call("data.segment.sizes", { segments: [d.segments.data, d.segments.heap, d.segments.volatile] });
  }

  async deleteObject(sysname: SysName): Promise<boolean> {
    return (await (await this.dataClient(homeOf(sysname))).call("data.object.delete", { sysname })).removed;
  }

  async classInfo(name: string): Promise<ClassSummary | null> {
    const cls = await (await this.dataServer()).call("data.class.get", { name });
    if (!cls) return null;
    const { code: _code, ...summary } = cls;
    return summary;
  }

  /** The object's locks as its home arbitrates them (holders, atomic threads among them, and waiters). */
  async locks(sysname: SysName): Promise<LockInfo[]> {
    return (await this.dataClient(homeOf(sysname))).call("data.lock.list", { object: sysname });
  }

  /**
   * Kills a thread wherever it runs: every compute server stops its frames there (their
   * workers terminated and replaced) and refuses its frames for a while; each stopped frame
   * fails with ThreadKilledError, and the thread's caller gets one. Its uncommitted writes
   * are discarded as a crash's would be, its locks given back (DESIGN §7a).
   */
  async kill(thread: string): Promise<KillReport> {
    const report: KillReport = { thread, frames: [], unreachable: [] };
    await this.eachCompute(async (c) => {
      const r = await c.call("compute.thread.kill", { thread: thread as ThreadId }, { timeoutMs: this.timeoutMs });
      if (r.frames > 0) report.frames.push({ server: r.server, frames: r.frames });
    }, report.unreachable);
    return report;
  }

  /**
   * The threads started here and running now, from this workstation's own records (no
   * message): each one's chain of frames, as the compute servers reported it, and what it
   * does. A frame shows up once it ran REPORT_EVERY_MS (50 ms); shorter ones are not reported.
   */
  threadRecords(): ThreadRecord[] {
    return this.records.list();
  }

  /** Every frame running on every compute server (of `thread` only, if given), oldest first. */
  async threads(thread?: string): Promise<{ frames: ThreadFrame[]; unreachable: { server: string; error: string }[] }> {
    const frames: ThreadFrame[] = [];
    const unreachable: { server: string; error: string }[] = [];
    await this.eachCompute(async (c, server) => {
      const r = await c.call("compute.threads", thread === undefined ? {} : { thread: thread as ThreadId }, { timeoutMs: this.timeoutMs });
      for (const f of r.frames) frames.push({ ...f, server: r.server ?? server });
    }, unreachable);
    return { frames: frames.sort((a, b) => a.since - b.since || a.depth - b.depth), unreachable };
  }

  /**
   * What the thread did on every server (compute servers: invocations, frames, nested
   * invocations, lock waits, page faults, commits, prints, errors, copies taken back for its
   * faults; data servers: the faults they served it, the recalls and invalidations those cost,
   * lock waits), merged in Lamport-clock order — an order consistent with causality. `dropped`: events each server's bounded ring let go (its oldest).
   */
  async trace(thread: string): Promise<{ events: TraceEvent[]; dropped: { server: string; events: number }[]; unreachable: { server: string; error: string }[] }> {
    const events: TraceEvent[] = [];
    const dropped: { server: string; events: number }[] = [];
    const unreachable: { server: string; error: string }[] = [];
    const kept = (r: { server: string; events: TraceEvent[]; dropped: number }) => {
      events.push(...r.events);
      if (r.dropped > 0) dropped.push({ server: r.server, events: r.dropped });
    };
    await Promise.all([
      this.eachCompute(async (c) => kept(await c.call("compute.trace", { thread: thread as ThreadId }, { timeoutMs: this.timeoutMs })), unreachable),
      this.eachData(async (d) => kept(await d.call("data.trace", { thread: thread as ThreadId }, { timeoutMs: this.timeoutMs })), unreachable),
    ]);
    return { events: events.sort((a, b) => a.clock - b.clock || a.server.localeCompare(b.server)), dropped, unreachable };
  }

  /** Runs `fn` with every registered data server; one that fails is noted, the others go on. */
  private eachData(fn: (c: DataClient, server: string) => Promise<void>, unreachable: { server: string; error: string }[]): Promise<void> {
    return this.eachOf("data", (peer, id) => fn(new DataClient(peer), id), unreachable);
  }

  /** Runs `fn` with every registered compute server; one that fails is noted, the others go on. */
  private eachCompute(fn: (c: ComputeClient, server: string) => Promise<void>, unreachable: { server: string; error: string }[]): Promise<void> {
    return this.eachOf("compute", (peer, id) => fn(new ComputeClient(peer), id), unreachable);
  }

  private async eachOf(role: "data" | "compute", fn: (peer: Peer, server: string) => Promise<void>, unreachable: { server: string; error: string }[]): Promise<void> {
    await Promise.all((await this.servers.list(role)).map(async (s) => {
      try {
        await fn(await this.peers.get(s.address), s.id);
      } catch (err) {
        unreachable.push({ server: s.id, error: (err as Error).message });
      }
    }));
  }

  /** Asks the object's home for its directory and every compute server for its copies. */
  async pageReport(sysname: SysName): Promise<PageReport | null> {
    const home = await this.dataClient(homeOf(sysname));
    const descriptor = await home.call("data.object.get", { sysname });
    if (!descriptor) return null;
    const segments = [descriptor.segments.data, descriptor.segments.heap, descriptor.segments.volatile];
    const [{ epoch, pages }, locks, computes] = await Promise.all([
      home.call("data.pages", { segments }),
      home.call("data.lock.list", { object: sysname }),
      this.servers.list("compute"),
    ]);
    const cached = new Map<string, CachedPageInfo[] | Error>();
    await Promise.all(computes.map(async (cs) => {
      try {
        cached.set(cs.id, await new ComputeClient(await this.peers.get(cs.address)).call("compute.pages", { segments }, { timeoutMs: 5000 }));
      } catch (err) {
        cached.set(cs.id, err as Error);
      }
    }));
    return { descriptor, epoch, pages, locks, cached };
  }

  async serverList(): Promise<ServerInfo[]> {
    return this.servers.list();
  }

  /** Every registered server with its health and load (the shell's `servers`). */
  survey(): Promise<ServerSurvey> {
    return surveyServers(this.servers, (address) => this.peers.get(address));
  }

  async close(): Promise<void> {
    this.picker.close();
    await this.peers.close();
  }

  /** The connection to a placed compute server (NotDeliveredError if none), subscribed to its reports. */
  private async computeClient(server: ServerId, address: string): Promise<ComputeClient> {
    const peer = await openPeer(this.peers, server, address);
    this.picker.subscribe(server, peer);
    return new ComputeClient(peer);
  }

  /** The data server that registers classes: the first one by id. */
  private async dataServer(): Promise<DataClient> {
    const data = (await this.servers.list("data")).sort((a, b) => a.id.localeCompare(b.id));
    if (data.length === 0) throw new ServerUnreachableError("no data server is registered", { peer: "data", address: "" });
    return new DataClient(await this.peers.get(data[0].address));
  }

  private async dataClient(id: ServerId): Promise<DataClient> {
    return new DataClient(await this.peers.get(await this.servers.address(id)));
  }
}

/** Connects to the cluster described by `.clouds/cluster.json` (or the given dir/file). */
export function connect(options: ConnectOptions = {}): Promise<Cluster> {
  return Cluster.connect(options);
}
