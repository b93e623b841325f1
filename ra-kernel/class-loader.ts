/**
 * ClassLoader: evaluates a class's code segment once per worker, in a context of its own.
 *
 * The code is a CommonJS bundle of the class file and its relative imports (made by
 * `clouds compile`). It runs in a fresh `vm` context: JavaScript's built-ins only, with no
 * `require`, `process`, timers, file system or network. Its one import, "clouds-ts", is
 * answered with the runtime module. Module-level variables live per worker and per class
 * version: they are neither persistent nor shared (README says so).
 *
 * `module`, `exports` and `require` are made inside the context, so class code gets no host
 * object but the runtime's. This keeps honest code from reaching Node by accident; it is not
 * a security boundary (a `vm` context never is: the runtime's own functions lead back to the
 * host's Function). Run only class files you trust.
 */
import * as vm from "node:vm";
import * as runtime from "../objects/index.js";
import { CloudsObject } from "../objects/clouds-object.js";
import { ClassLoadError } from "./errors.js";
import type { ClassRef } from "./isiba-messages.js";

export type PersistentClass = new (...args: unknown[]) => CloudsObject;

export class ClassLoader {
  private readonly classes = new Map<string, PersistentClass>();

  has(key: string): boolean {
    return this.classes.has(key);
  }

  /** The class for `ref`, evaluating its code the first time. */
  load(ref: ClassRef): PersistentClass {
    const loaded = this.classes.get(ref.key);
    if (loaded) return loaded;
    if (ref.code === undefined) throw new ClassLoadError(`class ${ref.key} has no code in this worker`, { className: ref.name });
    const cls = evaluate(ref.name, ref.key, ref.code);
    this.classes.set(ref.key, cls);
    return cls;
  }
}

/** Evaluates a bundle and returns its exported class `name`. Also used by the compiler. */
export function evaluate(name: string, key: string, code: string): PersistentClass {
  const exports = evaluateModule(key, code);
  const cls = exports[name];
  if (typeof cls !== "function" || !(cls.prototype instanceof CloudsObject)) {
    throw new ClassLoadError(`class ${name} is not exported by its code segment as a CloudsObject subclass`, { className: name });
  }
  return cls as PersistentClass;
}

/** Runs a CommonJS bundle in a fresh context; returns its exports. */
export function evaluateModule(key: string, code: string): Record<string, unknown> {
  const context = vm.createContext(Object.create(null), {
    name: `clouds class ${key}`,
    codeGeneration: { strings: false, wasm: false },
  });
  try {
    const load = vm.runInContext(moduleWrapper(code), context, { filename: `clouds:${key}.js` });
    return load(runtime) as Record<string, unknown>;
  } catch (err) {
    throw new ClassLoadError(`cannot evaluate code of ${key}: ${(err as Error).message}`, { className: key });
  }
}

const IMPORT_REFUSED = 'a Clouds class can import only "clouds-ts" and its own relative files, not ';

/** A CommonJS scope built inside the context; only "clouds-ts" can be required. */
function moduleWrapper(code: string): string {
  return `(function (runtime) {
  const module = { exports: {} };
  const require = (id) => {
    if (id === "clouds-ts") return runtime;
    throw new Error(${JSON.stringify(IMPORT_REFUSED)} + "'" + id + "'");
  };
  (function (exports, require, module) {${code}\n})(module.exports, require, module);
  return module.exports;
})`;
}
