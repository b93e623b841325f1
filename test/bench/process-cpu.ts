/**
 * CPU time of a process, from /proc/<pid>/stat (Linux only): user + system time of all its
 * threads, in seconds.
 *
 *   const before = cpuSeconds(pid);     // null: no such process, no /proc
 *   ... workload ...
 *   const used = cpuSeconds(pid)! - before!;
 *
 * /proc counts in clock ticks; how many make a second is `getconf CLK_TCK` (normally 100,
 * so figures have a 10 ms grain: measure over seconds, not milliseconds). Children a process
 * waited for are not included (cutime/cstime): servers under test do their work themselves.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

let ticksPerSecond: number | undefined;

/** `getconf CLK_TCK`, asked once. */
export function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    const ticks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
    if (!Number.isInteger(ticks) || ticks <= 0) throw new Error(`getconf CLK_TCK said ${ticks}`);
    ticksPerSecond = ticks;
  }
  return ticksPerSecond;
}

export function cpuSeconds(pid: number): number | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // Fields after the command name, which is in parentheses and may itself hold spaces or ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 of the line; fields[0] here is field 3 (state).
  return (Number(fields[11]) + Number(fields[12])) / clockTicks();
}
