/**
 * Starts the name server role in this process: opens the bindings database under the
 * server's directory, serves the name protocol, and registers itself under /sys/servers
 * (`clouds name-server`).
 */
import * as path from "node:path";
import { ServerHost, type RoleService } from "../host/server-host.js";
import type { ServerOptions } from "../host/server-options.js";
import { NameServer } from "./name-server.js";
import { SqliteNameDirectory } from "./sqlite-name-directory.js";
import { SERVERS_DIR, serverInfoOf } from "./protocol.js";
import type { Binding } from "./name-directory.js";

export async function startNameServer(options: ServerOptions): Promise<ServerHost> {
  let directory!: SqliteNameDirectory;
  const host = await ServerHost.start(options, async (ctx) => {
    directory = await SqliteNameDirectory.open(path.join(options.dir, "names.sqlite"));
    const server = new NameServer(directory, { clock: ctx.clock, selfId: options.id });
    const role: RoleService = {
      handler: server.handler,
      status: async () => registryStatus(options.id, server, await directory.list(SERVERS_DIR).catch(() => [])),
      figures: () => server.registry.figures(),
      close: () => server.close(),
    };
    return role;
  });
  const meta = { id: options.id, role: "name", address: host.address, httpAddress: host.address, pid: process.pid };
  await directory.bind(`${SERVERS_DIR}/${options.id}`, null, "server", { meta, replace: true });
  return host;
}

/** /api/status of a name server: how many servers are registered and the lease view of each. */
function registryStatus(serverId: string, server: NameServer, bindings: Binding[]): unknown {
  const registry = bindings.filter((b) => b.kind === "server").map((b) => {
    const info = serverInfoOf(b);
    return info && { ...info, ...server.registry.stateOf(info.id) };
  }).filter((s) => s !== null);
  return { serverId, servers: registry.length, registry };
}
