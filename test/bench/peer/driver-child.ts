/**
 * DriverChild: a driver process (http-driver.ts or clouds-driver.ts), seen from the
 * benchmark: forked with its config, then given one workload at a time.
 *
 *   await withDriver("http-driver.js", { port }, async (driver) => {
 *     const r = await driver.run({ kind: "sequential-increment", id: "seq", warmUp: 200, count: 2000 });
 *   });
 *
 * `run` rejects with the driver's error (a lost update, a failed call) or when the driver
 * exits. The driver is killed (SIGKILL, by its pid) however the body ends; it also exits by
 * itself when the IPC channel closes, so a benchmark that dies cannot leave it behind.
 */
import { fork, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import type { DriverReady, DriverReply, Workload, WorkloadResult } from "./driver-protocol.js";

const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 2_000;

export class DriverChild {
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (r: WorkloadResult) => void; reject: (e: Error) => void }>();

  constructor(private readonly child: ChildProcess, readonly script: string) {
    child.on("message", (msg: DriverReply) => this.settle(msg));
    child.once("exit", (code, signal) => this.failAll(new Error(`${script} exited (${code ?? signal})`)));
  }

  get pid(): number {
    return this.child.pid!;
  }

  run(workload: Workload): Promise<WorkloadResult> {
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { resolve, reject });
      this.child.send({ seq, workload });
    });
  }

  private settle(msg: DriverReply): void {
    const waiter = this.pending.get(msg.seq);
    if (!waiter) return;
    this.pending.delete(msg.seq);
    if ("error" in msg) waiter.reject(new Error(`${this.script}: ${msg.error}`));
    else waiter.resolve(msg.result);
  }

  private failAll(err: Error): void {
    for (const waiter of this.pending.values()) waiter.reject(err);
    this.pending.clear();
  }
}

/** Forks `script` (a file in this folder, as compiled) with `config`, waits until it is ready. */
export async function withDriver<T>(script: string, config: unknown, body: (driver: DriverChild) => Promise<T>): Promise<T> {
  const child = fork(path.join(__dirname, script), [JSON.stringify(config)], { execArgv: ["--enable-source-maps"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  try {
    await readiness(child, script);
    return await body(new DriverChild(child, script));
  } finally {
    await stop(child);
  }
}

function readiness(child: ChildProcess, script: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (fn: () => void): void => {
      clearTimeout(timer);
      child.off("exit", onExit).off("message", onMessage);
      fn();
    };
    const onExit = (code: number | null, signal: string | null): void => settle(() => reject(new Error(`${script} exited (${code ?? signal}) before it was ready`)));
    const onMessage = (msg: DriverReady): void => settle(() => ("error" in msg ? reject(new Error(`${script} could not start: ${msg.error}`)) : resolve()));
    const timer = setTimeout(() => settle(() => reject(new Error(`${script} was not ready within ${READY_TIMEOUT_MS} ms`))), READY_TIMEOUT_MS);
    child.on("exit", onExit).on("message", onMessage);
  });
}

/**
 * Closes the channel (the driver closes its connections and exits), SIGKILL if it is still
 * there after STOP_GRACE_MS; resolves once it is gone.
 */
function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  if (child.connected) child.disconnect();
  const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
  return gone.finally(() => clearTimeout(timer));
}
