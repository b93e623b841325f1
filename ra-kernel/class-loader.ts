/**
 * ClassLoader: evaluates a class's code segment once per worker, in a scope of its own.
 *
 * The code is a CommonJS bundle of the class file and its relative imports (made by
 * `clouds compile`). Its one import, "clouds-ts", is answered with the runtime module.
 * Module-level variables live per worker and per class version: they are neither
 * persistent nor shared (README says so).
 *
 * Where it is evaluated is the loader's ModuleEvaluator:
 * - in an isiba worker, a SES Compartment in a locked-down realm (hardened-realm.ts): the
 *   security boundary between object code and the compute server (README "Limits");
 * - elsewhere (the compiler reading a file's classes on the user's own machine, unit
 *   tests), `evaluateModule`: a fresh `vm` context with JavaScript's built-ins only, no
 *   `require`, `process`, timers, file system or network, and no code generation from
 *   strings. That keeps honest code from reaching Node by accident; it is not a boundary
 *   (the runtime's functions lead back to the host's Function), and needs no lockdown of
 *   the process it runs in.
 */
import * as vm from "node:vm";
import * as runtime from "../objects/index.js";
import { CloudsObject } from "../objects/clouds-object.js";
import { ClassLoadError } from "./errors.js";
import type { ClassRef } from "./isiba-messages.js";

export type PersistentClass = new (...args: unknown[]) => CloudsObject;
export type ModuleExports = Record<string, unknown>;
/** Runs a CommonJS bundle (`key` names it in errors and stacks); returns its exports. */
export type ModuleEvaluator = (key: string, code: string) => ModuleExports;

export class ClassLoader {
  private readonly classes = new Map<string, PersistentClass>();

  constructor(private readonly evaluator: ModuleEvaluator = evaluateModule) {}

  has(key: string): boolean {
    return this.classes.has(key);
  }

  /** The class for `ref`, evaluating its code the first time. */
  load(ref: ClassRef): PersistentClass {
    const loaded = this.classes.get(ref.key);
    if (loaded) return loaded;
    if (ref.code === undefined) throw new ClassLoadError(`class ${ref.key} has no code in this worker`, { className: ref.name });
    const cls = evaluate(ref.name, ref.key, ref.code, this.evaluator);
    this.classes.set(ref.key, cls);
    return cls;
  }
}

/** Evaluates a bundle and returns its exported class `name`. Also used by the compiler. */
export function evaluate(name: string, key: string, code: string, evaluator: ModuleEvaluator = evaluateModule): PersistentClass {
  const exports = evaluateWith(evaluator, key, code);
  const cls = exports[name];
  if (typeof cls !== "function" || !(cls.prototype instanceof CloudsObject)) {
    throw new ClassLoadError(`class ${name} is not exported by its code segment as a CloudsObject subclass`, { className: name });
  }
  // esbuild renames a class that names itself in its own body (`_Counter`); errors and the
  // instance proxy's messages use the class's name, so give it back the one it is known by.
  if (cls.name !== name) Object.defineProperty(cls, "name", { value: name, configurable: true });
  return cls as PersistentClass;
}

/** Runs `evaluator`; whatever the code throws becomes a ClassLoadError naming the class. */
function evaluateWith(evaluator: ModuleEvaluator, key: string, code: string): ModuleExports {
  try {
    return evaluator(key, code);
  } catch (err) {
    if (err instanceof ClassLoadError) throw err;
    throw new ClassLoadError(`cannot evaluate code of ${key}: ${messageOf(err)}`, { className: key });
  }
}

/** A thrown value's message; object code may throw anything, even a Proxy whose traps throw. */
function messageOf(err: unknown): string {
  try {
    return typeof (err as Error)?.message === "string" ? (err as Error).message : String(err);
  } catch {
    return "a value that cannot be shown";
  }
}

/** Runs a CommonJS bundle in a fresh `vm` context (see the header); returns its exports. */
export function evaluateModule(key: string, code: string): ModuleExports {
  return evaluateWith(inContext, key, code);
}

function inContext(key: string, code: string): ModuleExports {
  const context = vm.createContext(Object.create(null), {
    name: `clouds class ${key}`,
    codeGeneration: { strings: false, wasm: false },
  });
  const load = vm.runInContext(moduleWrapper(code), context, { filename: `clouds:${key}.js` });
  return load(runtime) as ModuleExports;
}

const IMPORT_REFUSED = 'a Clouds class can import only "clouds-ts" and its own relative files, not ';

/**
 * A CommonJS scope built inside the context; only "clouds-ts" can be required. `prologue`
 * runs first, in the same scope (hardened-realm.ts hoists globals there).
 */
export function moduleWrapper(code: string, prologue = ""): string {
  return `(function (runtime) {${prologue}
  const module = { exports: {} };
  const require = (id) => {
    if (id === "clouds-ts") return runtime;
    throw new Error(${JSON.stringify(IMPORT_REFUSED)} + "'" + id + "'");
  };
  (function (exports, require, module) {${code}\n})(module.exports, require, module);
  return module.exports;
})`;
}
