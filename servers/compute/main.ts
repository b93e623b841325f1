/**
 * Starts the compute server role in this process: a Ra kernel with its isiba pool, serving
 * the compute protocol (`clouds compute-server`).
 */
import { ServerHost } from "../host/server-host.js";
import type { ServerOptions } from "../host/server-options.js";
import { ComputeServer } from "./compute-server.js";
import { objectCodeConfined } from "../../ra-kernel/confinement-switch.js";

export async function startComputeServer(options: ServerOptions): Promise<ServerHost> {
  if (!objectCodeConfined()) {
    console.error(`${options.id}: WARNING: CLOUDS_UNCONFINED_OBJECT_CODE=1: object code is NOT confined here (any class can reach this process); for benchmarks only`);
  }
  return ServerHost.start(options, async (ctx) => new ComputeServer(ctx));
}
