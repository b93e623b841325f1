/**
 * Starts PinWorkers (test/support/pin-worker.ts): worker threads that run accessors against
 * shared frames. `started` resolves when an "access" worker is about to access memory;
 * `done` with its report. A worker that throws rejects `done`.
 */
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import type { PinMessage, PinTask } from "./pin-worker.js";

export type PinReport = Extract<PinMessage, { type: "done" }>;

export interface PinWorker {
  readonly started: Promise<void>;
  readonly done: Promise<PinReport>;
  readonly worker: Worker;
}

export function startPinWorker(task: PinTask): PinWorker {
  const worker = new Worker(path.join(__dirname, "pin-worker.js"), { workerData: task });
  let onStarted!: () => void;
  const started = new Promise<void>((resolve) => (onStarted = resolve));
  const done = new Promise<PinReport>((resolve, reject) => {
    worker.on("message", (msg: PinMessage) => {
      if (msg.type === "started") onStarted();
      else resolve(msg);
    });
    worker.on("error", reject);
    worker.on("exit", (code) => reject(new Error(`pin worker exited with code ${code} before reporting`)));
  });
  return { started, done, worker };
}
