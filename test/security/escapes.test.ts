/**
 * Object code isolation (issue 15) on a real cluster: each entry of Escaper
 * (test/fixtures/escaper.ts) is one known technique for leaving a `vm`-style sandbox, aimed
 * at `process`, `require`, the file system or another object's memory. Each must end in a
 * clear error at its caller. After each, the compute server still serves, and Vault (another
 * object, of another class, in the same worker: one compute server with one isiba worker)
 * still holds its secret, and sees the built-ins unchanged.
 */
import { expect } from "chai";
import * as path from "node:path";
import { TestCluster } from "../support/test-cluster.js";
import { REPO_ROOT } from "../support/compiled-examples.js";
import type { Cluster } from "../../shell/client/cluster.js";
import type { Remote } from "../../shell/client/remote.js";
import type { Vault } from "../fixtures/vault.js";
import type { Escaper } from "../fixtures/escaper.js";

const FIXTURES = path.join(REPO_ROOT, "test/fixtures");

/** What the constructor chains end in: lockdown's Function.prototype.constructor, explained. */
const NO_FUNCTION = /^Function\.prototype\.constructor is not a valid constructor\. Object code is confined: it cannot compile code outside its compartment \(README "Limits"\)$/;
/** A lookup of something the compartment does not have, then its use. */
const UNDEFINED = /^Cannot read properties of undefined \(reading '(pid|process|Module|data|syscall|name)'\)$/;
const FROZEN = /^Cannot (assign to read only property|add property|redefine property)/;

