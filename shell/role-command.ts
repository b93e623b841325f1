/**
 * Runs one server role in this process (`clouds name-server | data-server | compute-server`).
 *
 * When launched by `clouds up`, the process has an IPC channel: once serving, it sends
 * `{ready: true, id, role, address, pid}` (or `{ready: false, error}`) and disconnects.
 * SIGTERM / SIGINT close the server cleanly (connections, workers, database) and exit 0.
 */
import { mkdirSync } from "node:fs";
import type { ServerHost } from "../servers/host/server-host.js";
import type { ServerOptions } from "../servers/host/server-options.js";
import { startNameServer } from "../servers/name/main.js";
import { startDataServer } from "../servers/data/main.js";
import { startComputeServer } from "../servers/compute/main.js";

export async function runRole(options: ServerOptions): Promise<void> {
  mkdirSync(options.dir, { recursive: true });
  let host: ServerHost;
  try {
    host = await start(options);
  } catch (err) {
    report({ ready: false, error: (err as Error).message });
    throw err;
  }
  report({ ready: true, id: options.id, role: options.role, address: host.address, pid: process.pid });
  console.log(`${options.id} (${options.role} server) listening on ${host.address}, pid ${process.pid}`);
  const stop = async (signal: string) => {
    console.log(`${options.id}: ${signal}, closing`);
    await host.close();
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop("SIGTERM"));
  process.once("SIGINT", () => void stop("SIGINT"));
}

function start(options: ServerOptions): Promise<ServerHost> {
  switch (options.role) {
    case "name": return startNameServer(options);
    case "data": return startDataServer(options);
    case "compute": return startComputeServer(options);
  }
}

function report(message: object): void {
  if (process.send) {
    process.send(message);
    process.disconnect();
  }
}
