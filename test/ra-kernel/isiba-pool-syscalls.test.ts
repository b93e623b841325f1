/**
 * The syscall channel end to end in one kernel: object code in a real IsibaPool worker calls
 * `this.lock` / `withLock` / `semaphore`, the pool hands each syscall to KernelSyscalls, the
 * LockManager asks an in-process LockTable (TableLockLink), and the answer comes back to the
 * awaiting isiba. A release is a commit point: the worker sends the segment so far with it,
 * and KernelSyscalls commits it (its `committer`) before the lock is released.
 * Fixture: test/fixtures/locker.ts.
 */
import { expect } from "chai";
import { IsibaPool, type RunFailure, type RunSpec } from "../../ra-kernel/isiba-pool.js";
import { KernelSyscalls, type SegmentCommitter } from "../../ra-kernel/kernel-syscalls.js";
import { PagesLostError } from "../../ra-kernel/errors.js";
import type { SegmentLog } from "../../ra-kernel/write-log.js";
import { LockManager } from "../../ra-kernel/lock-manager.js";
import { UnknownSyscallError } from "../../ra-kernel/syscall-errors.js";
import { asServerId, newSysName, newThreadId, type ThreadId } from "../../ra-kernel/ids.js";
import type { CompiledClass } from "../../objects/class-compiler.js";
import { MemoryPager } from "../support/memory-pager.js";
import { compileExample } from "../support/compiled-examples.js";
import { TableLockLink } from "../support/table-lock-link.js";
import { deferred, isPending, type Deferred } from "../support/deferred.js";
import { expectRejection } from "../support/expect-rejection.js";
import { until } from "../support/until.js";