/** [entry, what it tries, the error's name, its message] */
const TECHNIQUES: [keyof Escaper, string, string, RegExp][] = [
  ["issueSnippet", "issue 15's snippet: the prototype chain of this to Function", "TypeError", NO_FUNCTION],
  ["printConstructor", "this.print.constructor", "TypeError", NO_FUNCTION],
  ["classConstructor", "this.constructor.constructor", "TypeError", NO_FUNCTION],
  ["requireConstructor", "require.constructor", "TypeError", NO_FUNCTION],
  ["moduleConstructor", "module.constructor.constructor", "TypeError", NO_FUNCTION],
  ["asyncFunctionConstructor", "the AsyncFunction constructor", "TypeError", NO_FUNCTION],
  ["generatorFunctionConstructor", "the GeneratorFunction constructor", "TypeError", NO_FUNCTION],
  ["asyncGeneratorFunctionConstructor", "the AsyncGeneratorFunction constructor", "TypeError", NO_FUNCTION],
  ["threadConstructor", "the constructor chain of this.thread", "TypeError", NO_FUNCTION],
  ["selfRefConstructor", "the constructor chain of a reference (this.self)", "TypeError", NO_FUNCTION],
  ["viewConstructors", "the constructor chains of views of object memory (bytes, Map, Date, Set)", "TypeError", NO_FUNCTION],
  ["lockHandle", "the constructor chain of a Lock handle", "TypeError", NO_FUNCTION],
  ["runtimeError", "the constructor chain of an error the runtime threw", "TypeError", NO_FUNCTION],
  ["nestedResult", "the constructor chain of a nested invocation's promise", "TypeError", NO_FUNCTION],
  ["argumentsCallee", "arguments.callee.caller", "TypeError", /'caller', 'callee', and 'arguments' properties may not be accessed/],
  ["runtimeCaller", ".caller of a runtime function running the class's callback", "TypeError", UNDEFINED],
  ["prepareStackTrace", "Error.prepareStackTrace to get V8 call sites (getThis, getFunction)", "TypeError", /^sites\.map is not a function$/],
  ["captureStackTrace", "Error.captureStackTrace, then require a file its stack names", "Error", /can import only "clouds-ts" and its own relative files, not '/],
  ["globalProcess", "globalThis.process", "TypeError", UNDEFINED],
  ["functionReturnsThis", "Function('return this')() for the global object", "TypeError", UNDEFINED],
  ["indirectEval", "indirect eval of process.pid", "TypeError", UNDEFINED],
  ["indirectEvalRequire", "indirect eval of require('node:fs')", "TypeError", /^require is not a function$/],
  ["requireFs", "require('node:fs')", "Error", /can import only "clouds-ts" and its own relative files, not 'node:fs'$/],
  ["nestedCompartment", "a Compartment of its own, evaluating process.pid", "TypeError", UNDEFINED],
  ["timers", "setTimeout", "TypeError", /^globalThis\.setTimeout is not a function$/],
  ["webAssembly", "WebAssembly", "TypeError", UNDEFINED],
  ["sharedMemory", "SharedArrayBuffer and Atomics", "TypeError", /^globalThis\.SharedArrayBuffer is not a constructor$/],
  ["framesThroughBytes", "the page frames under a persistent Uint8Array's .buffer", "WriteThroughError", /has no ArrayBuffer of its own/],
  ["toPrimitiveKey", "a lock key with Symbol.toPrimitive", "TypeError", /^lock\(key\): the key must be a string/],
  ["proxyAsThis", "a Proxy passed as this to checkHeap, spying on the runtime's keys", "TypeError", /^checkHeap\(self\): pass `this`/],
  ["proxyAsThisToLock", "a Proxy passed as this to CloudsObject.prototype.lock", "OutsideInvocationError", /^lock\(\) needs a running invocation/],
  ["proxyArgument", "a Proxy as the argument of a nested invocation", "NotTransferableError", /^the arguments of take\(\) cannot leave the object: /],
  ["inspectHook", "util.inspect's custom hook in print, for util.inspect itself", "TypeError", /^Cannot set properties of undefined \(setting 'defaultOptions'\)$/],
  ["throwProxy", "throwing a Proxy whose traps throw", "Error", /^the code threw a value that cannot be read \(reading it threw "trap"\)$/],
  ["throwHostile", "throwing an object whose message, name and stack getters throw", "Error", /^the code threw a value that cannot be read/],
  ["throwSymbol", "throwing a symbol", "Error", /^Symbol\(thrown\)$/],
  ["pollutePrototype", "adding to Object.prototype", "TypeError", FROZEN],
  ["polluteSpecies", "redefining Array[Symbol.species]", "TypeError", FROZEN],
  ["pollutePromiseThen", "replacing Promise.prototype.then", "TypeError", FROZEN],
  ["polluteRuntime", "replacing CloudsObject.prototype.print", "TypeError", FROZEN],
  ["polluteViewClass", "replacing the Map view class's get", "TypeError", FROZEN],
  ["polluteErrorClass", "replacing an error class's wireFields", "TypeError", FROZEN],
  ["polluteRuntimeModule", "replacing checkHeap in the clouds-ts module", "TypeError", FROZEN],
  ["changePrototypeOfThis", "Object.setPrototypeOf(this)", "TypeError", /^Escaper\.prototype: cannot be changed$/],
  ["internalsBySymbol", "the object's internals under its own or registered symbols", "TypeError", UNDEFINED],
  ["lockContext", "a Lock handle's invocation context, for raw syscalls", "TypeError", UNDEFINED],
  ["forgedStore", "Node's async ids and a forged async context (a fake write log and invocation) on a promise (it aborted the server)", "TypeError", /^Cannot assign to read only property 'Symbol\(async_id_symbol\)' of object '\[object Promise\]'$/],
  ["promiseStore", "the async context Node keeps on every promise (Symbol(kResourceStore)), for raw syscalls", "TypeError", /^store\.syscall is not a function$/],
  ["otherObjectHeap", "checkHeap on a reference to another object", "TypeError", /^checkHeap\(self\): pass `this`/],
];

describe("object code isolation: escape techniques (integration, real processes)", function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  let client: Cluster;
  let vault: Remote<Vault>;
  let escaper: Remote<Escaper>;

  before(async () => {
    // One compute server with one worker: every entry runs next to the Vault.
    cluster = await TestCluster.start({ compute: 1, workers: 1 });
    client = await cluster.connect();
    await client.load(path.join(FIXTURES, "vault.ts"));
    await client.load(path.join(FIXTURES, "escaper.ts"));
    vault = await client.create<Vault>("Vault", "vault", []);
    escaper = await client.create<Escaper>("Escaper", "escaper", []);
    expect(await vault.peek()).to.equal("VVVV-the-vault-secret");
  });

  after(async () => {
    await cluster?.stop();
  });

  afterEach(async () => {
    expect(await escaper.ping(), "the compute server still serves").to.equal("pong");
    expect(await vault.check(), "the other object and the built-ins it sees are unchanged").to.deep.equal({
      ok: true, secret: "VVVV-the-vault-secret", polluted: undefined, species: true, mapGet: 1,
    });
  });

  it("should have at least 25 techniques to try", () => {
    expect(TECHNIQUES.length).to.be.at.least(25);
  });

  for (const [entry, what, name, message] of TECHNIQUES) {
    it(`should stop ${what} (${entry}) with a clear error`, async () => {
      const args = ["nestedResult", "proxyArgument", "otherObjectHeap"].includes(entry) ? [vault] : [];
      const outcome = await client.invoke(escaper.sysname, entry, args).then(
        (value) => new Error(`ESCAPED: ${entry} returned ${JSON.stringify(value)}`),
        (err: Error) => err,
      );
      expect(outcome.message).to.match(message);
      expect(outcome.name).to.equal(name);
    });
  }

  it("should hand the class nothing shared with other classes that is not frozen", async () => {
    expect(await client.invoke(escaper.sysname, "unfrozenReach", [vault])).to.deep.equal([]);
  });

  it("should refuse at load a class with a dynamic import, saying why", async () => {
    const err = await client.load(path.join(FIXTURES, "importer.ts")).then(() => new Error("loaded"), (e: Error) => e);
    expect(err.name).to.equal("CompileError");
    expect(err.message).to.match(/importer\.ts: compute servers would refuse this code: Possible import expression rejected at line \d+ of the bundle\./);
    expect(err.message).to.include("They refuse a dynamic import()");
  });
});
