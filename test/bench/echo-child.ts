/**
 * EchoChild: the echo server (echo-server.ts) in a child process, seen from the benchmark.
 *
 *   await withEchoChild(async (address, token) => {
 *     const peer = await transport.connect(address, { token, localId: "bench" });
 *     ...
 *   });
 *
 * The child is killed (SIGKILL, by its pid) however the body ends; it also exits by itself
 * when the IPC channel closes, so a benchmark that dies cannot leave it behind.
 */
import { fork, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as path from "node:path";
import type { EchoServerReady } from "./echo-server.js";

const SCRIPT = path.join(__dirname, "echo-server.js");
const READY_TIMEOUT_MS = 10_000;

export async function withEchoChild<T>(body: (address: string, token: string, pid: number) => Promise<T>): Promise<T> {
  const token = randomBytes(16).toString("hex");
  const child = fork(SCRIPT, [token], { execArgv: ["--enable-source-maps"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  try {
    return await body(await addressOf(child), token, child.pid!);
  } finally {
    stop(child);
  }
}

function addressOf(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`echo server did not report within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
    child.once("exit", (code) => reject(new Error(`echo server exited with code ${code} before listening`)));
    child.once("message", (msg: EchoServerReady) => {
      clearTimeout(timer);
      child.removeAllListeners("exit");
      if ("error" in msg) reject(new Error(`echo server failed: ${msg.error}`));
      else resolve(msg.address);
    });
  });
}

function stop(child: ChildProcess): void {
  if (child.connected) child.disconnect();
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
}
