/**
 * DataHomes: the compute server's link to the data servers — the HomeLink of its DsmClient
 * and the ObjectSource of its UserObjectManager — over the data protocol.
 *
 * Connections are opened on demand (PeerCache) to addresses found in the name server's
 * registry. When the connection to a home closes, every page cached from it is dropped (the
 * home can no longer recall them), and so are they when our lease with it runs out or is
 * revoked (HomeLeases, renewed here with every connected home).
 */
import createDebug from "debug";
import type { AtomicId, PageNo, ServerId, SysName, ThreadId } from "../../ra-kernel/ids.js";
import { homeOf } from "../../ra-kernel/ids.js";
import type { AccessMode } from "../../ra-kernel/page-state.js";
import type { DsmClient } from "../../ra-kernel/dsm-client.js";
import { MAX_FAULT_THREADS, type CommitReply, type CommitRequest, type DecisionReply, type DropRequest, type LockRelease, type PrepareReply, type PrepareRequest, type ReleaseRequest, type Grant, type HomeLink } from "../../ra-kernel/home-link.js";
import type { ClassSegment, ObjectDescriptor } from "../../ra-kernel/object-descriptor.js";
import type { ObjectSource } from "../../ra-kernel/user-object-manager.js";
import type { ServerDirectory } from "../host/server-directory.js";
import type { PeerCache } from "../transport/peer-cache.js";
import type { Peer } from "../transport/transport.js";
import { DataClient } from "../data/protocol.js";
import { ClassNotFoundError } from "../data/errors.js";
import { CLASSES_DIR } from "../name/protocol.js";
import { UnknownObjectError } from "./errors.js";
import { ServerUnreachableError } from "../transport/errors.js";
import { HomeLeases } from "./home-leases.js";

const log = createDebug("servers:compute:homes");

/** How long a home may take to settle a lost server: its lease, a revert, with room to spare (ms). */
const SETTLE_TIMEOUT_MS = 30_000;

export class DataHomes implements HomeLink, ObjectSource {
  private dsm: DsmClient | null = null;
  private readonly watched = new WeakSet<Peer>();
  private readonly known = new Set<ServerId>();
  readonly leases = new HomeLeases({
    homes: () => [...this.known],
    renew: async (home) => {
      const r = await (await this.client(home)).call("data.lease.renew", {});
      this.dsm?.noteEpoch(home, r.epoch);
      this.dsm?.noteTerm(home, r.term);
      return r;
    },
    expired: (home, why) => this.dsm?.dropHome(home, why),
  });

  constructor(
    private readonly peers: PeerCache,
    private readonly servers: ServerDirectory,
  ) {}

  /** Our lease term with `home` as last told (undefined: not known yet). */
  term(home: ServerId): number | undefined {
    return this.dsm?.termOf(home);
  }

  /** The DSM client to tell when a home's connection closes or a lease runs out. */
  bindDsm(dsm: DsmClient): void {
    this.dsm = dsm;
    this.leases.start();
  }

  close(): void {
    this.leases.stop();
  }


  async client(home: ServerId): Promise<DataClient> {
    let address: string;
    try {
      address = await this.servers.address(home);
    } catch (err) {
      throw new ServerUnreachableError(`data server ${home} is unknown: ${(err as Error).message}`, { peer: home, address: "" });
    }
    let peer: Peer;
    const openedAt = performance.now();
    try {
      peer = await this.peers.get(address);
    } catch (err) {
      this.servers.forget(home);
      throw new ServerUnreachableError(`data server ${home} at ${address} is unreachable: ${(err as Error).message}`, { peer: home, address });
    }
    this.watch(home, peer, openedAt);
    this.known.add(home);
    return new DataClient(peer);
  }

  /**
   * Resolves once every data server we know (connected, or in the registry view) settled
   * these servers, lost by a caller while a call of its may have been running there
   * (data.holder.settle: each home took their uncommitted writes out, or heard from them
   * since). A home we cannot reach is skipped: we hold none of its pages, and a fault there
   * after it is back waits for its own recovery.
   */
  async settle(lost: readonly string[]): Promise<void> {
    const homes = new Set<ServerId>([...this.known, ...this.servers.cached("data").map((s) => s.id as ServerId)]);
    await Promise.all([...homes].map(async (home) => {
      try {
        const r = await (await this.client(home)).call("data.holder.settle", { holders: [...lost] as ServerId[] }, { timeoutMs: SETTLE_TIMEOUT_MS });
        log("%s settled %s", home, r.settled.map((x) => `${x.holder}: ${x.outcome}`).join(", "));
      } catch (err) {
        log("could not settle %s at %s: %s", lost.join(", "), home, (err as Error).message);
      }
    }));
  }

  private watch(home: ServerId, peer: Peer, openedAt: number): void {
    if (this.watched.has(peer)) return;
    this.watched.add(peer);
    this.leases.began(home, openedAt);
    peer.onClose(() => {
      this.servers.forget(home);
      this.known.delete(home);
      this.leases.forget(home);
      this.dsm?.dropHome(home, "the connection to it closed");
    });
  }

