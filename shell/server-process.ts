/**
 * ServerProcess: one server of the embedded cluster as a detached OS process.
 *
 *   const s = await startServer({ role: "data", id: "ds1", dir, log, port: 0, clusterDir, nameServer });
 *   isRunning(s);          // its process runs and is still ours (not a recycled pid)
 *   await stopServer(s.pid);          // or stopServers(list): compute, then data, then name
 *
 * `startServer` runs `cli.js <role>-server` detached, its output appended to its log, and
 * resolves once the server reports it is serving (an IPC message, see role-command.ts),
 * with its entry for cluster.json. If it exits or is not ready in READY_TIMEOUT_MS it is
 * killed and the promise rejects with ServerStartError (`portTaken` when the port it was
 * asked for is in use). `stopServer` sends SIGTERM, then SIGKILL after STOP_GRACE_MS.
 */
import { spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { asServerId, type ServerRole } from "../ra-kernel/ids.js";
import { isAlive } from "../servers/host/process-liveness.js";
import type { ClusterServer } from "./cluster-file.js";
import { ServerStartError } from "./errors.js";

const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 10_000;
export const CLI_SCRIPT = path.resolve(__dirname, "cli.js");

/** How to start one server. */
export interface ServerLaunch {
  role: ServerRole;
  id: string;
  /** Its state directory (absolute). */
  dir: string;
  /** Its log file (appended to). */
  log: string;
  /** 0: any free port. */
  port: number;
  /** The cluster directory (its token file). */
  clusterDir: string;
  /** "host:port" of the name server (not for the name server itself). */
  nameServer?: string;
  workers?: number;
  workerHeapMb?: number;
  cacheMb?: number;
  maxActive?: number;
  durability?: "power" | "process";
}

interface ReadyMessage {
  ready: boolean;
  address?: string;
  error?: string;
}

export function startServer(launch: ServerLaunch): Promise<ClusterServer> {
  const { role, id, dir, log } = launch;
  mkdirSync(path.dirname(log), { recursive: true });
  const fd = openSync(log, "a");
  const child = spawn(process.execPath, ["--enable-source-maps", CLI_SCRIPT, ...argsOf(launch)], { detached: true, stdio: ["ignore", fd, fd, "ipc"] });
  closeSync(fd);
  return new Promise((resolve, reject) => {
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      const message = `${id} (${role} server) did not start: ${why}\n${tail(log)}`;
      reject(new ServerStartError(message, { serverId: id, role, portTaken: /EADDRINUSE/.test(why) }));
    };
    const timer = setTimeout(() => fail(`not ready after ${READY_TIMEOUT_MS / 1000}s`), READY_TIMEOUT_MS);
    child.once("exit", (code) => fail(`exited with code ${code}`));
    child.once("message", (msg: ReadyMessage) => {
      if (!msg.ready) return fail(msg.error ?? "unknown error");
      clearTimeout(timer);
      child.removeAllListeners("exit");
      child.unref();
      resolve({ id: asServerId(id), role, address: msg.address!, pid: child.pid!, dir, log });
    });
  });
}

function argsOf(launch: ServerLaunch): string[] {
  const args = [`${launch.role}-server`, "--id", launch.id, "--dir", launch.dir, "--port", String(launch.port)];
  args.push("--token-file", path.resolve(launch.clusterDir, "token"));
  if (launch.nameServer) args.push("--name-server", launch.nameServer);
  if (launch.role === "compute" && launch.workers) args.push("--workers", String(launch.workers));
  if (launch.role === "compute" && launch.workerHeapMb) args.push("--worker-heap-mb", String(launch.workerHeapMb));
  if (launch.role === "compute" && launch.cacheMb) args.push("--cache-mb", String(launch.cacheMb));
  if (launch.role === "compute" && launch.maxActive) args.push("--max-active", String(launch.maxActive));
  if (launch.role === "data" && launch.durability) args.push("--durability", launch.durability);
  return args;
}

function tail(file: string): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-8).map((l) => `    ${l}`).join("\n");
  } catch {
    return "";
  }
}

/** One line for progress output: `  ds1  data server    127.0.0.1:7101  pid 4242`. */
export function describeServer(s: ClusterServer): string {
  return `  ${s.id.padEnd(4)} ${(s.role + " server").padEnd(14)} ${s.address}  pid ${s.pid}`;
}

/** The recorded server's process runs and is still ours (not a recycled pid). */
export function isRunning(server: ClusterServer): boolean {
  return isAlive(server.pid) && isServerOf(server.pid, server.dir);
}

/** Guards against signalling a recycled pid: its command line runs our CLI on `dir`. */
function isServerOf(pid: number, dir: string): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    return cmdline.includes(CLI_SCRIPT) && cmdline.split("\0").includes(dir);
  } catch {
    return true;
  }
}

/** The order servers stop in: a compute server may still write back to a data server, which may still use the name server. */
const STOP_ORDER: ServerRole[] = ["compute", "data", "name"];

/** Stops the processes of `servers`, compute ones first, then data, then name; `onStopped` after each. */
export async function stopServers<S extends { role: ServerRole; pid: number }>(servers: S[], onStopped: (s: S) => void = () => undefined): Promise<void> {
  for (const role of STOP_ORDER) {
    await Promise.all(servers.filter((s) => s.role === role).map((s) => stopServer(s.pid).then(() => onStopped(s))));
  }
}

/** SIGTERM, then SIGKILL if it still runs after the grace period; resolves once it is gone. */
export async function stopServer(pid: number): Promise<void> {
  if (!isAlive(pid)) return;
  signal(pid, "SIGTERM");
  const deadline = Date.now() + STOP_GRACE_MS;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  if (!isAlive(pid)) return;
  signal(pid, "SIGKILL");
  const killed = Date.now() + STOP_GRACE_MS;
  while (isAlive(pid) && Date.now() < killed) await new Promise((r) => setTimeout(r, 25));
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    /* gone meanwhile */
  }
}
