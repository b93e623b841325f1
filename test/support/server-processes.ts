/**
 * serverProcessesOf: every process on this machine that runs a Clouds server on a state
 * directory inside `clusterDir`, found by reading /proc/<pid>/cmdline — whatever
 * cluster.json or the lock files say. Tests use it to check that no second server runs on
 * a directory, and that `clouds down` leaves nothing behind.
 */
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { isAlive } from "../../servers/host/process-liveness.js";

export interface ServerProcess {
  pid: number;
  /** The state directory it was started on (its --dir). */
  dir: string;
  /** Its id (--id), if given. */
  id?: string;
}

const ROLE_COMMANDS = new Set(["name-server", "data-server", "compute-server", "node"]);

export function serverProcessesOf(clusterDir: string): ServerProcess[] {
  const root = path.resolve(clusterDir);
  const found: ServerProcess[] = [];
  for (const name of readdirSync("/proc")) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const args = cmdlineOf(pid);
    if (!args || !runsRole(args) || !isAlive(pid)) continue;
    const dir = valueOf(args, "--dir");
    if (dir && path.resolve(dir).startsWith(root + path.sep)) found.push({ pid, dir: path.resolve(dir), id: valueOf(args, "--id") });
  }
  return found;
}

/** `... cli.js <role command> ...` or `... bin/clouds <role command> ...`. */
function runsRole(args: string[]): boolean {
  const cli = args.findIndex((a) => a.endsWith("cli.js") || a.endsWith("/clouds"));
  return cli >= 0 && ROLE_COMMANDS.has(args[cli + 1]);
}

function cmdlineOf(pid: number): string[] | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  } catch {
    return null;
  }
}

function valueOf(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}