describe("IsibaPool syscalls", () => {
  let locker: CompiledClass;
  let pager: MemoryPager;
  let link: TableLockLink;
  let locks: LockManager;
  let pool: IsibaPool;
  let syscalls: KernelSyscalls;
  /** Every commit point the kernel was asked to commit, in order. */
  let points: { isiba: number; since: number; segment: SegmentLog[] }[];
  /** When set, commit points wait for it (resolve: committed; reject: the commit's error). */
  let gate: Deferred<void> | null;
  /** Resolved by the next commit point. */
  let reached: Deferred<void>;
  const ds1 = asServerId("ds1");
  const object = newSysName(ds1);
  const data = newSysName(ds1);
  const heap = newSysName(ds1);

  before(async () => {
    locker = (await compileExample("test/fixtures/locker.ts")).find((c) => c.name === "Locker")!;
  });

  beforeEach(async () => {
    pager = new MemoryPager();
    link = new TableLockLink();
    locks = new LockManager(link);
    points = [];
    gate = null;
    reached = deferred();
    syscalls = new KernelSyscalls(locks);
    const committer: SegmentCommitter = {
      commitPoint: async (isiba, since, segment) => {
        points.push({ isiba, since, segment });
        reached.resolve();
        if (gate) await gate.promise;
        pager.commit(segment);
        return since;
      },
    };
    syscalls.committer = committer;
    pool = new IsibaPool(1, pager.fault, "cs-test", syscalls.handle);
    await run("create", "constructor", []);
    points = [];
    reached = deferred();
  });

  afterEach(async () => {
    await pool.close();
  });

  function spec(op: "create" | "call", entry: string, args: unknown[], thread: ThreadId): RunSpec {
    return {
      op, object, entry, args, thread: { id: thread, depth: 0 },
      klass: { key: `${locker.name}@1`, name: locker.name, code: locker.code },
      data: pager.segment(data, 16), heap: pager.segment(heap), since: 7,
    };
  }

  /** One invocation as the UserObjectManager runs it: commit, then release what is left. */
  async function run(op: "create" | "call", entry: string, args: unknown[], thread = newThreadId("test")): Promise<unknown> {
    try {
      const out = await pool.run(spec(op, entry, args, thread));
      pager.commit(out.log);
      pager.commit(await pool.afterCommit(out.isiba, true));
      await locks.releaseAll(out.isiba);
      return out.value;
    } catch (err) {
      await locks.releaseAll((err as RunFailure).isiba);
      throw err;
    }
  }

  it("should take and release locks for object code, as its own object and thread", async () => {
    const thread = newThreadId("test");
    expect(await run("call", "nested", ["k"], thread)).to.equal(2);
    expect(link.trace()).to.deep.equal([
      `acquire lock k ${thread}`, `acquire lock k ${thread}`, `release lock k ${thread}`, `release lock k ${thread}`,
    ]);
    expect(link.calls.every((c) => c.body.object === object && c.home === ds1)).to.equal(true);
    expect(link.table.list(object)).to.deep.equal([]);
  });

  it("should make a second release of one handle a no-op", async () => {
    expect(await run("call", "releaseTwice", ["k"])).to.deep.equal([true, false]);
    expect(link.trace().filter((t) => t.startsWith("release"))).to.have.length(1);
  });

  it("should release a withLock lock when its function throws", async () => {
    expect(await run("call", "throwInside", ["k"])).to.equal("inside");
    expect(link.table.list(object)).to.deep.equal([]);
  });

  it("should keep the worker's other isibas running while one awaits a syscall", async () => {
    const holder = run("call", "holdUntilOpened", ["k", "g1"]);
    await until(() => link.table.list(object).some((l) => l.key === "gate:g1" && l.waiting.length === 1));
    expect(await isPending(holder)).to.equal(true);
    await run("call", "open", ["g1"]);
    expect((await holder) as { label: string }).to.include({ label: "g1" });
  });

  it("should leave a lock an invocation did not release held until the invocation ends", async () => {
    const out = await pool.run(spec("call", "lockAndReturn", ["k"], newThreadId("test")));
    expect(out.value).to.equal(true);
    expect(link.table.list(object)[0].holders).to.have.length(1);
    await locks.releaseAll(out.isiba);
    expect(link.table.list(object)).to.deep.equal([]);
  });

  it("should name the isiba in a failed run so its locks can be released", async () => {
    const err = await expectRejection(pool.run(spec("call", "lockAndThrow", ["k"], newThreadId("test"))), Error);
    expect(err.message).to.contain("thrown while holding k");
    expect(link.table.list(object)).to.have.length(1);
    await locks.releaseAll((err as unknown as RunFailure).isiba);
    expect(link.table.list(object)).to.deep.equal([]);
  });

  it("should refuse a handle used after its invocation returned (IsibaEndedError)", async () => {
    await run("call", "keepHandle", []);
    expect(await run("call", "useKept", [])).to.equal("IsibaEndedError");
    expect(link.calls).to.deep.equal([]);
  });

  it("should check lock keys in the runtime, before any syscall", async () => {
    expect(await run("call", "lockError", [""])).to.match(/^TypeError: lock\(key\)/);
    expect(await run("call", "lockError", [7])).to.match(/^TypeError/);
    expect(link.calls).to.deep.equal([]);
  });

  it("should commit the segment so far at a release, before the lock is released, and begin a new one", async () => {
    gate = deferred();
    const call = run("call", "increment", [0]);
    await reached.promise;
    expect(points[0].since, "the isiba's start mark").to.equal(7);
    expect(points[0].segment.map((l) => l.segment), "the write of count inside the lock").to.deep.equal([data]);
    expect(link.table.list(object).find((l) => l.key === "count")?.holders, "held until committed").to.have.length(1);
    expect(await isPending(call)).to.equal(true);
    gate.resolve();
    expect(await call).to.include({ value: 1 });
    expect(link.table.list(object)).to.deep.equal([]);
    expect(pager.commits.at(-2), "nothing written after the release: the last segment is empty").to.deep.equal([]);
  });

  it("should commit nothing at the release of a lock taken and released without writes", async () => {
    await run("call", "lockOnce", ["k", "x"]);
    expect(points).to.deep.equal([]);
    expect(link.trace()).to.deep.equal([`acquire lock k ${link.calls[0].body.thread}`, `release lock k ${link.calls[0].body.thread}`]);
  });

  it("should release the lock and fail the entry when the commit at a release fails", async () => {
    gate = deferred();
    const call = run("call", "increment", [0]);
    await reached.promise;
    gate.reject(new PagesLostError("the writes were NOT applied", { server: ds1, pages: 1 }));
    const err = await expectRejection(call, PagesLostError);
    expect(err.message).to.contain("NOT applied");
    expect(link.table.list(object), "released whatever happened").to.deep.equal([]);
  });

  it("should answer UnknownSyscallError in a pool without a syscall handler", async () => {
    await pool.close();
    pool = new IsibaPool(1, pager.fault, "cs-test");
    const err = await expectRejection(run("call", "lockAndReturn", ["k"]), UnknownSyscallError);
    expect(err.op).to.equal("lock.acquire");
  });
});
