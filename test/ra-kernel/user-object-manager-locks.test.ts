/**
 * Exclusive entries and automatic release in the UserObjectManager (one kernel): an
 * `@entry({ exclusive: true })` holds its object's monitor from before its isiba starts until
 * its segment is committed; whatever an invocation leaves held is released when it ends; a
 * release inside an invocation is a commit point (the UserObjectManager is the kernel's
 * SegmentCommitter, as in a ComputeServer).
 *
 * Real IsibaPool workers and DsmClient over a MemoryHomeLink; the homes' locks are an
 * in-process LockTable (TableLockLink). Fixture: test/fixtures/locker.ts.
 */
import { expect } from "chai";
import { DsmClient } from "../../ra-kernel/dsm-client.js";
import { IsibaPool, type RunOutcome, type RunSpec } from "../../ra-kernel/isiba-pool.js";
import { KernelSyscalls } from "../../ra-kernel/kernel-syscalls.js";
import { LockManager, MONITOR_KEY } from "../../ra-kernel/lock-manager.js";
import { MonitorCache } from "../../ra-kernel/monitor-cache.js";
import { LocksUnavailableError } from "../../ra-kernel/syscall-errors.js";
import { PagesLostError } from "../../ra-kernel/errors.js";
import { newSysName, newThreadId, type ServerId, type SysName } from "../../ra-kernel/ids.js";
import type { ClassSegment, ObjectDescriptor } from "../../ra-kernel/object-descriptor.js";
import { UserObjectManager, type ObjectSource } from "../../ra-kernel/user-object-manager.js";
import type { Span } from "../fixtures/locker.js";
import { compileExample } from "../support/compiled-examples.js";
import { MemoryHomeLink } from "../support/memory-home-link.js";
import { TableLockLink } from "../support/table-lock-link.js";
import { isPending } from "../support/deferred.js";
import { expectRejection } from "../support/expect-rejection.js";
import { until } from "../support/until.js";

const ds1 = "ds1" as ServerId;

class OneClassSource implements ObjectSource {
  readonly descriptors = new Map<SysName, ObjectDescriptor>();
  constructor(readonly klass: ClassSegment) {}

  async descriptor(sysname: SysName): Promise<ObjectDescriptor> {
    return this.descriptors.get(sysname)!;
  }

  async classSegment(): Promise<ClassSegment> {
    return this.klass;
  }

  newObject(): ObjectDescriptor {
    const d: ObjectDescriptor = {
      sysname: newSysName(ds1), className: this.klass.name, classVersion: this.klass.version, home: ds1,
      segments: { data: newSysName(ds1), heap: newSysName(ds1), volatile: newSysName(ds1) }, createdAt: Date.now(),
    };
    this.descriptors.set(d.sysname, d);
    return d;
  }
}

