/**
 * ClusterRepair: `clouds up` on a directory that already has a cluster. It restarts in
 * place the servers that are gone and keeps the ones that run: never a second set of
 * servers on the same state.
 *
 *   const { info, restarted, kept } = await repair(takeCensus(dir), options, say);
 *
 * It works from the census (cluster.json and the state-dir lock files), so it needs no
 * server to answer, not even the name server:
 *  1. The name server is kept if it runs. If it is gone it is started again with its id and
 *     state directory, on its old port when that is free: the other servers still know that
 *     address, and they register again by themselves once it is back (Registration).
 *  2. Every other server that is gone is started again with its id, state directory and,
 *     when free, its old port. One that runs is kept, unless the name server had to move to
 *     a new port: such a server is stopped cleanly and started again in place, pointing to
 *     the new address (it could not find the name server otherwise).
 * Then cluster.json records every server's pid and address, and one line per server says
 * what happened to it. If some server could not start, the others are still recorded, and
 * the first failure is thrown.
 */
import { type ServerId } from "../ra-kernel/ids.js";
import { writeCluster, type ClusterInfo, type ClusterServer } from "./cluster-file.js";
import type { Census, CensusEntry } from "./cluster-census.js";
import { ServerStartError } from "./errors.js";
import { describeServer, startServer, stopServers } from "./server-process.js";
import type { UpOptions } from "./up-options.js";

export interface RepairResult {
  info: ClusterInfo;
  /** Servers started again (the name server first). */
  restarted: ClusterServer[];
  /** Servers whose process runs on, untouched. */
  kept: ClusterServer[];
}

/** What became of one server. */
interface Outcome {
  server: ClusterServer;
  /** Why it was started again; undefined: kept. */
  restartedBecause?: string;
}

export async function repair(census: Census, options: UpOptions, say: (line: string) => void): Promise<RepairResult> {
  const ns = census.entries.find((e) => e.role === "name");
  if (!ns) throw new Error(`${options.dir}/cluster.json names no name server: stop the cluster ('clouds down --dir ${options.dir}') and start it again`);
  const name = await ensureNameServer(ns, options);
  const others = census.entries.filter((e) => e !== ns);
  const moved = others.filter((e) => lostNameServer(e, name.server.address, census));
  await stopServers(moved.map((e) => ({ role: e.role, pid: e.live!.pid })));
  const settled = await Promise.allSettled(others.map((e) => ensureServer(e, name.server.address, moved.includes(e), options)));
  const outcomes = [name, ...settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []))];
  const info = record(census, options, name.server.address, outcomes);
  const restarted = outcomes.filter((o) => o.restartedBecause !== undefined);
  if (restarted.length > 0) report(outcomes, say);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failed) throw failed.reason;
  return { info, restarted: restarted.map((o) => o.server), kept: outcomes.filter((o) => o.restartedBecause === undefined).map((o) => o.server) };
}

/** One line per server: where it serves now and what became of it. */
function report(outcomes: Outcome[], say: (line: string) => void): void {
  for (const o of outcomes) say(`${describeServer(o.server)}  (${o.restartedBecause === undefined ? "running: kept" : `restarted: ${o.restartedBecause}`})`);
}

async function ensureNameServer(ns: CensusEntry, options: UpOptions): Promise<Outcome> {
  if (ns.live?.address) return { server: current(ns) };
  return { server: await restart(ns, undefined, options), restartedBecause: goneBecause(ns) };
}

/** A running server started with another name server address than `nameServer`. */
function lostNameServer(entry: CensusEntry, nameServer: string, census: Census): boolean {
  const knows = entry.live?.nameServer ?? census.info?.nameServer;
  return entry.live !== null && knows !== undefined && knows !== nameServer;
}

/** Keeps a running server, or starts it again in place (`moved`: it was stopped for pointing to the old name server). */
async function ensureServer(entry: CensusEntry, nameServer: string, moved: boolean, options: UpOptions): Promise<Outcome> {
  if (moved) return { server: await restart(entry, nameServer, options), restartedBecause: `its name server moved to ${nameServer} (was pid ${entry.live!.pid})` };
  if (entry.live) return { server: current(entry) };
  return { server: await restart(entry, nameServer, options), restartedBecause: goneBecause(entry) };
}

function goneBecause(entry: CensusEntry): string {
  return entry.recorded ? `pid ${entry.recorded.pid} was gone` : "it was not running";
}

/** The server as it runs now (the lock file's pid and address win over cluster.json's). */
function current(entry: CensusEntry): ClusterServer {
  const { id, role, dir, log } = entry;
  return { id, role, dir, log, pid: entry.live!.pid, address: entry.live!.address ?? entry.recorded?.address ?? "" };
}

/** Starts the server in place: same id, directory and log; its old port if free, else any. */
async function restart(entry: CensusEntry, nameServer: string | undefined, options: UpOptions): Promise<ClusterServer> {
  const launch = { role: entry.role, id: entry.id, dir: entry.dir, log: entry.log, clusterDir: options.dir, nameServer, workers: options.workers, workerHeapMb: options.workerHeapMb, cacheMb: options.cacheMb, maxActive: options.maxActive, durability: options.durability };
  const port = portOf(entry.live?.address ?? entry.recorded?.address);
  try {
    return await startServer({ ...launch, port });
  } catch (err) {
    if (!(err instanceof ServerStartError && err.portTaken && port !== 0)) throw err;
    return startServer({ ...launch, port: 0 });
  }
}

function portOf(address: string | undefined): number {
  const port = Number(address?.slice(address.lastIndexOf(":") + 1));
  return Number.isInteger(port) && port > 0 && port <= 65535 ? port : 0;
}

/** Writes cluster.json: every server as it is now, in the census's order. */
function record(census: Census, options: UpOptions, nameServer: string, outcomes: Outcome[]): ClusterInfo {
  const now = new Map<ServerId, ClusterServer>(outcomes.map((o) => [o.server.id, o.server]));
  const servers = census.entries.map((e) => now.get(e.id) ?? e.recorded ?? current(e));
  const info: ClusterInfo = { version: 1, nameServer, startedAt: census.info?.startedAt ?? new Date().toISOString(), servers };
  if (JSON.stringify(info) !== JSON.stringify(census.info)) writeCluster(options.dir, info);
  return info;
}
