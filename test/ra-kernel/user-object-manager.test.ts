/**
 * Tests of the user object manager (ra-kernel/user-object-manager.ts): building O spaces
 * from descriptors and class segments, checking invocations before any object code runs,
 * and committing an invocation's last commit segment at the homes before it returns (its
 * words, not its pages; none of them when pages it relied on were taken back meanwhile).
 *
 * Real IsibaPool workers and a real DsmClient, over a MemoryHomeLink (the homes' pages in a
 * Map) and a counting fake ObjectSource serving the compiled Rectangle example.
 */
import { expect } from "chai";
import { DsmClient } from "../../ra-kernel/dsm-client.js";
import { ArgumentError, PagesLostError, UnknownEntryError } from "../../ra-kernel/errors.js";
import { newSysName, newThreadId, type ServerId, type SysName } from "../../ra-kernel/ids.js";
import { IsibaPool, type RunOutcome, type RunSpec } from "../../ra-kernel/isiba-pool.js";
import type { ClassSegment, ObjectDescriptor } from "../../ra-kernel/object-descriptor.js";
import { UserObjectManager, type UserObjectManagerOptions, type ObjectSource } from "../../ra-kernel/user-object-manager.js";
import { compileExample } from "../support/compiled-examples.js";
import { deferred, isPending, type Deferred } from "../support/deferred.js";
import type { SegmentLog } from "../../ra-kernel/write-log.js";
import { expectRejection } from "../support/expect-rejection.js";
import { MemoryHomeLink } from "../support/memory-home-link.js";

const ds1 = "ds1" as ServerId;

/** Serves one class and the descriptors it was given; counts calls; can fail on demand. */
class FakeObjectSource implements ObjectSource {
  readonly descriptors = new Map<SysName, ObjectDescriptor>();
  descriptorCalls = 0;
  classCalls = 0;
  /** How many of the next descriptor / class calls reject. */
  failDescriptors = 0;
  failClasses = 0;

  constructor(readonly klass: ClassSegment) {}

  async descriptor(sysname: SysName): Promise<ObjectDescriptor> {
    this.descriptorCalls++;
    if (this.failDescriptors > 0) {
      this.failDescriptors--;
      throw new Error("home ds1 unreachable");
    }
    const d = this.descriptors.get(sysname);
    if (!d) throw new Error(`no object ${sysname}`);
    return d;
  }

  async classSegment(name: string, version: number): Promise<ClassSegment> {
    this.classCalls++;
    if (this.failClasses > 0) {
      this.failClasses--;
      throw new Error("class home unreachable");
    }
    if (name !== this.klass.name || version !== this.klass.version) throw new Error(`no class ${name}@${version}`);
    return this.klass;
  }

  newObject(): ObjectDescriptor {
    const d: ObjectDescriptor = {
      sysname: newSysName(ds1),
      className: this.klass.name,
      classVersion: this.klass.version,
      home: ds1,
      segments: { data: newSysName(ds1), heap: newSysName(ds1), volatile: newSysName(ds1) },
      createdAt: Date.now(),
    };
    this.descriptors.set(d.sysname, d);
    return d;
  }
}

/** One compute server's kernel: pool, DSM client and object manager over shared homes. */
interface Kernel {
  pool: IsibaPool;
  dsm: DsmClient;
  uom: UserObjectManager;
  /** pool.run calls: object code that was started. */
  runs: number;
}