describe("UserObjectManager locks", () => {
  let klass: ClassSegment;
  let homes: MemoryHomeLink;
  let locksLink: TableLockLink;
  let pool: IsibaPool;
  let uom: UserObjectManager;
  let source: OneClassSource;
  let object: ObjectDescriptor;
  /** Entries whose isiba was started. */
  let started: string[];

  before(async () => {
    const c = (await compileExample("test/fixtures/locker.ts")).find((x) => x.name === "Locker")!;
    klass = {
      name: c.name, version: 1, sysname: newSysName(ds1), code: c.code, entries: c.entries,
      sourceFile: c.sourceFile, sourceHash: c.sourceHash, registeredAt: Date.now(),
    };
  });

  /** The kernel under test; `cached`: exclusive entries' monitors cached here (MonitorCache). */
  async function build(cached: boolean): Promise<void> {
    homes = new MemoryHomeLink();
    locksLink = new TableLockLink();
    const locks = new LockManager(locksLink, cached ? new MonitorCache(locksLink, "cs-test") : undefined);
    const dsm = new DsmClient(homes);
    const syscalls = new KernelSyscalls(locks);
    pool = new IsibaPool(2, dsm.fault, "cs-test", syscalls.handle);
    const run = pool.run.bind(pool);
    started = [];
    pool.run = (spec: RunSpec): Promise<RunOutcome> => {
      started.push(spec.args.length ? `${spec.entry}(${String(spec.args[0])})` : spec.entry);
      return run(spec);
    };
    source = new OneClassSource(klass);
    uom = new UserObjectManager(pool, dsm, source, locks);
    syscalls.committer = uom;
    object = source.newObject();
    await uom.construct(object, [], { id: newThreadId("test"), depth: 0 });
  }

  beforeEach(() => build(false));

  afterEach(async () => {
    await pool.close();
  });

  const invoke = (entry: string, ...args: unknown[]) =>
    uom.invoke({ object: object.sysname, entry, args, thread: { id: newThreadId("test"), depth: 0 } });

  const locksOf = () => locksLink.table.list(object.sysname);
  const monitor = () => locksOf().find((l) => l.kind === "monitor" && l.key === MONITOR_KEY);

  it("should not start an exclusive entry's isiba while another holds the monitor", async () => {
    const a = invoke("exclusiveUntilOpened", "A");
    await until(() => locksOf().some((l) => l.key === "gate:A" && l.waiting.length === 1));
    const b = invoke("exclusiveUntilOpened", "B");
    await until(() => monitor()?.waiting.length === 1);
    expect(started).not.to.include("exclusiveUntilOpened(B)");
    await invoke("open", "B");
    expect(await isPending(b)).to.equal(true);
    await invoke("open", "A");
    const [spanA, spanB] = (await Promise.all([a, b])) as Span[];
    expect(spanB.start).to.be.at.least(spanA.end);
    expect(monitor()).to.equal(undefined);
  });

  it("should let non-exclusive entries run while the monitor is held", async () => {
    const a = invoke("exclusiveUntilOpened", "C");
    await until(() => monitor()?.holders.length === 1);
    expect(await invoke("lockOnce", "k", "free")).to.include({ label: "free" });
    await invoke("open", "C");
    await a;
  });

  it("should hold the monitor until the exclusive entry's writes are committed", async () => {
    let open!: () => void;
    homes.commitGate = new Promise((resolve) => (open = resolve));
    const committing = homes.nextCommit();
    const call = invoke("exclusiveWork", "W", 1);
    await committing;
    expect(monitor()?.holders, "monitor held during the commit").to.have.length(1);
    open();
    await call;
    expect(monitor()).to.equal(undefined);
  });

  it("should give the monitor back by a message of its own, after the last commit was answered (never riding with it)", async () => {
    await invoke("exclusiveWork", "R", 1);
    expect(homes.commits.some((c) => c.release), "no lock rides with a commit").to.equal(false);
    const monitorReleases = locksLink.calls.filter((c) => c.op === "release" && c.body.lock === "monitor").length;
    expect(monitorReleases, "released by a message of its own").to.equal(1);
    expect(monitor()).to.equal(undefined);
  });

  it("should commit the segment at a lock release before the lock goes to the next holder", async () => {
    let open!: () => void;
    homes.commitGate = new Promise((resolve) => (open = resolve));
    const committing = homes.nextCommit();
    const call = invoke("increment", 0);
    await committing;
    const commit = homes.commits[homes.commits.length - 1];
    expect(commit.pages.map((p) => p.segment), "count, written inside the lock").to.deep.equal([object.segments.data]);
    expect(locksOf().find((l) => l.key === "count")?.holders, "held until its writes are committed").to.have.length(1);
    open();
    expect(await call).to.include({ value: 1 });
    expect(locksOf()).to.deep.equal([]);
    expect(await invoke("state")).to.include({ count: 1 });
  });

  it("should fail the entry and still release the lock when the commit at a release is refused", async () => {
    homes.refuse = "the lease term 1 of cs-test is over (now 2)";
    const err = await expectRejection(invoke("increment", 0), PagesLostError);
    expect(err.message).to.contain("NOT applied");
    expect(locksOf()).to.deep.equal([]);
  });

  it("should release the monitor when an exclusive entry's isiba fails", async () => {
    const err = await expectRejection(invoke("exclusiveThrow", "X"), Error);
    expect(err.message).to.contain("thrown in exclusive X");
    expect(monitor()).to.equal(undefined);
  });

  it("should release what an invocation left held when it returns or throws", async () => {
    expect(await invoke("lockAndReturn", "k")).to.equal(true);
    expect(locksOf()).to.deep.equal([]);
    await expectRejection(invoke("lockAndThrow", "k"), Error);
    expect(locksOf()).to.deep.equal([]);
  });

  it("should refuse an exclusive entry in a kernel built without locks", async () => {
    const bare = new UserObjectManager(pool, new DsmClient(homes), source);
    const err = await expectRejection(bare.invoke({ object: object.sysname, entry: "exclusiveStamp", args: ["x"], thread: { id: newThreadId("t"), depth: 0 } }), LocksUnavailableError);
    expect(err.object).to.equal(object.sysname);
  });
  describe("with the monitor cached here (early release)", () => {
    beforeEach(async () => {
      await pool.close();
      await build(true);
    });

    it("should let the next local exclusive invocation in once the commit is sent, the first reply still waiting for its answer", async () => {
      let open!: () => void;
      homes.commitGate = new Promise((resolve) => (open = resolve));
      const committing = homes.nextCommit();
      const a = invoke("exclusiveWork", "A", 0);
      await committing;
      const b = invoke("exclusiveWork", "B", 0);
      await until(() => started.includes("exclusiveWork(B)"));
      expect(await isPending(a), "A's reply waits for its commit's answer").to.equal(true);
      open();
      const [spanA, spanB] = (await Promise.all([a, b])) as Span[];
      expect(spanB.start).to.be.at.least(spanA.end);
      expect(((await invoke("state")) as { overlaps: number }).overlaps).to.equal(0);
    });

    it("should abort the next invocation when the commit it may rest on is refused, though its own was never sent before", async () => {
      await invoke("open", "A");
      let open!: () => void;
      homes.commitGate = new Promise((resolve) => (open = resolve));
      const committing = homes.nextCommit();
      const a = invoke("exclusiveCountAfter", "A");
      await committing;
      const aFails = expectRejection(a, PagesLostError);
      const b = invoke("exclusiveCountAfter", "B"); // reads A's count, then waits at its gate
      const bFails = expectRejection(b, PagesLostError);
      await until(() => locksOf().some((l) => l.key === "gate:B" && l.waiting.length === 1));
      homes.refuse = "refused by the test";
      open();
      await aFails;
      homes.refuse = null;
      await invoke("open", "B");
      const err = await bFails;
      expect(err.message).to.contain("NOT applied");
      expect(homes.commits.at(-1)?.abort, "B's segment went to the home as an abort").to.equal(true);
    });
  });
});
