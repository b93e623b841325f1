/**
 * Starts the compute server role in this process: a Ra kernel with its isiba pool, serving
 * the compute protocol (`clouds compute-server`).
 */
import { ServerHost } from "../host/server-host.js";
import type { ServerOptions } from "../host/server-options.js";
import { ComputeServer } from "./compute-server.js";

export async function startComputeServer(options: ServerOptions): Promise<ServerHost> {
  return ServerHost.start(options, async (ctx) => new ComputeServer(ctx));
}
