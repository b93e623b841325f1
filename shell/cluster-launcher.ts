/**
 * ClusterLauncher: `clouds up`, `down` and `status` — the embedded cluster on this machine.
 *
 * `up` on a directory without cluster.json starts one name server, N data servers and M
 * compute servers, each its own detached process (logs under <dir>/logs/), waits until each
 * reports it is serving, and writes <dir>/cluster.json. State lives under <dir>/<server id>/,
 * so `up` after a stop or a crash (even kill -9) finds every object again.
 *
 * `up` on a directory with cluster.json repairs the cluster in place (cluster-repair.ts):
 * servers that are gone, the name server included, are started again with the same id,
 * state and (if free) port; running ones are kept. A cluster with every server running is
 * left alone ("already running"). What runs is read from disk (cluster-census.ts), never
 * asked of the name server, so a dead name server cannot make `up` start a second set.
 *
 * `down` stops every server of the directory, compute, then data, then name: the ones in
 * cluster.json and any other live holder of a state directory's lock under <dir>.
 *
 * Two servers never share a state directory (each holds its `server.lock`), and one
 * `up`/`down` at a time works on a directory (<dir>/launcher.lock; another one fails with
 * LauncherBusyError).
 */
import { existsSync, mkdirSync, rmSync } from "node:fs";
import * as path from "node:path";
import type { ServerRole } from "../ra-kernel/ids.js";
import { PidLockFile } from "../servers/host/pid-lock-file.js";
import { clusterFilePath, ensureToken, readCluster, writeCluster, type ClusterInfo, type ClusterServer } from "./cluster-file.js";
import { liveOf, takeCensus, type Census, type CensusEntry } from "./cluster-census.js";
import { repair } from "./cluster-repair.js";
import { LauncherBusyError, NotLauncherDirError } from "./errors.js";
import { describeServer, startServer, stopServer, stopServers } from "./server-process.js";
import type { UpOptions } from "./up-options.js";

export type { UpOptions } from "./up-options.js";
export { CLI_SCRIPT } from "./server-process.js";
export { isAlive } from "../servers/host/process-liveness.js";
export { clusterStatus as status } from "./cluster-status.js";

export interface UpResult {
  info: ClusterInfo;
  /** A whole cluster was started (false: the directory had one, perhaps repaired). */
  started: boolean;
  /** Servers that were gone and have been started again (the name server first). */
  restarted: ClusterServer[];
  /** Servers of the directory's cluster that were running and were kept. */
  kept: ClusterServer[];
}

/** Starts the cluster of `options.dir`, or repairs the one it has. */
export async function up(options: UpOptions): Promise<UpResult> {
  const say = options.say ?? (() => undefined);
  mkdirSync(options.dir, { recursive: true });
  refuseWorkstationDir(options.dir, "up");
  return withLauncherLock(options.dir, "up", async () => {
    const census = takeCensus(options.dir);
    if (census.info) {
      const { info, restarted, kept } = await repair(census, options, say);
      return { info, started: false, restarted, kept };
    }
    refuseUnrecordedServers(census, options.dir);
    return { info: await startCluster(options, say), started: true, restarted: [], kept: [] };
  });
}

/** Live servers without cluster.json: their addresses and name server are unknown; stop them first. */
function refuseUnrecordedServers(census: Census, dir: string): void {
  const live = liveOf(census);
  if (live.length === 0) return;
  const list = live.map((e) => `${e.id} (pid ${e.live.pid})`).join(", ");
  throw new Error(`servers of ${dir} still run but ${clusterFilePath(dir)} is gone: ${list}; stop them with 'clouds down --dir ${dir}', then start again`);
}

async function startCluster(options: UpOptions, say: (line: string) => void): Promise<ClusterInfo> {
  ensureToken(options.dir);
  const started: ClusterServer[] = [];
  try {
    const ns = await startServer(launchOf(options, "name", "ns1"));
    started.push(ns);
    say(describeServer(ns));
    const rest = [...range(options.data).map((i) => ["data", `ds${i}`] as const), ...range(options.compute).map((i) => ["compute", `cs${i}`] as const)];
    const servers = await Promise.all(rest.map(([role, id]) => startServer(launchOf(options, role, id, ns.address)).then((s) => (started.push(s), s))));
    for (const s of servers) say(describeServer(s));
    const info: ClusterInfo = { version: 1, nameServer: ns.address, startedAt: new Date().toISOString(), servers: [ns, ...servers] };
    writeCluster(options.dir, info);
    return info;
  } catch (err) {
    await Promise.all(started.map((s) => stopServer(s.pid)));
    throw err;
  }
}

function launchOf(options: UpOptions, role: ServerRole, id: string, nameServer?: string) {
  const dir = path.resolve(options.dir, id);
  const log = path.resolve(options.dir, "logs", `${id}.log`);
  return { role, id, dir, log, port: 0, clusterDir: options.dir, nameServer, workers: options.workers, workerHeapMb: options.workerHeapMb, cacheMb: options.cacheMb, maxActive: options.maxActive, durability: options.durability };
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}

/**
 * Stops every server of the cluster in `dir` (compute, then data, then name) — also ones
 * cluster.json does not name, found by their state directory's lock — says which, and
 * removes cluster.json. Returns how many were stopped.
 */
export async function down(dir: string, say: (line: string) => void = () => undefined): Promise<number> {
  if (!existsSync(dir)) return 0;
  refuseWorkstationDir(dir);
  return withLauncherLock(dir, "down", async () => {
    const live = liveOf(takeCensus(dir)).map((e) => ({ ...e, pid: e.live.pid }));
    await stopServers(live, (e) => say(stoppedLine(e)));
    rmSync(clusterFilePath(dir), { force: true });
    return live.length;
  });
}

function stoppedLine(e: CensusEntry & { pid: number }): string {
  const found = e.recorded ? "" : `; not in cluster.json, found by its lock file in ${e.dir}`;
  return `  stopped ${e.id} (${e.role} server, pid ${e.pid}${found})`;
}

/**
 * A workstation's directory (cluster.json naming only the name server: `clouds join`) started
 * no server, so `down` there stops none: refused, naming where they run, and the file kept.
 */
function refuseWorkstationDir(dir: string, command: "up" | "down" = "down"): void {
  if (!existsSync(clusterFilePath(dir))) return;
  const info = readCluster(dir);
  if (Array.isArray(info.servers)) return;
  const what = command === "down"
    ? "It started no server, so 'clouds down' here stops none: stop the servers where they run ('clouds down --dir D' with the directory 'clouds up' used, or each role's process)"
    : "'clouds up' here would start a second cluster over it: use another --dir for a cluster of your own";
  throw new NotLauncherDirError(`${dir} is a workstation's directory (it only names the name server at ${info.nameServer}). ${what}`, { dir });
}

/** Runs `work` holding <dir>/launcher.lock: one `up` or `down` at a time per directory. */
async function withLauncherLock<T>(dir: string, command: "up" | "down", work: () => Promise<T>): Promise<T> {
  const file = path.join(dir, "launcher.lock");
  const got = PidLockFile.tryAcquire(file, { command });
  if (got.holder) {
    const message = `another 'clouds ${String(got.holder.command)}' (pid ${got.holder.pid}) is working on ${dir}; wait for it to finish`;
    throw new LauncherBusyError(message, { dir, holderPid: got.holder.pid });
  }
  try {
    return await work();
  } finally {
    got.lock.release();
  }
}
