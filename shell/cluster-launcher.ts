/**
 * ClusterLauncher: `clouds up`, `down` and `status` — the embedded cluster on this machine.
 *
 * `up` starts one name server, N data servers and M compute servers, each its own detached
 * process (logs under <dir>/logs/), waits until each reports it is serving, and writes
 * <dir>/cluster.json. State lives under <dir>/<server id>/, so `up` on the same directory
 * after a stop or a crash (even kill -9) finds every object again. Ports are picked free
 * at each start and recorded in the cluster file.
 *
 * `up` on a cluster whose name server still answers repairs it: each recorded server whose
 * process is gone is started again with the same id and state directory (on a new port),
 * its entry in cluster.json gets the new pid and address, and a line says so. A cluster
 * with every process running is left alone ("already running"). If the name server is
 * dead, `up` starts a whole cluster, as on a fresh directory.
 * Repair and `down` must not run at once on one directory (nothing arbitrates them).
 *
 * `down` sends SIGTERM (then SIGKILL after a grace period) to every recorded process.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, openSync, readFileSync, closeSync, rmSync } from "node:fs";
import * as path from "node:path";
import { asServerId, type ServerRole } from "../ra-kernel/ids.js";
import { clusterFilePath, ensureToken, readCluster, readToken, writeCluster, type ClusterInfo, type ClusterServer } from "./cluster-file.js";
import { ClusterNotRunningError } from "./client/errors.js";

export interface UpOptions {
  dir: string;
  compute: number;
  data: number;
  /** Isiba workers per compute server. */
  workers?: number;
  durability?: "power" | "process";
  /** Progress lines go here. */
  say?: (line: string) => void;
}

export interface ServerHealth {
  server: ClusterServer;
  healthy: boolean;
  detail: string;
  load?: number;
}

const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 10_000;
export const CLI_SCRIPT = path.resolve(__dirname, "cli.js");

export interface UpResult {
  info: ClusterInfo;
  /** A whole cluster was started (false: one was running already, perhaps repaired). */
  started: boolean;
  /** Servers of a running cluster that were dead and have been started again. */
  restarted: ClusterServer[];
}

/** Starts the cluster, or repairs the one already running. Returns its description. */
export async function up(options: UpOptions): Promise<UpResult> {
  const say = options.say ?? (() => undefined);
  const running = await runningCluster(options.dir);
  if (running) {
    const restarted = await repair(running, options, say);
    return { info: restarted.length > 0 ? readCluster(options.dir) : running, started: false, restarted };
  }
  ensureToken(options.dir);
  mkdirSync(path.join(options.dir, "logs"), { recursive: true });
  const started: ClusterServer[] = [];
  try {
    const ns = await startServer(options, "name", "ns1", undefined);
    started.push(ns);
    say(`  ${ns.id.padEnd(4)} name server     ${ns.address}  pid ${ns.pid}`);
    const rest = [
      ...range(options.data).map((i) => ["data", `ds${i}`] as const),
      ...range(options.compute).map((i) => ["compute", `cs${i}`] as const),
    ];
    const servers = await Promise.all(rest.map(([role, id]) => startServer(options, role, id, ns.address).then((s) => (started.push(s), s))));
    for (const s of servers) say(`  ${s.id.padEnd(4)} ${(s.role + " server").padEnd(14)} ${s.address}  pid ${s.pid}`);
    const info: ClusterInfo = { version: 1, nameServer: ns.address, startedAt: new Date().toISOString(), servers: [ns, ...servers] };
    writeCluster(options.dir, info);
    return { info, started: true, restarted: [] };
  } catch (err) {
    await Promise.all(started.map((s) => stopProcess(s.pid)));
    throw err;
  }
}

/**
 * Starts again every recorded server (but the name server) whose process is gone: same id,
 * same state directory, a new port. Records each one that started in cluster.json, then
 * throws if any could not start.
 */
async function repair(info: ClusterInfo, options: UpOptions, say: (line: string) => void): Promise<ClusterServer[]> {
  const dead = info.servers.filter((s) => s.role !== "name" && !isRunning(s));
  if (dead.length === 0) return [];
  const outcomes = await Promise.allSettled(dead.map((s) => startServer(options, s.role, s.id, info.nameServer, { dir: s.dir, log: s.log })));
  const restarted: ClusterServer[] = [];
  outcomes.forEach((o, i) => {
    if (o.status !== "fulfilled") return;
    restarted.push(o.value);
    say(`  ${o.value.id.padEnd(4)} ${(o.value.role + " server").padEnd(14)} ${o.value.address}  pid ${o.value.pid}  (restarted: pid ${dead[i].pid} was gone)`);
  });
  const fresh = new Map(restarted.map((s) => [s.id, s]));
  writeCluster(options.dir, { ...info, servers: info.servers.map((s) => fresh.get(s.id) ?? s) });
  const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === "rejected");
  if (failed) throw failed.reason;
  return restarted;
}