describe("UserObjectManager", () => {
  let rectangle: ClassSegment;
  let link: MemoryHomeLink;
  let source: FakeObjectSource;
  let kernels: Kernel[];

  const thread = () => ({ id: newThreadId("test"), depth: 0 });

  before(async () => {
    const compiled = (await compileExample("objects/examples/rectangle.ts")).find((c) => c.name === "Rectangle")!;
    rectangle = {
      name: compiled.name, version: 1, sysname: newSysName(ds1), code: compiled.code, entries: compiled.entries,
      sourceFile: compiled.sourceFile, sourceHash: compiled.sourceHash, registeredAt: Date.now(),
    };
  });

  beforeEach(() => {
    link = new MemoryHomeLink();
    source = new FakeObjectSource(rectangle);
    kernels = [];
  });

  afterEach(async () => {
    await Promise.all(kernels.map((k) => k.pool.close()));
  });

  /**
   * A fresh compute server kernel (empty caches) over the shared homes. `afterFault`, if
   * given, runs after each fault this kernel serves (to take pages away at a chosen moment).
   */
  function startKernel(workers = 2, afterFault?: (dsm: DsmClient) => void, options: UserObjectManagerOptions = {}): Kernel {
    const dsm = new DsmClient(link);
    const pool = new IsibaPool(workers, async (segment, page, mode, since) => {
      await dsm.fault(segment, page, mode, since);
      afterFault?.(dsm);
    }, "cs-test");
    const kernel: Kernel = { pool, dsm, uom: new UserObjectManager(pool, dsm, source, undefined, options), runs: 0 };
    const run = pool.run.bind(pool);
    pool.run = (spec: RunSpec): Promise<RunOutcome> => {
      kernel.runs++;
      return run(spec);
    };
    kernels.push(kernel);
    return kernel;
  }

  /** Page faults (read and write) the kernel's DSM client has taken. */
  function faultsOf(k: Kernel): number {
    return k.dsm.counters.total.readFaults + k.dsm.counters.total.writeFaults;
  }

  async function created(k: Kernel): Promise<ObjectDescriptor> {
    const d = source.newObject();
    await k.uom.construct(d, [], thread());
    return d;
  }

  function invoke(k: Kernel, d: ObjectDescriptor, entry: string, args: unknown[]): Promise<unknown> {
    return k.uom.invoke({ object: d.sysname, entry, args, thread: thread() });
  }

  it("should construct an object and run its entries", async () => {
    const k = startKernel();
    const d = await created(k);
    expect(await invoke(k, d, "size", [5, 10])).to.equal(undefined);
    expect(await invoke(k, d, "area", [])).to.equal(50);
    expect(k.uom.loadedObjects()).to.deep.equal([d.sysname]);
  });

  describe("deactivation", () => {
    it("should deactivate an idle object: its pages leave the cache, its page tables go, and it comes back with its state", async () => {
      const k = startKernel(2, undefined, { idleMs: 0 });
      const d = await created(k);
      await invoke(k, d, "size", [6, 7]);
      expect(k.dsm.pool.used).to.be.greaterThan(0);
      await k.uom.settled(); // its free segment, committed in the background
      expect(await k.uom.deactivateIdle()).to.equal(1);
      expect([k.uom.activeObjects, k.uom.loadedObjects().length, k.dsm.pool.used, k.dsm.segmentCount]).to.deep.equal([0, 0, 0, 0]);
      expect(link.releases.length, "owned pages went home first").to.be.greaterThan(0);
      expect(await invoke(k, d, "area", [])).to.equal(42);
      expect(k.uom.activeObjects).to.equal(1);
    });

    it("should keep recently used objects, and deactivate the least recently used past maxActive", async () => {
      const k = startKernel(2, undefined, { idleMs: 60_000, maxActive: 2 });
      const [a, b, c] = [await created(k), await created(k), await created(k)];
      for (const [i, d] of [a, b, c].entries()) await invoke(k, d, "size", [i + 1, 2]);
      await k.uom.settled();
      expect(await k.uom.deactivateIdle()).to.equal(1);
      expect(k.uom.loadedObjects().sort()).to.deep.equal([b.sysname, c.sysname].sort());
      expect(await k.uom.deactivateIdle(), "within the cap: nothing idle long enough").to.equal(0);
      expect(await invoke(k, a, "area", [])).to.equal(2);
    });

    it("should never deactivate an object while an invocation of it runs, and run one that arrives during a deactivation", async () => {
      const k = startKernel(2, undefined, { idleMs: 0 });
      const d = await created(k);
      const running = invoke(k, d, "size", [2, 3]);
      expect(await k.uom.deactivateIdle(), "in use").to.equal(0);
      await running;
      await k.uom.settled();
      const deactivating = k.uom.deactivateIdle();
      const arriving = invoke(k, d, "area", []);
      expect(await deactivating).to.equal(1);
      expect(await arriving, "ran on a fresh activation").to.equal(6);
      expect(k.uom.activeObjects).to.equal(1);
    });
  });

  it("should fetch an object's descriptor and class once for many invocations", async () => {
    const d = await created(startKernel());
    expect(source.classCalls).to.equal(1);
    const k = startKernel();
    await Promise.all([1, 2, 3, 4].map((i) => invoke(k, d, "size", [i, i])));
    for (let i = 0; i < 4; i++) await invoke(k, d, "area", []);
    expect(source.descriptorCalls).to.equal(1);
    expect(source.classCalls).to.equal(2); // once per kernel
  });

  it("should fetch a class once for every object of it", async () => {
    const k = startKernel();
    const a = await created(k);
    const b = await created(k);
    await invoke(k, a, "size", [1, 2]);
    await invoke(k, b, "size", [3, 4]);
    expect(await invoke(k, a, "area", [])).to.equal(2);
    expect(await invoke(k, b, "area", [])).to.equal(12);
    expect(source.classCalls).to.equal(1);
  });

  it("should have the invocation's writes committed at their home before it returns", async () => {
    const k = startKernel();
    const d = await created(k);
    const before = new Map(link.pagesOf(d.segments.data).map((p) => [p, link.pages.get(MemoryHomeLink.key(d.segments.data, p))!.slice()]));
    let open!: () => void;
    link.commitGate = new Promise((resolve) => (open = resolve));
    const committing = link.nextCommit();
    const call = invoke(k, d, "size", [5, 10]);
    await committing;
    expect(await isPending(call), "invoke must wait for the commit").to.equal(true);
    const commit = link.commits[link.commits.length - 1];
    expect(commit.home).to.equal(ds1);
    expect(commit).to.include({ abort: false, term: 1 });
    expect(commit.pages.map((p) => p.segment)).to.include(d.segments.data);
    open();
    await call;
    const changed = commit.pages.filter((p) => p.segment === d.segments.data).map((p) => p.page);
    expect(changed).not.to.be.empty;
    for (const page of changed) {
      expect(link.pages.get(MemoryHomeLink.key(d.segments.data, page)), `page ${page} at its home`).not.to.deep.equal(before.get(page));
    }
  });

  it("should apply none of an invocation's writes when pages it relied on were taken back while it ran", async () => {
    const d = await created(startKernel());
    await invoke(startKernel(), d, "size", [2, 3]);
    let dropped = false;
    const k = startKernel(1, (dsm) => {
      if (dropped) return;
      dropped = true;
      dsm.dropHome(ds1, "its lease ran out");
    });
    const err = await expectRejection(invoke(k, d, "size", [7, 7]), PagesLostError);
    expect(err.server).to.equal(ds1);
    expect(err.message).to.contain("NOT applied");
    expect(await invoke(startKernel(), d, "area", []), "the durable state is the last committed one").to.equal(6);
  });

  it("should fail an invocation whose commit the home refused, and keep the durable state", async () => {
    const k = startKernel();
    const d = await created(k);
    await invoke(k, d, "size", [2, 3]);
    link.refuse = "the lease term 1 of cs-test is over (now 2)";
    const err = await expectRejection(invoke(k, d, "size", [4, 4]), PagesLostError);
    expect(err.message).to.contain("lease term 1");
    link.refuse = null;
    expect(await invoke(startKernel(), d, "area", [])).to.equal(6);
  });

  it("should run an object's free segments one at a time, each once the one before was answered", async () => {
    const k = startKernel();
    const [d, other] = [await created(k), await created(k)];
    // afterCommit lets an isiba run its frees; the first one here is held, and so is its commit.
    const asked: Deferred<void>[] = [deferred(), deferred(), deferred(), deferred()];
    const firstFrees = deferred<void>();
    const marker: SegmentLog[] = [];
    const heldCommit = deferred<void>();
    const afterCommit = k.pool.afterCommit.bind(k.pool);
    let n = 0;
    k.pool.afterCommit = async (isiba, ok) => {
      const mine = n++;
      asked[mine].resolve();
      const log = await afterCommit(isiba, ok);
      if (mine > 0) return log;
      await firstFrees.promise;
      return marker;
    };
    const commit = k.dsm.commit.bind(k.dsm);
    k.dsm.commit = (logs, since, broken) => (logs === marker ? heldCommit.promise : commit(logs, since, broken));
    await invoke(k, d, "size", [1, 2]);
    await asked[0].promise;
    await invoke(k, d, "size", [3, 4]);
    await invoke(k, other, "size", [5, 6]);
    await asked[1].promise;
    expect(n, "the other object's frees run; d's second waits for its first").to.equal(2);
    firstFrees.resolve();
    expect(await isPending(asked[2].promise), "the first free segment's commit is not answered yet").to.equal(true);
    heldCommit.resolve();
    await asked[2].promise;
    expect(n).to.equal(3);
  });

  it("should keep an object's state at its home for a compute server with empty caches", async () => {
    const first = startKernel();
    const d = await created(first);
    await invoke(first, d, "size", [7, 6]);
    const fresh = startKernel(1);
    expect(await invoke(fresh, d, "area", [])).to.equal(42);
    expect(link.faults).to.be.greaterThan(0);
  });

  it("should reject an unknown entry, naming the class's entries", async () => {
    const k = startKernel();
    const d = await created(k);
    const runs = k.runs;
    const err = await expectRejection(invoke(k, d, "perimeter", []), UnknownEntryError);
    expect(err.message).to.contain("perimeter").and.to.contain("size, area");
    expect(err).to.include({ className: "Rectangle", entry: "perimeter" });
    expect(k.runs).to.equal(runs);
  });

  describe("argument checks", () => {
    let k: Kernel;
    let d: ObjectDescriptor;

    beforeEach(async () => {
      k = startKernel();
      d = await created(k);
      await invoke(k, d, "size", [2, 3]);
    });

    /** Runs `fn` and checks that no object code ran and nothing reached a home. */
    async function withoutEffects(fn: () => Promise<void>): Promise<void> {
      const runs = k.runs;
      const faults = faultsOf(k);
      const commits = link.commits.length;
      const stored = new Map([...link.pages].map(([key, bytes]) => [key, bytes.slice()]));
      await fn();
      expect(k.runs, "no object code may run").to.equal(runs);
      expect(faultsOf(k)).to.equal(faults);
      expect(link.commits.length, "no page may be written").to.equal(commits);
      expect(link.pages).to.deep.equal(stored);
    }

    it("should reject a wrong argument count before any object code runs", async () => {
      await withoutEffects(async () => {
        const err = await expectRejection(invoke(k, d, "size", [5]), ArgumentError);
        expect(err.message).to.contain("Rectangle.size takes 2 arguments").and.to.contain("got 1");
        expect(err).to.include({ className: "Rectangle", entry: "size" });
        await expectRejection(invoke(k, d, "area", [1]), ArgumentError);
      });
      expect(await invoke(k, d, "area", [])).to.equal(6);
    });

    it("should reject a wrong argument type before any object code runs", async () => {
      await withoutEffects(async () => {
        const err = await expectRejection(invoke(k, d, "size", ["5", 10]), ArgumentError);
        expect(err.message).to.contain("argument 1 'x' must be a number, got string");
        await expectRejection(invoke(k, d, "size", [5, null]), ArgumentError);
      });
      expect(await invoke(k, d, "area", [])).to.equal(6);
    });
  });

  it("should not cache a descriptor that failed to arrive", async () => {
    const d = await created(startKernel());
    const k = startKernel();
    source.failDescriptors = 1;
    const err = await expectRejection(invoke(k, d, "area", []), Error);
    expect(err.message).to.equal("home ds1 unreachable");
    expect(k.uom.loadedObjects()).to.deep.equal([]);
    expect(await invoke(k, d, "area", [])).to.equal(0);
    expect(source.descriptorCalls).to.equal(2);
  });

  it("should not cache a class segment that failed to arrive", async () => {
    const d = await created(startKernel());
    const k = startKernel();
    source.failClasses = 1;
    await expectRejection(invoke(k, d, "area", []), Error);
    expect(await invoke(k, d, "area", [])).to.equal(0);
    expect(source.classCalls).to.equal(3); // 1 for the creating kernel, 2 here
  });

  // construct() once cached a failed build for good: every later invoke failed with the old error.
  it("should not cache an object whose construction could not fetch its class", async () => {
    const k = startKernel();
    const d = source.newObject();
    source.failClasses = 1;
    await expectRejection(k.uom.construct(d, [], thread()), Error);
    // The constructor never ran (x and y were never assigned): the point is that it no longer fails.
    expect(await invoke(k, d, "area", [])).to.be.NaN;
    expect(source.classCalls).to.equal(2);
  });
});
