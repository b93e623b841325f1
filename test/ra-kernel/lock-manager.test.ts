/**
 * Tests of the kernel's LockManager (ra-kernel/lock-manager.ts) over a TableLockLink (an
 * in-process LockTable as every object's home): what each isiba holds, releaseAll when an
 * invocation ends, late grants, the monitor of exclusive entries, failures.
 */
import { expect } from "chai";
import { LockManager, MONITOR_KEY, type LockRequest } from "../../ra-kernel/lock-manager.js";
import { IsibaEndedError, LocksUnavailableError } from "../../ra-kernel/syscall-errors.js";
import { asServerId, newSysName, newThreadId, type SysName, type ThreadId } from "../../ra-kernel/ids.js";
import { TableLockLink } from "../support/table-lock-link.js";
import { deferred, isPending } from "../support/deferred.js";
import { expectRejection } from "../support/expect-rejection.js";

describe("LockManager", () => {
  let link: TableLockLink;
  let locks: LockManager;
  let object: SysName;
  const t1 = newThreadId("test");
  const t2 = newThreadId("test");

  beforeEach(() => {
    link = new TableLockLink();
    locks = new LockManager(link);
    object = newSysName(asServerId("ds1"));
  });

  const req = (thread: ThreadId, key = "k", lock: LockRequest["lock"] = "lock", permits?: number): LockRequest =>
    ({ object, key, lock, thread, permits });

  it("should ask the object's home and record the hold for the isiba", async () => {
    await locks.acquire(1, req(t1));
    expect(link.calls[0]).to.deep.include({ op: "acquire", home: "ds1" });
    expect(locks.heldBy(1)).to.deep.equal([{ object, key: "k", lock: "lock", thread: t1 }]);
    expect(locks.counters).to.include({ acquires: 1, held: 1 });
  });

  it("should forget a hold when it is released and tell the home", async () => {
    await locks.acquire(1, req(t1));
    expect(await locks.release(1, req(t1))).to.deep.equal({ released: true });
    expect(locks.heldBy(1)).to.deep.equal([]);
    expect(link.table.list(object)).to.deep.equal([]);
  });

  it("should release everything an isiba left held when its invocation ends", async () => {
    await locks.acquire(1, req(t1, "a"));
    await locks.acquire(1, req(t1, "a"));
    await locks.acquire(1, req(t1, "s", "semaphore", 3));
    await locks.acquire(2, req(t2, "b"));
    await locks.releaseAll(1);
    expect(locks.heldBy(1)).to.deep.equal([]);
    expect(link.table.list(object).map((l) => `${l.kind}:${l.key}:${l.available}:${l.holders.length}`).sort())
      .to.deep.equal(["lock:b:0:1", "semaphore:s:3:0"]);
    expect(locks.counters).to.include({ autoReleased: 3, held: 1 });
  });

  it("should let the next waiter in when a holder's invocation ends", async () => {
    await locks.acquire(1, req(t1));
    const waiting = locks.acquire(2, req(t2));
    expect(await isPending(waiting)).to.equal(true);
    await locks.releaseAll(1);
    await waiting;
    expect(locks.heldBy(2)).to.have.length(1);
  });

  it("should do nothing for an isiba that took no lock", async () => {
    await locks.releaseAll(7);
    expect(link.calls).to.deep.equal([]);
  });

  it("should give back a grant that arrives after its isiba ended, with a named error", async () => {
    await locks.acquire(1, req(t1));
    const late = locks.acquire(2, req(t2));
    await locks.releaseAll(2);
    await locks.releaseAll(1);
    const err = await expectRejection(late, IsibaEndedError);
    expect(err).to.include({ isiba: 2, op: "lock.acquire" });
    expect(link.table.list(object)).to.deep.equal([]);
    expect(locks.counters.lateGrants).to.equal(1);
  });

  it("should send a semaphore release the isiba does not hold (a signal)", async () => {
    const consumer = locks.acquire(1, req(t1, "items", "semaphore", 0));
    expect(await locks.release(2, req(t2, "items", "semaphore"))).to.deep.equal({ released: false });
    await consumer;
  });

  it("should hold the object's monitor around an exclusive run and release it after", async () => {
    const inside = deferred<void>();
    const first = locks.withMonitor(object, t1, () => inside.promise.then(() => "first"));
    const second = locks.withMonitor(object, t2, async () => "second");
    expect(await isPending(second)).to.equal(true);
    expect(link.table.list(object)[0]).to.deep.include({ key: MONITOR_KEY, kind: "monitor" });
    inside.resolve();
    expect(await first).to.equal("first");
    expect(await second).to.equal("second");
    expect(link.table.list(object)).to.deep.equal([]);
  });

  it("should release the monitor when the exclusive run throws", async () => {
    await expectRejection(locks.withMonitor(object, t1, async () => { throw new RangeError("boom"); }), RangeError);
    expect(link.table.list(object)).to.deep.equal([]);
  });

  it("should let the same thread re-enter the monitor (reentrant at the home)", async () => {
    const value = await locks.withMonitor(object, t1, () => locks.withMonitor(object, t1, async () => 42));
    expect(value).to.equal(42);
  });

  it("should log and count a release the home does not confirm, never throw it", async () => {
    await locks.acquire(1, req(t1));
    link.failReleases = 1;
    await locks.releaseAll(1);
    expect(locks.counters.releaseFailures).to.equal(1);
  });

  it("should fail with LocksUnavailableError when built without a link", async () => {
    const bare = new LockManager();
    const err = await expectRejection(bare.acquire(1, req(t1)), LocksUnavailableError);
    expect(err.object).to.equal(object);
    await expectRejection(bare.withMonitor(object, t1, async () => 1), LocksUnavailableError);
  });
});