/** The recorded server's process runs (and is still ours, not a recycled pid). */
function isRunning(server: ClusterServer): boolean {
  return isAlive(server.pid) && isClouds(server.pid, server.dir);
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}

interface Placement {
  /** The server's state directory. */
  dir: string;
  /** Its log file (appended to). */
  log: string;
}

function placementOf(options: UpOptions, id: string): Placement {
  return { dir: path.resolve(options.dir, id), log: path.resolve(options.dir, "logs", `${id}.log`) };
}

function startServer(options: UpOptions, role: ServerRole, id: string, nameServer: string | undefined, place = placementOf(options, id)): Promise<ClusterServer> {
  const { dir, log } = place;
  const args = [CLI_SCRIPT, `${role}-server`, "--id", id, "--dir", dir, "--port", "0", "--token-file", path.resolve(options.dir, "token")];
  if (nameServer) args.push("--name-server", nameServer);
  if (role === "compute" && options.workers) args.push("--workers", String(options.workers));
  if (role === "data" && options.durability) args.push("--durability", options.durability);
  mkdirSync(path.dirname(log), { recursive: true });
  const fd = openSync(log, "a");
  const child = spawn(process.execPath, ["--enable-source-maps", ...args], { detached: true, stdio: ["ignore", fd, fd, "ipc"] });
  closeSync(fd);
  return new Promise((resolve, reject) => {
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(new Error(`${id} (${role} server) did not start: ${why}\n${tail(log)}`));
    };
    const timer = setTimeout(() => fail(`not ready after ${READY_TIMEOUT_MS / 1000}s`), READY_TIMEOUT_MS);
    child.once("exit", (code) => fail(`exited with code ${code}`));
    child.once("message", (msg: { ready: boolean; address?: string; error?: string }) => {
      if (!msg.ready) return fail(msg.error ?? "unknown error");
      clearTimeout(timer);
      child.removeAllListeners("exit");
      child.unref();
      resolve({ id: asServerId(id), role, address: msg.address!, pid: child.pid!, dir, log });
    });
  });
}

function tail(file: string): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-8).map((l) => `    ${l}`).join("\n");
  } catch {
    return "";
  }
}

/** The cluster recorded in `dir` if its name server answers /health, else null. */
export async function runningCluster(dir: string): Promise<ClusterInfo | null> {
  if (!existsSync(clusterFilePath(dir))) return null;
  const info = readCluster(dir);
  const ns = info.servers.find((s) => s.role === "name");
  if (!ns || !isAlive(ns.pid)) return null;
  const health = await probe(ns, readToken(dir));
  return health.healthy ? info : null;
}

export async function status(dir: string): Promise<ServerHealth[]> {
  const info = readCluster(dir);
  const token = readToken(dir);
  return Promise.all(info.servers.map((s) => probe(s, token)));
}

async function probe(server: ClusterServer, token: string): Promise<ServerHealth> {
  if (!isAlive(server.pid)) return { server, healthy: false, detail: "not running" };
  try {
    const headers = { authorization: `Bearer ${token}` };
    const res = await fetch(`http://${server.address}/health`, { headers, signal: AbortSignal.timeout(2000) });
    if (!res.ok) return { server, healthy: false, detail: `HTTP ${res.status}` };
    const st = (await (await fetch(`http://${server.address}/api/status`, { headers, signal: AbortSignal.timeout(2000) })).json()) as { load?: { running: number } };
    return { server, healthy: true, detail: "ok", load: st.load?.running };
  } catch (err) {
    return { server, healthy: false, detail: `unreachable (${(err as Error).message})` };
  }
}

/** Stops every server of the cluster in `dir` (compute, then data, then name). */
export async function down(dir: string, say: (line: string) => void = () => undefined): Promise<number> {
  let info: ClusterInfo;
  try {
    info = readCluster(dir);
  } catch (err) {
    if (err instanceof ClusterNotRunningError) return 0;
    throw err;
  }
  const order: ServerRole[] = ["compute", "data", "name"];
  let stopped = 0;
  for (const role of order) {
    const servers = info.servers.filter((s) => s.role === role && isAlive(s.pid) && isClouds(s.pid));
    await Promise.all(servers.map((s) => stopProcess(s.pid).then(() => say(`  stopped ${s.id} (pid ${s.pid})`))));
    stopped += servers.length;
  }
  rmSync(clusterFilePath(dir), { force: true });
  return stopped;
}

/** True while the process runs. A zombie (exited, not yet reaped by its parent) is not alive. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  return !isZombie(pid);
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z";
  } catch {
    return false;
  }
}

/** Guards against signalling a recycled pid that is no longer one of ours (`dir`: that server's). */
function isClouds(pid: number, dir?: string): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    return cmdline.includes(CLI_SCRIPT) && (dir === undefined || cmdline.split("\0").includes(dir));
  } catch {
    return true;
  }
}

async function stopProcess(pid: number): Promise<void> {
  if (!isAlive(pid)) return;
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + STOP_GRACE_MS;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  if (isAlive(pid)) process.kill(pid, "SIGKILL");
}
