/**
 * ClusterCensus: the servers of a cluster directory and the processes serving them now,
 * read from what is on disk only — cluster.json (what `clouds up` recorded) and the lock
 * file each live server keeps in its state directory (servers/host/state-dir-lock.ts:
 * pid, address, name server).
 *
 *   const census = takeCensus(".clouds");
 *   for (const e of census.entries) e.live ? ... : ...;   // e.live: the process serving e.dir
 *
 * No server has to answer, so `clouds up` can repair, and `clouds down` stop, a cluster
 * whose name server is dead or whose cluster.json is gone. The process of a server is the
 * live holder of its directory's lock. One started before lock files existed counts as
 * running while its recorded pid still runs our CLI on its directory. A live lock holder
 * in `<dir>/<id>/` that cluster.json does not name (a server started by hand, a cluster
 * file lost) is in the census too: it is a server of this directory.
 */
import { existsSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { asServerId, type ServerId, type ServerRole } from "../ra-kernel/ids.js";
import { StateDirLock, type StateDirHolder } from "../servers/host/state-dir-lock.js";
import { clusterFilePath, readCluster, type ClusterInfo, type ClusterServer } from "./cluster-file.js";
import { isRunning } from "./server-process.js";

/** The process serving a state directory now. */
export interface LiveServer {
  pid: number;
  /** Where it serves (unknown only for a server still starting). */
  address?: string;
  /** The name server it was started with (unknown for servers without a lock file). */
  nameServer?: string;
}

export interface CensusEntry {
  id: ServerId;
  role: ServerRole;
  /** Its state directory (absolute). */
  dir: string;
  log: string;
  /** Its entry in cluster.json; absent for a live server the file does not name. */
  recorded?: ClusterServer;
  /** The process serving it now, or null. */
  live: LiveServer | null;
}

export interface Census {
  /** cluster.json, or null if there is none. */
  info: ClusterInfo | null;
  /** Recorded servers first, in cluster.json's order, then live servers it does not name. */
  entries: CensusEntry[];
}

export function takeCensus(dir: string): Census {
  const info = existsSync(clusterFilePath(dir)) ? readCluster(dir) : null;
  const recorded = (info?.servers ?? []).map((s) => recordedEntry(s, info!));
  const known = new Set(recorded.map((e) => path.resolve(e.dir)));
  const unrecorded = stateDirsIn(dir).filter((d) => !known.has(d)).map((d) => lockedEntry(dir, d)).filter((e): e is CensusEntry => e !== null);
  return { info, entries: [...recorded, ...unrecorded] };
}

/** The live servers of a census. */
export function liveOf(census: Census): Array<CensusEntry & { live: LiveServer }> {
  return census.entries.filter((e): e is CensusEntry & { live: LiveServer } => e.live !== null);
}

function recordedEntry(server: ClusterServer, info: ClusterInfo): CensusEntry {
  const holder = StateDirLock.holder(server.dir);
  const { id, role, dir, log } = server;
  if (holder) return { id, role, dir, log, recorded: server, live: liveFrom(holder) };
  const live = isRunning(server) ? { pid: server.pid, address: server.address, nameServer: role === "name" ? undefined : info.nameServer } : null;
  return { id, role, dir, log, recorded: server, live };
}

/** A state directory no recorded server names: a server of this cluster if a live process holds it. */
function lockedEntry(clusterDir: string, dir: string): CensusEntry | null {
  const holder = StateDirLock.holder(dir);
  if (!holder) return null;
  const log = path.resolve(clusterDir, "logs", `${holder.id}.log`);
  return { id: asServerId(holder.id), role: holder.role, dir, log, live: liveFrom(holder) };
}

function liveFrom(holder: StateDirHolder): LiveServer {
  return { pid: holder.pid, address: holder.address, nameServer: holder.nameServer };
}

/** Subdirectories of the cluster directory that have a lock file (absolute paths). */
function stateDirsIn(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(StateDirLock.fileOf(path.join(dir, d.name))))
      .map((d) => path.resolve(dir, d.name));
  } catch {
    return [];
  }
}
