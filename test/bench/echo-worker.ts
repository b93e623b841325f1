/**
 * EchoWorker: a worker thread that answers every message, for the bare cost of one hop to a
 * worker_threads worker and back — what an isiba adds to an invocation, without object code.
 */
import { Worker } from "node:worker_threads";

const SOURCE = `require("node:worker_threads").parentPort.on("message", (m) => require("node:worker_threads").parentPort.postMessage(m));`;

export class EchoWorker {
  private readonly worker = new Worker(SOURCE, { eval: true });
  private waiting: (() => void) | null = null;

  constructor() {
    this.worker.on("message", () => {
      const done = this.waiting;
      this.waiting = null;
      done?.();
    });
  }

  /** One message there and back, shaped like a small run request. */
  roundTrip(id: number): Promise<void> {
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.worker.postMessage({ type: "run", id, entry: "area", args: [] });
    });
  }

  close(): Promise<number> {
    return this.worker.terminate();
  }
}
