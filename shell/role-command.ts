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
  await runRoles([options]);
}

/**
 * Runs several roles in this process (`clouds node --roles name,data,compute`), in the order
 * given; a name server started here becomes the name server of the roles after it. Each role
 * has its own port. One SIGTERM closes them all, last started first.
 */
export async function runRoles(list: ServerOptions[]): Promise<void> {
  const hosts: ServerHost[] = [];
  try {
    for (const options of list) {
      mkdirSync(options.dir, { recursive: true });
      const nameServer = options.nameServer ?? hosts.find((h) => h.options.role === "name")?.address;
      const host = await start({ ...options, nameServer });
      hosts.push(host);
      console.log(`${options.id} (${options.role} server) listening on ${host.address}, pid ${process.pid}`);
    }
  } catch (err) {
    report({ ready: false, error: (err as Error).message });
    await Promise.allSettled(hosts.reverse().map((h) => h.close()));
    throw err;
  }
  const first = hosts[0];
  report({ ready: true, id: first.options.id, role: first.options.role, address: first.address, pid: process.pid });
  const stop = async (signal: string) => {
    console.log(`${signal}: closing ${hosts.map((h) => h.options.id).join(", ")}`);
    for (const h of [...hosts].reverse()) await h.close();
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
