/**
 * Child-process tools for tests of process liveness and lock files, with real processes:
 *
 *   const z = await zombie();            // a pid that exists but has exited (state Z)
 *   const dead = await deadPid();        // a pid that existed and is gone
 *   const c = await runInChild(`...`);   // node -e SCRIPT; resolves on its first stdout line
 *   await killAndWait(c.child.pid!);     // kill -9, resolves once the process is gone
 *
 * Scripts run with `dist` as their directory, so they `require("./servers/host/...")`.
 * Call `stopAll()` in after(): no child outlives the test file.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import { readFileSync } from "node:fs";
import { isAlive } from "../../servers/host/process-liveness.js";

const DIST = path.resolve(__dirname, "../..");
const children = new Set<ChildProcess>();

export interface RunningChild {
  child: ChildProcess;
  /** Its first line of output. */
  line: string;
}

/** Runs `node -e script` in dist/; resolves with its first output line. */
export function runInChild(script: string): Promise<RunningChild> {
  const child = spawn(process.execPath, ["-e", script], { cwd: DIST, stdio: ["ignore", "pipe", "inherit"] });
  children.add(child);
  child.once("exit", () => children.delete(child));
  return firstLine(child).then((line) => ({ child, line }));
}

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("\n")) resolve(out.slice(0, out.indexOf("\n")));
    });
    child.once("exit", (code) => reject(new Error(`child exited (${code}) before a line: ${out}`)));
  });
}

/** A zombie: `sleep 0` backgrounded by a shell that then execs a sleep that never reaps it. */
export async function zombie(): Promise<number> {
  const { line } = await runShell("sleep 0 & echo $!; exec sleep 60");
  const pid = Number(line);
  const deadline = Date.now() + 5000;
  while (procState(pid) !== "Z") {
    if (Date.now() > deadline) throw new Error(`pid ${pid} did not become a zombie`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return pid;
}

function runShell(command: string): Promise<RunningChild> {
  const child = spawn("sh", ["-c", command], { stdio: ["ignore", "pipe", "inherit"] });
  children.add(child);
  child.once("exit", () => children.delete(child));
  return firstLine(child).then((line) => ({ child, line }));
}

function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  } catch {
    return undefined;
  }
}

/** The pid of a process that ran and is gone. */
export async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await new Promise((r) => child.once("exit", r));
  return child.pid!;
}

/** kill -9; resolves once the process is gone (not alive, or a zombie). */
export async function killAndWait(pid: number): Promise<void> {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    /* gone already */
  }
  while (isAlive(pid)) await new Promise((r) => setTimeout(r, 10));
}

/** Kills every child these tools started that still runs. */
export async function stopAll(): Promise<void> {
  await Promise.all([...children].map((c) => killAndWait(c.pid!)));
  children.clear();
}
