/**
 * A worker thread that does what an isiba worker does before running object code — locks
 * its realm down (ra-kernel/hardened-realm.ts) — then evaluates the bundle it is given in a
 * compartment and posts back the bundle's `exports.outcomes` (or the error's name and
 * message). For unit tests of the compartment evaluator: lockdown would freeze mocha's realm.
 */
import { parentPort, workerData } from "node:worker_threads";
import { evaluateInCompartment, lockdownRealm } from "../../ra-kernel/hardened-realm.js";
import { evaluate, type ModuleExports } from "../../ra-kernel/class-loader.js";

lockdownRealm();
const { code } = workerData as { code: string };
try {
  // As a worker's ClassLoader does (errors become ClassLoadError), keeping the exports.
  let exports: ModuleExports = {};
  evaluate("Probe", "Probe@1", code, (key, source) => (exports = evaluateInCompartment(key, source)));
  parentPort!.postMessage({ outcomes: exports.outcomes });
} catch (err) {
  parentPort!.postMessage({ error: `${(err as Error).name}: ${(err as Error).message}` });
}
