/**
 * HardenedRealm: Hardened JavaScript (SES) in an isiba worker — what keeps object code to
 * its own object.
 *
 * `lockdownRealm()` runs once, first thing in a worker, after the runtime's modules loaded:
 *
 * 1. `lockdown()` freezes every intrinsic of the worker's realm (Object, Array.prototype,
 *    Function.prototype, Promise...) and replaces `Function.prototype.constructor` (and the
 *    async and generator function constructors) with functions that throw. So no value
 *    object code is handed leads back to a Function that compiles in the worker's own scope,
 *    where `process` and `require` live, and no class can change a built-in for the others.
 * 2. It hardens (freezes, transitively) the runtime that object code can reach: the
 *    "clouds-ts" module and every class of which the runtime hands out instances (views of
 *    the heap, references, locks, errors). Instances stay the invocation's own.
 * 3. It freezes every promise at birth (`guardAsyncBookkeeping`): Node keeps its async
 *    bookkeeping on promises, where object code could corrupt it and abort the process.
 *
 * Each class version then runs in a `Compartment` of its own (`evaluateInCompartment`):
 * its global holds the frozen intrinsics, `harden`, `Date` and `Math` (time and random
 * numbers are allowed), and nothing of Node: no `process`, `require`, timers, `console`,
 * `WebAssembly`, `SharedArrayBuffer` or `Atomics`. `eval` and `Function` there compile in
 * the compartment's scope only. Its one import, "clouds-ts", is the hardened runtime.
 *
 * Why the globals are hoisted into constants (`hoistable`): a compartment resolves a
 * free identifier through a scope Proxy, ~150 ns per `Math` or `Map` against ~1 ns for a
 * constant. Module code sees the same values, read once when the class is loaded.
 *
 * What this does not bound: CPU time and memory (the isiba pool's kill, deadline and heap
 * limits do, ra-kernel/isiba-pool.ts), and module-level variables, which every object of
 * the class shares in a worker (README "Limits").
 *
 * `CLOUDS_UNCONFINED_OBJECT_CODE=1` in a compute server's environment turns all this off
 * (a `vm` context per class, as before issue 15): `npm run bench` measures the cost of the
 * boundary with it. It is never a default, and the compute server says so in its log.
 *
 * Rules: call `lockdownRealm` only in an isiba worker (it freezes the whole realm; the
 * compiler and unit tests evaluate classes in a `vm` context instead, class-loader.ts).
 */
import "ses";
import { promiseHooks } from "node:v8";
import * as runtime from "../objects/index.js";
import { errorClasses, type WireError } from "./clouds-error.js";
import { handedOutClasses } from "../objects/handed-out-classes.js";
import { moduleWrapper, type ModuleExports } from "./class-loader.js";
import { runLogging, WriteLog } from "./write-log.js";

/** The runtime object code imports, frozen; made by lockdownRealm. */
let hardenedRuntime: Readonly<Record<string, unknown>> | undefined;

/** Locks the realm down and hardens the runtime (see the header). Idempotent. */
export function lockdownRealm(): void {
  if (hardenedRuntime) return;
  lockdown({
    // Stacks stay readable (callers see where object code threw); a user's
    // Error.prepareStackTrace gets call sites with no `this` or function.
    errorTaming: "unsafe",
    stackFiltering: "verbose",
    // Assigning `this.name` in an Error subclass, or `toString` on a plain object, keeps
    // working; not "moderate": it makes Array.prototype.push and [Symbol.iterator] accessors,
    // which slows every array push and iteration in the worker.
    overrideTaming: "min",
    // The worker's own handlers (isiba-worker.ts) decide what an uncaught error does.
    errorTrapping: "none",
    unhandledRejectionTrapping: "none",
    consoleTaming: "unsafe",
    domainTaming: "unsafe",
  });
  guardAsyncBookkeeping();
  // Node's globals are not intrinsics: freeze those an error from the runtime may be.
  if (typeof DOMException === "function") harden(DOMException);
  for (const cls of [...errorClasses(), ...handedOutClasses()]) harden(cls);
  hardenedRuntime = harden({ ...runtime });
}

/**
 * Freezes every promise as it is made, once Node has written its async bookkeeping on it.
 *
 * With AsyncLocalStorage on (the runtime uses it: HiddenAsyncStore), Node keeps each
 * promise's async ids in symbol properties of the promise itself. Object code that wrote
 * there (`Object.getOwnPropertySymbols(p)`) made Node abort the whole compute server when
 * the promise's continuation ran ("async hook stack has become corrupted"). A frozen promise
 * refuses the write (TypeError), and Node never writes there after.
 *
 * Our hook must run after Node's, so Node's is enabled first (the write log's store is run
 * here). A promise
 * found without the ids (were the order ever reversed) is left alone rather than broken; the
 * escape suite's `forgedStore` fails then.
 */
function guardAsyncBookkeeping(): void {
  let sample: Promise<void> | undefined;
  // The write log's store, which the worker uses anyway: another one would cost every promise.
  runLogging(new WriteLog(0), () => {
    sample = Promise.resolve();
  });
  const asyncId = Object.getOwnPropertySymbols(sample!).find((s) => s.description === "async_id_symbol");
  if (asyncId === undefined) throw new Error("lockdownRealm: Node keeps no async id on promises here; the guard of its async bookkeeping does not know this Node version");
  promiseHooks.onInit((promise) => {
    if (asyncId in promise) Object.freeze(promise);
  });
}

/** SES's words when object code reached for a Function constructor (`x.constructor.constructor`). */
const NO_FUNCTION_CONSTRUCTOR = /^Function\.prototype\.constructor is not a valid constructor\.$/;

/**
 * An error of object code, with a word on the confinement where SES's own message does not
 * say that it is one (the caller sees "TypeError: ... (at cs1)" and should learn why).
 */
export function explainConfinement(error: WireError): WireError {
  if (error.name !== "TypeError" || !NO_FUNCTION_CONSTRUCTOR.test(error.message)) return error;
  return { ...error, message: `${error.message} Object code is confined: it cannot compile code outside its compartment (README "Limits")` };
}

/** Globals of the compartment that are hoisted into constants (see the header). */
function hoistable(global: object): string[] {
  const names: string[] = [];
  for (const name of Object.getOwnPropertyNames(global)) {
    // `eval` must stay a free identifier (direct eval), `globalThis` is the source; the rest are constants anyway.
    if (name === "eval" || name === "globalThis" || name === "undefined" || name === "NaN" || name === "Infinity") continue;
    if (/^[A-Za-z_$][\w$]*$/.test(name)) names.push(name);
  }
  return names;
}

/** Runs a CommonJS bundle in a new compartment; returns its exports. lockdownRealm first. */
export function evaluateInCompartment(key: string, code: string): ModuleExports {
  if (!hardenedRuntime) throw new Error("evaluateInCompartment before lockdownRealm");
  const compartment = new Compartment({ __options__: true, name: `clouds class ${key}`, globals: { Date, Math } });
  const load = compartment.evaluate(moduleWrapper(code, `\n  const { ${hoistable(compartment.globalThis).join(", ")} } = globalThis;`)) as (rt: object) => ModuleExports;
  return load(hardenedRuntime);
}
