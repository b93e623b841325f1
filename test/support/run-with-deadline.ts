/**
 * runWithDeadline: runs a CommonJS snippet in a worker thread and returns what it posts,
 * or "timed out" when it does not post within `ms` (the worker is then terminated). For
 * tests of code that could loop forever, which would otherwise hang the whole run.
 * The snippet gets `parentPort` and `distRoot` (the compiled repo's root, dist/).
 */
import * as path from "node:path";
import { Worker } from "node:worker_threads";

export const DIST_ROOT = path.resolve(__dirname, "../..");

export function runWithDeadline(snippet: string, ms: number): Promise<unknown> {
  const code = `const { parentPort, workerData } = require("node:worker_threads");\nconst distRoot = workerData;\n${snippet}`;
  const worker = new Worker(code, { eval: true, workerData: DIST_ROOT });
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(() => {
      resolve("timed out");
      void worker.terminate();
    }, ms);
    worker.once("message", (value) => {
      clearTimeout(deadline);
      resolve(value);
      void worker.terminate();
    });
    worker.once("error", (err) => {
      clearTimeout(deadline);
      reject(err);
    });
  });
}
