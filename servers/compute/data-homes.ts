/**
 * DataHomes: the compute server's link to the data servers — the HomeLink of its DsmClient
 * and the ObjectSource of its UserObjectManager — over the data protocol.
 *
 * Connections are opened on demand (PeerCache) to addresses found in the name server's
 * registry. When the connection to a home closes, every page cached from it is dropped:
 * the home forgot that we hold copies, so it could no longer invalidate them.
 */
import type { PageNo, ServerId, SysName } from "../../ra-kernel/ids.js";
import { homeOf } from "../../ra-kernel/ids.js";
import type { AccessMode } from "../../ra-kernel/page-state.js";
import type { DsmClient, FetchedPage, HomeLink } from "../../ra-kernel/dsm-client.js";
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

export class DataHomes implements HomeLink, ObjectSource {
  private dsm: DsmClient | null = null;
  private readonly watched = new WeakSet<Peer>();

  constructor(
    private readonly peers: PeerCache,
    private readonly servers: ServerDirectory,
  ) {}

  /** The DSM client to tell when a home's connection closes. */
  bindDsm(dsm: DsmClient): void {
    this.dsm = dsm;
  }

  async client(home: ServerId): Promise<DataClient> {
    let address: string;
    try {
      address = await this.servers.address(home);
    } catch (err) {
      throw new ServerUnreachableError(`data server ${home} is unknown: ${(err as Error).message}`, { peer: home, address: "" });
    }
    let peer: Peer;
    try {
      peer = await this.peers.get(address);
    } catch (err) {
      this.servers.forget(home);
      throw err;
    }
    this.watch(home, peer);
    return new DataClient(peer);
  }

  private watch(home: ServerId, peer: Peer): void {
    if (this.watched.has(peer)) return;
    this.watched.add(peer);
    peer.onClose(() => {
      this.servers.forget(home);
      this.dsm?.dropHome(home);
    });
  }

  async readPage(home: ServerId, segment: SysName, page: PageNo, mode: AccessMode): Promise<FetchedPage> {
    return (await this.client(home)).call("data.page.read", { segment, page, mode });
  }

  async commit(home: ServerId, pages: { segment: SysName; page: PageNo; bytes: Uint8Array }[]): Promise<{ epoch: number }> {
    return (await this.client(home)).call("data.page.commit", { pages });
  }

  async descriptor(sysname: SysName): Promise<ObjectDescriptor> {
    const d = await (await this.client(homeOf(sysname))).call("data.object.get", { sysname });
    if (!d) throw new UnknownObjectError(`no object ${sysname} at its home ${homeOf(sysname)} (deleted?)`, { sysname });
    return d;
  }

  /**
   * A class's code segment: the name server binds /sys/classes/<name> to the code segment's
   * sysname, whose home stores every version. Latest version when `version` is omitted.
   */
  async classSegment(name: string, version?: number): Promise<ClassSegment> {
    const binding = await (await this.servers.names()).lookup(`${CLASSES_DIR}/${name}`);
    const cls = binding?.sysname ? await (await this.client(homeOf(binding.sysname))).call("data.class.get", { name, version }) : null;
    if (!cls) {
      const which = version === undefined ? "" : ` version ${version}`;
      throw new ClassNotFoundError(`no class ${name}${which} is registered (load its file first)`, { className: name, version: version ?? null });
    }
    return cls;
  }
}
