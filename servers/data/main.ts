/**
 * Starts the data server role in this process: opens the segment store under the server's
 * directory and serves the data protocol (`clouds data-server`).
 */
import * as path from "node:path";
import { ServerHost, type RoleService } from "../host/server-host.js";
import type { ServerOptions } from "../host/server-options.js";
import { DataServer } from "./data-server.js";
import { SqliteSegmentStore } from "./sqlite-segment-store.js";
import { DataClient } from "./protocol.js";

export async function startDataServer(options: ServerOptions): Promise<ServerHost> {
  return ServerHost.start(options, async (ctx) => {
    const store = await SqliteSegmentStore.open({ file: path.join(options.dir, "segments.sqlite"), serverId: options.id, durability: options.durability });
    const server = new DataServer(store, options.id, {
      clock: ctx.clock,
      // Another data server, the log home of an atomic thread prepared here (AtomicParticipants).
      dataServer: async (id) => {
        if (!ctx.servers) throw new Error("no name server to find other data servers through");
        return new DataClient(await ctx.peers.get(await ctx.servers.address(id)));
      },
      // Images ahead of the disk: stop, and recover from the disk on restart (PageHome.order).
      onStoreFailure: (err) => {
        process.stderr.write(`data server ${options.id}: FATAL: the store failed to make commits durable: ${(err as Error)?.message ?? String(err)}\n`);
        process.exit(70);
      },
    });
    const role: RoleService = {
      handler: server.handler,
      attach: (peer) => server.attach(peer),
      status: () => server.statusNow(),
      figures: () => server.figures(),
      close: () => {
        server.close();
        return store.close();
      },
    };
    return role;
  });
}
