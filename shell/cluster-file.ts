/**
 * ClusterFile: `<dir>/cluster.json` and `<dir>/token` — how workstations find a cluster.
 *
 * `clouds up` writes both: the token (random, file mode 0600, kept across restarts) and,
 * once every server is healthy, the cluster file listing each server's id, role, address,
 * pid and state directory. Clients read them to connect; `down` and `status` read them to
 * find the processes.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import type { ServerId, ServerRole } from "../ra-kernel/ids.js";
import { ClusterNotRunningError } from "./client/errors.js";

export interface ClusterServer {
  id: ServerId;
  role: ServerRole;
  address: string;
  pid: number;
  dir: string;
  log: string;
}

export interface ClusterInfo {
  version: 1;
  nameServer: string;
  startedAt: string;
  servers: ClusterServer[];
}

export const DEFAULT_DIR = ".clouds";

export function clusterFilePath(dir: string): string {
  return path.join(dir, "cluster.json");
}

export function readCluster(dir: string): ClusterInfo {
  const file = clusterFilePath(dir);
  if (!existsSync(file)) throw new ClusterNotRunningError(`no cluster in ${dir} (start one with 'clouds up --detach --dir ${dir}')`, { dir });
  try {
    return JSON.parse(readFileSync(file, "utf8")) as ClusterInfo;
  } catch (err) {
    throw new ClusterNotRunningError(`${file} is unreadable: ${(err as Error).message}`, { dir });
  }
}

/**
 * A workstation's cluster file (`clouds join`): only the name server's address. Clients
 * connect with it; `status` asks that name server; `up` and `down` refuse the directory.
 */
export function writeWorkstation(dir: string, nameServer: string): void {
  mkdirSync(dir, { recursive: true });
  const file = clusterFilePath(dir);
  writeFileSync(`${file}.tmp`, JSON.stringify({ version: 1, nameServer }, null, 2) + "\n");
  renameSync(`${file}.tmp`, file);
}

/** Copies a token file into `dir` (mode 0600); throws naming the file if it is missing or empty. */
export function copyToken(dir: string, tokenFile: string): void {
  if (!existsSync(tokenFile)) throw new ClusterNotRunningError(`no token file ${tokenFile} (copy the cluster's token from the machine that made it: 'clouds token' prints where it is)`, { dir });
  const token = readFileSync(tokenFile, "utf8").trim();
  if (token === "") throw new ClusterNotRunningError(`the token file ${tokenFile} is empty`, { dir });
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "token"), token + "\n", { mode: 0o600 });
  chmodSync(path.join(dir, "token"), 0o600);
}

export function writeCluster(dir: string, info: ClusterInfo): void {
  const file = clusterFilePath(dir);
  writeFileSync(`${file}.tmp`, JSON.stringify(info, null, 2) + "\n");
  renameSync(`${file}.tmp`, file);
}

/** The cluster's token, created (0600) if the directory has none yet. */
export function ensureToken(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "token");
  if (!existsSync(file) || readFileSync(file, "utf8").trim() === "") writeFileSync(file, randomBytes(24).toString("hex") + "\n", { mode: 0o600 });
  chmodSync(file, 0o600);
  return readToken(dir);
}

export function readToken(dir: string): string {
  const file = path.join(dir, "token");
  if (!existsSync(file)) throw new ClusterNotRunningError(`no cluster token in ${dir}`, { dir });
  return readFileSync(file, "utf8").trim();
}
