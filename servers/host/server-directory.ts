/**
 * ServerDirectory: how a process finds other servers — through the name server's registry
 * under /sys/servers (DESIGN §3). Addresses are cached; a caller that fails to reach an
 * address calls `forget(id)` so the next lookup asks the name server again (a restarted
 * server re-registers with a new port).
 */
import type { ServerId, ServerRole } from "../../ra-kernel/ids.js";
import { NameClient, SERVERS_DIR, type ServerInfo } from "../name/protocol.js";
import type { Binding } from "../name/name-directory.js";
import type { PeerCache } from "../transport/peer-cache.js";
import { ServerUnreachableError } from "../transport/errors.js";

export class ServerDirectory {
  private readonly addresses = new Map<string, string>();

  constructor(
    private readonly peers: PeerCache,
    readonly nameServer: string,
  ) {}

  async names(): Promise<NameClient> {
    return new NameClient(await this.peers.get(this.nameServer));
  }

  /** The transport address of a server id. */
  async address(id: ServerId): Promise<string> {
    const cached = this.addresses.get(id);
    if (cached) return cached;
    const binding = await (await this.names()).lookup(`${SERVERS_DIR}/${id}`);
    const address = binding?.meta.address;
    if (typeof address !== "string") {
      throw new ServerUnreachableError(`server ${id} is not registered with the name server`, { peer: id, address: "" });
    }
    this.addresses.set(id, address);
    return address;
  }

  forget(id: ServerId): void {
    this.addresses.delete(id);
  }

  /** Every registered server, optionally of one role. */
  async list(role?: ServerRole): Promise<ServerInfo[]> {
    const bindings = await (await this.names()).servers();
    return bindings.map(serverInfoOf).filter((s): s is ServerInfo => s !== null && (!role || s.role === role));
  }
}

export function serverInfoOf(b: Binding): ServerInfo | null {
  const m = b.meta;
  if (typeof m.id !== "string" || typeof m.address !== "string") return null;
  return { id: m.id as ServerId, role: m.role as ServerRole, address: m.address, httpAddress: String(m.httpAddress ?? ""), pid: Number(m.pid ?? 0) };
}
