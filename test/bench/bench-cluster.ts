/**
 * BenchCluster: a throwaway Clouds cluster for one benchmark — `clouds up --detach` in a
 * fresh temp directory, stopped with `clouds down` and the directory removed afterwards.
 *
 *   await withBenchCluster({ compute: 2 }, async (bench) => {
 *     const cluster = await connect({ dir: bench.dir });
 *     ... bench.info.servers (id, role, address, pid) ...
 *   });
 *
 * The cluster is stopped however the body ends, and also on SIGINT/SIGTERM (the servers are
 * detached processes: nothing else would stop them). Stopping is asynchronous on purpose:
 * a server closing on SIGTERM waits for its clients' websocket close handshakes, so the
 * benchmark's own event loop must keep running while `clouds down` waits for the servers.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { readCluster, type ClusterInfo } from "../../shell/cluster-file.js";

/** The repo root (benchmarks run from dist/test/bench/). */
export const REPO_ROOT = path.resolve(__dirname, "../../..");
const CLOUDS = path.join(REPO_ROOT, "bin/clouds");
const UP_TIMEOUT_MS = 60_000;
const DOWN_TIMEOUT_MS = 30_000;

const run = promisify(execFile);

export interface BenchClusterOptions {
  compute: number;
  /** @default 1 */
  data?: number;
  /**
   * Variables added to the environment of `clouds up --detach`. Every server inherits that
   * environment (shell/server-process.ts spawns them without an `env` of its own), and so
   * do its isiba workers: e.g. `{ CLOUDS_UNCONFINED_OBJECT_CODE: "1" }` (isolation.bench.ts).
   * @default {} (this process's environment as it is)
   */
  env?: NodeJS.ProcessEnv;
}

export interface BenchCluster {
  /** The cluster directory (cluster.json, token, logs/). */
  dir: string;
  info: ClusterInfo;
}

export async function withBenchCluster<T>(options: BenchClusterOptions, body: (bench: BenchCluster) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "clouds-bench-"));
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= stopCluster(dir));
  const onSignal = (signal: NodeJS.Signals): void => {
    console.error(`bench: ${signal}: stopping the cluster in ${dir}`);
    void stop().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  };
  process.once("SIGINT", onSignal).once("SIGTERM", onSignal);
  try {
    const args = ["up", "--detach", "--dir", dir, "--compute", String(options.compute), "--data", String(options.data ?? 1)];
    await run(process.execPath, [CLOUDS, ...args], { timeout: UP_TIMEOUT_MS, env: { ...process.env, ...options.env } });
    return await body({ dir, info: readCluster(dir) });
  } finally {
    process.off("SIGINT", onSignal).off("SIGTERM", onSignal);
    await stop();
  }
}

/** `clouds down`, then the directory goes; never throws (a failure is reported on stderr). */
async function stopCluster(dir: string): Promise<void> {
  try {
    await run(process.execPath, [CLOUDS, "down", "--dir", dir], { timeout: DOWN_TIMEOUT_MS });
  } catch (err) {
    console.error(`bench: clouds down --dir ${dir} failed: ${(err as Error).message}`);
  }
  rmSync(dir, { recursive: true, force: true });
}