  async fault(home: ServerId, segment: SysName, page: PageNo, mode: AccessMode, have: number, count?: number, threads?: string[]): Promise<Grant> {
    const body = { segment, page, mode, have, ...(count === undefined ? {} : { count }), ...(threads?.length ? { threads: threads.slice(0, MAX_FAULT_THREADS) as ThreadId[] } : {}) };
    return (await this.client(home)).call("data.page.fault", body);
  }

  /** `sent` once the request was handed to the connection (its emits keep their order). */
  async commit(home: ServerId, req: CommitRequest, sent?: () => void): Promise<CommitReply> {
    const reply = (await this.client(home)).call("data.page.commit", req);
    sent?.();
    return reply;
  }

  async prepare(home: ServerId, req: PrepareRequest): Promise<PrepareReply> {
    return (await this.client(home)).call("data.atomic.prepare", req);
  }

  async finish(home: ServerId, req: { id: AtomicId; outcome: "commit" | "abort"; release?: LockRelease[] }): Promise<{ finished: boolean; refused?: number }> {
    return (await this.client(home)).call("data.atomic.finish", req);
  }

  async decide(home: ServerId, req: { id: AtomicId; outcome: "commit" | "abort"; attempt: number }): Promise<DecisionReply> {
    return (await this.client(home)).call("data.atomic.decide", req);
  }

  async acknowledge(home: ServerId, id: AtomicId): Promise<void> {
    await (await this.client(home)).call("data.atomic.acknowledge", { id });
  }

  async release(home: ServerId, req: ReleaseRequest): Promise<{ released: boolean }> {
    return (await this.client(home)).call("data.page.release", req);
  }

  async drop(home: ServerId, req: DropRequest): Promise<{ dropped: number }> {
    return (await this.client(home)).call("data.page.drop", req);
  }

  /** A raw round trip of `size` bytes to a data server (benchmark baseline). */
  async echo(home: ServerId, size: number): Promise<void> {
    await (await this.client(home)).call("data.echo", { bytes: new Uint8Array(size) });
  }

  async descriptor(sysname: SysName): Promise<ObjectDescriptor> {
    const d = await (await this.client(homeOf(sysname))).call("data.object.get", { sysname });
    if (!d) throw new UnknownObjectError(`no object ${sysname} at its home ${homeOf(sysname)} (deleted?)`, { sysname });
    return d;
  }

  /** Records at the object's home that it runs `classVersion` now (versioned upgrade). */
  async upgradeDescriptor(sysname: SysName, classVersion: number): Promise<ObjectDescriptor> {
    const d = await (await this.client(homeOf(sysname))).call("data.object.upgrade", { sysname, classVersion });
    if (!d) throw new UnknownObjectError(`no object ${sysname} at its home ${homeOf(sysname)} (deleted?)`, { sysname });
    return d;
  }

  /** The newest registered version of a class: the meta of its /sys/classes binding (0: none). */
  async latestClassVersion(name: string): Promise<number> {
    const binding = await (await this.servers.names()).lookup(`${CLASSES_DIR}/${name}`);
    const version = (binding?.meta as { version?: unknown } | undefined)?.version;
    return typeof version === "number" && Number.isInteger(version) ? version : 0;
  }

  /**
   * A class's code segment: the name server binds /sys/classes/<name> to the code segment's
   * sysname, whose home stores every version. Latest version when `version` is omitted.
   * A version's segment never changes, so it is fetched once and kept (`classes`); which
   * version is the latest is asked of the name server each time (its binding's meta names
   * it), so a class loaded a moment ago is what the next creation gets.
   */
  async classSegment(name: string, version?: number): Promise<ClassSegment> {
    if (version !== undefined) return this.classVersion(name, version);
    const binding = await (await this.servers.names()).lookup(`${CLASSES_DIR}/${name}`);
    const latest = binding?.meta.version;
    if (binding?.sysname && typeof latest === "number" && Number.isInteger(latest)) return this.classVersion(name, latest, binding.sysname);
    return this.fetchClass(name, undefined, binding?.sysname ?? undefined);
  }

  /** Code segments by "name@version" (immutable once registered). */
  private readonly classes = new Map<string, Promise<ClassSegment>>();

  private classVersion(name: string, version: number, sysname?: SysName): Promise<ClassSegment> {
    const key = `${name}@${version}`;
    let p = this.classes.get(key);
    if (!p) {
      p = this.fetchClass(name, version, sysname);
      p.catch(() => this.classes.delete(key));
      this.classes.set(key, p);
    }
    return p;
  }

  private async fetchClass(name: string, version: number | undefined, sysname?: SysName): Promise<ClassSegment> {
    if (!sysname) sysname = (await (await this.servers.names()).lookup(`${CLASSES_DIR}/${name}`))?.sysname ?? undefined;
    const cls = sysname ? await (await this.client(homeOf(sysname))).call("data.class.get", { name, version }) : null;
    if (!cls) {
      const which = version === undefined ? "" : ` version ${version}`;
      throw new ClassNotFoundError(`no class ${name}${which} is registered (load its file first)`, { className: name, version: version ?? null });
    }
    return cls;
  }
}
