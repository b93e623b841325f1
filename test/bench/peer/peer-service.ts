/**
 * PeerService: the peer baseline's server (counter-service.ts) in a child process of its
 * own, with a fresh database in a fresh temp folder, seen from the benchmark or a test.
 *
 *   await withPeerService(async (peer) => {
 *     ... http://127.0.0.1:${peer.port}/counters/a/increment ... peer.pid (for /proc) ...
 *   });
 *
 * The child is killed (SIGKILL, by its pid) and the folder removed however the body ends,
 * and also on SIGINT/SIGTERM (the child would exit with its IPC channel; the folder would
 * stay). The child exits by itself when the channel closes, so a benchmark that dies cannot
 * leave it behind.
 */
import { fork, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { PeerServiceReady } from "./counter-service.js";

const SCRIPT = path.join(__dirname, "counter-service.js");
const READY_TIMEOUT_MS = 15_000;

export interface PeerService {
  /** Its port on 127.0.0.1. */
  port: number;
  /** The server process (its CPU time is the peer's server CPU). */
  pid: number;
  /** The PRAGMA values it reported, as read back from SQLite. */
  settings: Record<string, unknown>;
  /** The database's folder (removed afterwards). */
  dir: string;
}

export async function withPeerService<T>(body: (peer: PeerService) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "clouds-peer-"));
  const child = fork(SCRIPT, [path.join(dir, "counters.sqlite")], { execArgv: ["--enable-source-maps"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const onSignal = (signal: NodeJS.Signals): void => {
    console.error(`bench: ${signal}: killing the peer service, removing ${dir}`);
    kill(child);
    rmSync(dir, { recursive: true, force: true });
    // Another handler (a BenchCluster stopping its servers) exits once it is done.
    if (process.listenerCount(signal) === 0) process.exit(signal === "SIGINT" ? 130 : 143);
  };
  process.once("SIGINT", onSignal).once("SIGTERM", onSignal);
  try {
    const ready = await readiness(child);
    return await body({ port: ready.port, pid: child.pid!, settings: ready.settings, dir });
  } finally {
    process.off("SIGINT", onSignal).off("SIGTERM", onSignal);
    await stop(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

function readiness(child: ChildProcess): Promise<Extract<PeerServiceReady, { port: number }>> {
  return new Promise((resolve, reject) => {
    const settle = (fn: () => void): void => {
      clearTimeout(timer);
      child.off("exit", onExit).off("message", onMessage);
      fn();
    };
    const onExit = (code: number | null, signal: string | null): void =>
      settle(() => reject(new Error(`peer service exited (${code ?? signal}) before listening`)));
    const onMessage = (msg: PeerServiceReady): void =>
      settle(() => ("error" in msg ? reject(new Error(`peer service failed: ${msg.error}`)) : resolve(msg)));
    const timer = setTimeout(() => settle(() => reject(new Error(`peer service did not report within ${READY_TIMEOUT_MS} ms`))), READY_TIMEOUT_MS);
    child.on("exit", onExit).on("message", onMessage);
  });
}

function running(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** SIGKILL now (a signal handler cannot wait). */
function kill(child: ChildProcess): void {
  if (child.connected) child.disconnect();
  if (running(child)) child.kill("SIGKILL");
}

/** SIGKILL, resolved once the process is gone (reaped): nothing is left when the body's promise settles. */
function stop(child: ChildProcess): Promise<void> {
  if (!running(child)) return Promise.resolve();
  const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  kill(child);
  return gone;
}
