/**
 * Process liveness: whether a pid names a running process, and whether it is still the
 * same process as when it was recorded (pids are recycled).
 *
 *   const since = startTimeOf(process.pid);       // record beside the pid
 *   ...
 *   if (isSameProcess(pid, since)) ...            // alive, not a zombie, not a recycled pid
 *
 * A zombie (exited, not yet reaped by its parent: PID 1 of a container may reap late) is
 * not alive — once it is wholly gone. A process killed -9 shows its main thread as a zombie
 * while its other threads (node has several) still exit and close its files and sockets:
 * until the last one is gone it is alive, so "not alive" means its port and files are free.
 * The start time is the kernel's (clock ticks after boot, /proc/<pid>/stat); where there is
 * no /proc it is null and only the pid is checked.
 */
import { readdirSync, readFileSync } from "node:fs";

/** True while the process runs or is still exiting (not a finished zombie). EPERM: it runs, as another user. */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  return statFields(pid)?.[0] !== "Z" || threadCount(pid) > 1;
}

/** Threads of the process still in /proc (0 if unknown). */
function threadCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/task`).length;
  } catch {
    return 0;
  }
}

/** The process's start time as the kernel records it, or null (no /proc, or no such process). */
export function startTimeOf(pid: number): string | null {
  return statFields(pid)?.[19] ?? null;
}

/** The process `pid` runs and started at `startTime` (any start time if that is null). */
export function isSameProcess(pid: number, startTime: string | null): boolean {
  if (!isAlive(pid)) return false;
  if (startTime === null) return true;
  const now = startTimeOf(pid);
  return now === null || now === startTime;
}

/** The fields of /proc/<pid>/stat after the command name: [0] state, [19] start time. */
function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}
