/**
 * The runtime's synchronization API on CloudsObject (objects/clouds-object.ts, lock.ts,
 * semaphore.ts, invocation-context.ts) in one thread: a fake InvocationContext records the
 * syscalls object code makes and answers them, so the API's own behaviour is seen without
 * workers or homes. Fixture: test/fixtures/locker.ts.
 */
import { expect } from "chai";
import type { PersistentClass } from "../../ra-kernel/class-loader.js";
import { asServerId, newSysName, newThreadId } from "../../ra-kernel/ids.js";
import type { SyscallArgs, SyscallOp, SyscallResult } from "../../ra-kernel/isiba-messages.js";
import { constructWith } from "../../objects/clouds-object.js";
import { instanceProxy } from "../../objects/instance-proxy.js";
import type { InvocationContext } from "../../objects/invocation-context.js";
import { OutsideInvocationError } from "../../objects/errors.js";
import { newStore, type TestStore } from "../support/object-memory.js";
import { createIn, fixtureClass, selfOf, type Self } from "../support/persistent-objects.js";
import { expectRejection } from "../support/expect-rejection.js";

/** Answers every syscall at once (semaphores: permits are the test's business) and records it. */
class FakeContext implements InvocationContext {
  readonly object = newSysName(asServerId("ds1"));
  readonly thread = { id: newThreadId("test"), depth: 0 };
  readonly calls: string[] = [];
  failNext: Error | null = null;

  async syscall<K extends SyscallOp>(op: K, args: SyscallArgs<K>): Promise<SyscallResult<K>> {
    const a = args as { key: string; lock: string; permits?: number };
    this.calls.push(`${op} ${a.lock} ${a.key}${a.permits === undefined ? "" : ` ${a.permits}`}`);
    if (this.failNext) {
      const err = this.failNext;
      this.failNext = null;
      throw err;
    }
    return (op === "lock.acquire" ? { waitedMs: 0 } : { released: true }) as SyscallResult<K>;
  }
}

describe("CloudsObject synchronization API", () => {
  let Locker: PersistentClass;
  let t: TestStore;
  let ctx: FakeContext;
  let self: Self;

  before(async () => {
    Locker = await fixtureClass("locker.ts", "Locker");
  });

  beforeEach(() => {
    t = newStore();
    createIn(t.store, Locker);
    ctx = new FakeContext();
    self = instanceProxy<Self>(t.store, Locker.prototype, ctx);
  });

  it("should take a lock and release it through its handle, once", async () => {
    expect(await self.releaseTwice("k")).to.deep.equal([true, false]);
    expect(ctx.calls).to.deep.equal(["lock.acquire lock k", "lock.release lock k"]);
  });

  it("should release a withLock lock when its function returns or throws", async () => {
    expect(await self.throwInside("k")).to.equal("inside");
    expect(ctx.calls).to.deep.equal(["lock.acquire lock k", "lock.release lock k", "lock.acquire lock k", "lock.release lock k"]);
  });

  it("should send a semaphore's permits with each acquire and release one per withPermit", async () => {
    await self.useSlot("g");
    const semaphoreCalls = ctx.calls.filter((c) => c.includes(" semaphore "));
    expect(semaphoreCalls).to.deep.equal(["lock.acquire semaphore slots 2", "lock.acquire semaphore gate:g 0", "lock.release semaphore slots"]);
  });

  it("should pass the kernel's error to object code and take no lock then", async () => {
    ctx.failNext = new RangeError("home unreachable");
    await expectRejection(self.lockAndReturn("k"), RangeError);
    expect(ctx.calls).to.deep.equal(["lock.acquire lock k"]);
  });

  it("should refuse bad keys and permits with a TypeError before any syscall", async () => {
    expect(await self.lockError("")).to.match(/^TypeError: lock\(key\): the key must be/);
    expect(await self.lockError("\u00e9t\u00e9")).to.match(/^TypeError/);
    expect(() => self.semaphore("s", -1)).to.throw(TypeError, /permits/);
    expect(() => self.semaphore("s", 0.5)).to.throw(TypeError, /permits/);
    expect(ctx.calls).to.deep.equal([]);
  });

  it("should refuse lock, withLock and semaphore outside an invocation with OutsideInvocationError", async () => {
    const bare = selfOf(t.store, Locker);
    expect(() => bare.lock("k")).to.throw(OutsideInvocationError, /lock\(\) needs a running invocation/);
    expect(() => bare.semaphore("k")).to.throw(OutsideInvocationError);
    await expectRejection(bare.withLock("k", () => 1), OutsideInvocationError);
  });

  it("should give the constructor its invocation's context", () => {
    const store = newStore().store;
    const made = constructWith(store, () => Reflect.construct(Locker, []), ctx) as Self;
    expect(() => made.semaphore("s", 1)).not.to.throw();
  });

  it("should keep lock, withLock and semaphore methods, never persistent fields", () => {
    for (const name of ["lock", "withLock", "semaphore"]) {
      expect(() => {
        self[name] = 1;
      }).to.throw(TypeError, /is a method of the class/);
    }
    expect(t.store.names()).not.to.include.members(["lock", "withLock", "semaphore"]);
  });

  it("should not show the invocation context among the object's keys", () => {
    expect(Reflect.ownKeys(self).every((k) => typeof k === "string")).to.equal(true);
  });
});
