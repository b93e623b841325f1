/**
 * A worker thread that does what an isiba worker does before running object code — locks
 * its realm down (ra-kernel/hardened-realm.ts) — then evaluates the bundle it is given in a
 * compartment and posts back the bundle's `exports.outcomes` (or the error's name and
 * message). For unit tests of the compartment evaluator: lockdown would freeze mocha's realm.
 */
import { parentPort, workerData } from "node:worker_threads";
import { evaluateInCompartment, lockdownRealm } from "../../ra-kernel/hardened-realm.js";
import { ClassLoader } from "../../ra-kernel/class-loader.js";

lockdownRealm();
const { code } = workerData as { code: string };
try {
  const loader = new ClassLoader(evaluateInCompartment);
  loader.load({ key: "Probe@1", name: "Probe", code });
  const exports = evaluateInCompartment("Probe@1", code);
  parentPort!.postMessage({ outcomes: exports.outcomes });
} catch (err) {
  parentPort!.postMessage({ error: `${(err as Error).name}: ${(err as Error).message}` });
}
