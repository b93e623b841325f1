import { expect } from "chai";
import { ClassLoader, evaluate, evaluateModule } from "../../ra-kernel/class-loader.js";
import { ClassLoadError } from "../../ra-kernel/errors.js";
import { CloudsObject } from "../../objects/clouds-object.js";
import { Worker } from "node:worker_threads";
import * as path from "node:path";

/** Evaluates `code` in a compartment of a worker that locked down first: its outcomes, or "Name: message". */
function inLockedDownWorker(code: string): Promise<unknown> {
  const worker = new Worker(path.join(__dirname, "../support/compartment-probe-worker.js"), { workerData: { code } });
  return new Promise<unknown>((resolve, reject) => {
    worker.once("message", (m: { outcomes?: unknown; error?: string }) => resolve(m.error ?? m.outcomes));
    worker.once("error", reject);
  }).finally(() => worker.terminate());
}

/** A CommonJS bundle like `clouds compile` makes, with `body` at module level. */
function bundle(body: string): string {
  return `"use strict";
const { CloudsObject } = require("clouds-ts");
class Probe extends CloudsObject {}
exports.Probe = Probe;
${body}`;
}

function run(body: string): Record<string, unknown> {
  return evaluateModule("Probe@1", bundle(body));
}

describe("ClassLoader", () => {
  describe("evaluateModule", () => {
    it("should answer require('clouds-ts') with the runtime", () => {
      const exports = run("");
      expect((exports.Probe as { prototype: object }).prototype).to.be.instanceOf(CloudsObject);
    });

    it("should refuse any other require, naming the module", () => {
      expect(() => run(`require("fs");`)).to.throw(
        ClassLoadError,
        /^cannot evaluate code of Probe@1: a Clouds class can import only "clouds-ts" and its own relative files, not 'fs'$/,
      );
    });

    it("should refuse require from a method called later, too", () => {
      const exports = run(`exports.load = () => require("node:child_process");`);
      expect(() => (exports.load as () => unknown)()).to.throw(/not 'node:child_process'/);
    });

    it("should give the code no process, require or timers of the host", () => {
      const exports = run(`exports.kinds = [typeof process, typeof globalThis.require, typeof setTimeout, typeof Buffer, typeof globalThis.module];`);
      expect(exports.kinds).to.deep.equal(["undefined", "undefined", "undefined", "undefined", "undefined"]);
    });

    it("should block eval and new Function", () => {
      const exports = run(`
        const tries = [() => eval("1 + 1"), () => new Function("return 1")(), () => (0, eval)("2")];
        exports.outcomes = tries.map((t) => { try { return "ran: " + t(); } catch (e) { return e.name + ": " + e.message; } });`);
      for (const outcome of exports.outcomes as string[]) {
        expect(outcome).to.equal("EvalError: Code generation from strings disallowed for this context");
      }
    });

    it("should give each evaluation its own module-level variables", () => {
      const code = bundle(`let calls = 0; exports.next = () => ++calls;`);
      const a = evaluateModule("Probe@1", code);
      const b = evaluateModule("Probe@1", code);
      const next = (m: Record<string, unknown>) => (m.next as () => number)();
      expect([next(a), next(a), next(b), next(a)]).to.deep.equal([1, 2, 1, 3]);
    });

    it("should give each evaluation its own built-ins", () => {
      const a = run(`Array.prototype.tainted = true; exports.own = [].tainted;`);
      const b = run(`exports.own = [].tainted;`);
      expect([a.own, b.own]).to.deep.equal([true, undefined]);
      expect(([] as unknown as Record<string, unknown>).tainted).to.equal(undefined);
    });

    it("should report code that does not parse as a ClassLoadError", () => {
      expect(() => evaluateModule("Broken@1", "class {")).to.throw(ClassLoadError, /^cannot evaluate code of Broken@1: /);
    });

    // Not a boundary (class-loader.ts says so): here, in the process that compiles classes,
    // `require.constructor("return process")()` still works. In a compute server's worker it
    // does not: see "evaluateInCompartment" below and test/security/.
  });

  describe("evaluateInCompartment (in a locked-down worker, as compute servers run classes)", function () {
    this.timeout(20_000);

    it("should not let class code reach the host's Function through the objects it is given", async () => {
      const outcomes = await inLockedDownWorker(bundle(`
        const tries = [() => require.constructor("return process")(), () => module.constructor.constructor("return process")(), () => CloudsObject.constructor("return process")()];
        exports.outcomes = tries.map((t) => { try { return typeof t(); } catch (e) { return e.name + ": " + e.message; } });`));
      expect(outcomes).to.deep.equal(Array(3).fill("TypeError: Function.prototype.constructor is not a valid constructor."));
    });

    it("should give the code no process, require, timers or Node globals, and frozen built-ins", async () => {
      const outcomes = await inLockedDownWorker(bundle(`
        let taint;
        try { Array.prototype.tainted = true; taint = "changed"; } catch (e) { taint = e.name; }
        exports.outcomes = [typeof process, typeof globalThis.require, typeof setTimeout, typeof Buffer, typeof WebAssembly, typeof SharedArrayBuffer, taint];`));
      expect(outcomes).to.deep.equal(["undefined", "undefined", "undefined", "undefined", "undefined", "undefined", "TypeError"]);
    });

    it("should keep Date, Math and eval working, confined to the compartment", async () => {
      const outcomes = await inLockedDownWorker(bundle(`
        exports.outcomes = [Date.now() > 0, new Date().getTime() > 0, Math.random() < 1, (0, eval)("typeof process"), Function("return typeof require")()];`));
      expect(outcomes).to.deep.equal([true, true, true, "undefined", "undefined"]);
    });

    it("should refuse any require but clouds-ts, and report code that does not load as a ClassLoadError", async () => {
      expect(await inLockedDownWorker(bundle(`require("fs");`))).to.match(/^ClassLoadError: cannot evaluate code of Probe@1: a Clouds class can import only "clouds-ts" and its own relative files, not 'fs'$/);
      expect(await inLockedDownWorker(bundle(`exports.f = () => import("fs");`))).to.match(/^ClassLoadError: cannot evaluate code of Probe@1: Possible import expression rejected/);
    });
  });

  describe("evaluate", () => {
    it("should return the exported persistent class", () => {
      const cls = evaluate("Probe", "Probe@1", bundle(""));
      expect(cls.name).to.equal("Probe");
      expect(cls.prototype).to.be.instanceOf(CloudsObject);
    });

    // Regression: esbuild bundles a class that names itself in its body as `_Probe`, and the
    // instance proxy's errors then said `_Probe.x: ...`.
    it("should give the class the name it is exported by", () => {
      const code = `"use strict";
const { CloudsObject } = require("clouds-ts");
var _Probe = class _Probe extends CloudsObject { static self() { return _Probe; } };
exports.Probe = _Probe;`;
      expect(evaluate("Probe", "Probe@1", code).name).to.equal("Probe");
    });

    it("should refuse a name the code does not export as a CloudsObject subclass", () => {
      const code = bundle(`exports.Plain = class Plain {};`);
      expect(() => evaluate("Missing", "Probe@1", code)).to.throw(ClassLoadError, /class Missing is not exported by its code segment/);
      expect(() => evaluate("Plain", "Probe@1", code)).to.throw(ClassLoadError, /class Plain is not exported/);
    });
  });

  describe("load", () => {
    it("should evaluate a class once per key and cache it", () => {
      const loader = new ClassLoader();
      const code = bundle("");
      expect(loader.has("Probe@1")).to.equal(false);
      const first = loader.load({ key: "Probe@1", name: "Probe", code });
      expect(loader.has("Probe@1")).to.equal(true);
      expect(loader.load({ key: "Probe@1", name: "Probe", code })).to.equal(first);
      expect(loader.load({ key: "Probe@1", name: "Probe" })).to.equal(first);
    });

    it("should evaluate another version of the same class anew", () => {
      const loader = new ClassLoader();
      const code = bundle("");
      const v1 = loader.load({ key: "Probe@1", name: "Probe", code });
      const v2 = loader.load({ key: "Probe@2", name: "Probe", code });
      expect(v2).to.not.equal(v1);
    });

    it("should refuse a key it has no code for", () => {
      expect(() => new ClassLoader().load({ key: "Probe@9", name: "Probe" }))
        .to.throw(ClassLoadError, /^class Probe@9 has no code in this worker$/)
        .with.property("className", "Probe");
    });
  });
});
