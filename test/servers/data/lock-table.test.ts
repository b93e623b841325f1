/**
 * Tests of the home's LockTable (servers/data/lock-table.ts): FIFO grants, reentrancy,
 * semaphore counting and signals, dropping a dead compute server and an ended thread,
 * named errors, counters. Pure in-process: the table is what the DataServer's switch calls.
 */
import { expect } from "chai";
import { LockTable, type LockRequestRef, type Wound } from "../../../servers/data/lock-table.js";
import { LockNotHeldError, LockWaitCancelledError } from "../../../servers/data/errors.js";
import { fromWireError, toWireError } from "../../../ra-kernel/clouds-error.js";
import { asAtomicId, asServerId, newSysName, type SysName } from "../../../ra-kernel/ids.js";
import type { LockKind } from "../../../servers/data/protocol.js";
import { isPending } from "../../support/deferred.js";
import { expectRejection } from "../../support/expect-rejection.js";

describe("LockTable", () => {
  let table: LockTable;
  let object: SysName;

  beforeEach(() => {
    table = new LockTable();
    object = newSysName(asServerId("ds1"));
  });

  const ref = (thread: string, lock: LockKind = "lock", key = "k", permits?: number): LockRequestRef =>
    ({ object, key, lock, thread, permits });

  /** Acquires and records the order of grants in `order`. */
  function acquireInto(order: string[], label: string, req: LockRequestRef, server = "cs1"): Promise<void> {
    return table.acquire(req, server).then(() => void order.push(label));
  }

  describe("monitor and lock", () => {
    it("should grant a free lock at once and make a second thread wait", async () => {
      const first = await table.acquire(ref("t1"), "cs1");
      expect(first).to.deep.equal({ granted: true, waitedMs: 0 });
      const second = table.acquire(ref("t2"), "cs1");
      expect(await isPending(second)).to.equal(true);
      expect(table.release(ref("t1"), "cs1")).to.deep.equal({ released: true });
      const granted = await second;
      expect(granted.granted).to.equal(true);
      expect(granted.waitedMs).to.be.at.least(0);
    });

    it("should grant waiters in FIFO order", async () => {
      await table.acquire(ref("t0"), "cs1");
      const order: string[] = [];
      const waits = ["t1", "t2", "t3"].map((t, i) => acquireInto(order, t, ref(t), i % 2 ? "cs2" : "cs1"));
      table.release(ref("t0"), "cs1");
      await waits[0];
      table.release(ref("t1"), "cs1");
      await waits[1];
      table.release(ref("t2"), "cs2");
      await waits[2];
      expect(order).to.deep.equal(["t1", "t2", "t3"]);
    });

    it("should be reentrant for the same (server, thread), counting acquires", async () => {
      await table.acquire(ref("t1"), "cs1");
      await table.acquire(ref("t1"), "cs1");
      const other = table.acquire(ref("t2"), "cs1");
      expect(table.list(object)[0].holders).to.deep.equal([{ server: "cs1", thread: "t1", count: 2 }]);
      table.release(ref("t1"), "cs1");
      expect(await isPending(other)).to.equal(true);
      table.release(ref("t1"), "cs1");
      await other;
    });

    it("should let the holder re-enter even while others wait", async () => {
      await table.acquire(ref("t1"), "cs1");
      const other = table.acquire(ref("t2"), "cs1");
      await table.acquire(ref("t1"), "cs1");
      expect(await isPending(other)).to.equal(true);
    });

    it("should let the same thread re-enter through another server (A -> B -> A across servers)", async () => {
      await table.acquire(ref("t1"), "cs1");
      const other = table.acquire(ref("t2"), "cs3");
      await table.acquire(ref("t1"), "cs2");
      expect(table.list(object)[0].holders).to.deep.equal([{ server: "cs1", thread: "t1", count: 1 }, { server: "cs2", thread: "t1", count: 1 }]);
      table.release(ref("t1"), "cs2");
      expect(await isPending(other)).to.equal(true);
      table.release(ref("t1"), "cs1");
      await other;
    });

    it("should drop only a dead server's share of a thread's reentrant hold", async () => {
      await table.acquire(ref("t1"), "cs1");
      await table.acquire(ref("t1"), "cs2");
      const other = table.acquire(ref("t2"), "cs3");
      expect(table.dropServer("cs2")).to.equal(1);
      expect(await isPending(other)).to.equal(true);
      expect(table.list(object)[0].holders).to.deep.equal([{ server: "cs1", thread: "t1", count: 1 }]);
      table.release(ref("t1"), "cs1");
      await other;
    });

    it("should keep monitors, locks and semaphores of one key apart", async () => {
      await table.acquire(ref("t1", "monitor", "monitor"), "cs1");
      await table.acquire(ref("t2", "lock", "monitor"), "cs1");
      await table.acquire(ref("t3", "semaphore", "monitor"), "cs1");
      expect(table.list(object).map((l) => l.kind).sort()).to.deep.equal(["lock", "monitor", "semaphore"]);
    });

    it("should refuse to release a lock the thread does not hold, naming it", async () => {
      await table.acquire(ref("t1"), "cs1");
      const err = (() => {
        try {
          table.release(ref("t2"), "cs1");
        } catch (e) {
          return e as LockNotHeldError;
        }
        return expect.fail("should have thrown");
      })();
      expect(err).to.be.instanceOf(LockNotHeldError);
      expect(err).to.include({ object, key: "k", lock: "lock", thread: "t2", computeServer: "cs1" });
      expect(() => table.release(ref("t1", "monitor"), "cs1")).to.throw(LockNotHeldError);
    });

    it("should rebuild its errors by name across processes", () => {
      const err = new LockNotHeldError("not held", { object, key: "k", lock: "lock", thread: "t", computeServer: "cs1" });
      const rebuilt = fromWireError(toWireError(err, "ds1"));
      expect(rebuilt).to.be.instanceOf(LockNotHeldError);
      expect(rebuilt.wireFields()).to.deep.equal(err.wireFields());
    });

    it("should forget a lock once it is free and nobody waits", async () => {
      await table.acquire(ref("t1"), "cs1");
      table.release(ref("t1"), "cs1");
      expect(table.list(object)).to.deep.equal([]);
    });
  });

  describe("wound-wait between atomic threads", () => {
    let wounds: Wound[];
    beforeEach(() => {
      wounds = [];
      table.onWound = (w) => wounds.push(w);
    });

    /** An atomic thread's acquire: its atomic id is its thread; `since` its start. */
    const atomic = (id: string, since: number, lock: LockKind = "monitor"): LockRequestRef =>
      ({ object, key: "k", lock, thread: id, atomic: { id: asAtomicId(id), since } });
    const wounded = () => wounds.map((w) => `${w.atomic} by ${w.by}`);

    it("should have an older atomic thread wound a younger holder, and wait for its release", async () => {
      await table.acquire(atomic("young", 200), "cs2");
      const old = table.acquire(atomic("old", 100), "cs1");
      expect(await isPending(old)).to.equal(true);
      expect(wounds).to.deep.equal([{ object, key: "k", lock: "monitor", atomic: "young", servers: ["cs2"], by: "old", reason: "an older atomic thread waits for it" }]);
      table.release(atomic("young", 200), "cs2"); // its abort gives the lock back
      await old;
      expect(table.counters.wounds).to.equal(1);
    });

    it("should have a younger atomic thread wait for an older holder, wounding nobody", async () => {
      await table.acquire(atomic("old", 100), "cs1");
      const young = table.acquire(atomic("young", 200), "cs2");
      expect(await isPending(young)).to.equal(true);
      expect(wounds).to.deep.equal([]);
      table.release(atomic("old", 100), "cs1");
      await young;
    });

    it("should order two atomic threads started in the same millisecond by their ids", async () => {
      await table.acquire(atomic("b", 100), "cs1");
      void table.acquire(atomic("a", 100), "cs2");
      expect(wounded()).to.deep.equal(["b by a"]);
    });

    it("should let a non-atomic thread wound an atomic holder, and an atomic thread wait for a non-atomic one", async () => {
      await table.acquire(atomic("t-atomic", 100), "cs1");
      const plain = table.acquire({ object, key: "k", lock: "monitor", thread: "plain" }, "cs2");
      expect(wounded()).to.deep.equal(["t-atomic by plain"]);
      table.release(atomic("t-atomic", 100), "cs1");
      await plain;
      const atomicWaits = table.acquire(atomic("t-atomic", 100), "cs1");
      expect(await isPending(atomicWaits)).to.equal(true);
      expect(wounds).to.have.length(1);
      table.release({ object, key: "k", lock: "monitor", thread: "plain" }, "cs2");
      await atomicWaits;
    });

    it("should queue an atomic waiter ahead of younger atomic waiters, never past a non-atomic one", async () => {
      await table.acquire({ object, key: "k", lock: "lock", thread: "plain" }, "cs1");
      const order: string[] = [];
      const young = acquireInto(order, "young", atomic("young", 300, "lock"), "cs2");
      const old = acquireInto(order, "old", atomic("old", 100, "lock"), "cs3");
      const plain2 = acquireInto(order, "plain2", { object, key: "k", lock: "lock", thread: "plain2" }, "cs4");
      const oldest = acquireInto(order, "oldest", atomic("oldest", 50, "lock"), "cs5");
      expect(table.list(object)[0].waiting.map((w) => w.thread)).to.deep.equal(["old", "young", "plain2", "oldest"]);
      expect(wounds).to.deep.equal([]); // they all wait for the non-atomic holder
      table.release({ object, key: "k", lock: "lock", thread: "plain" }, "cs1");
      await old;
      // The non-atomic waiter behind it never waits for an atomic holder: it wounds it (once).
      expect(wounded()).to.deep.equal(["old by plain2"]);
      table.release(atomic("old", 100, "lock"), "cs3");
      await young;
      table.release(atomic("young", 300, "lock"), "cs2");
      await plain2;
      table.release({ object, key: "k", lock: "lock", thread: "plain2" }, "cs4");
      await oldest;
      expect(order).to.deep.equal(["old", "young", "plain2", "oldest"]);
    });

    it("should never wound a thread for its own re-entry, and wound a holder once however many wait", async () => {
      await table.acquire(atomic("young", 200), "cs1");
      await table.acquire(atomic("young", 200), "cs2"); // the same atomic thread, through another server
      void table.acquire(atomic("old1", 100), "cs3");
      void table.acquire(atomic("old2", 50), "cs4");
      void table.acquire({ object, key: "k", lock: "monitor", thread: "plain" }, "cs5");
      expect(wounds).to.have.length(1);
      expect(wounds[0]).to.deep.include({ atomic: "young", servers: ["cs1", "cs2"], by: "old1" });
    });

    it("should leave semaphores out of wound-wait", async () => {
      await table.acquire(atomic("young", 200, "semaphore"), "cs1");
      void table.acquire(atomic("old", 100, "semaphore"), "cs2");
      expect(wounds).to.deep.equal([]);
    });
  });

  describe("semaphore", () => {
    const sem = (thread: string, permits?: number) => ref(thread, "semaphore", "s", permits);

    it("should admit as many threads as it has permits, then queue", async () => {
      await table.acquire(sem("t1", 2), "cs1");
      await table.acquire(sem("t2", 2), "cs2");
      const third = table.acquire(sem("t3", 2), "cs1");
      expect(await isPending(third)).to.equal(true);
      expect(table.list(object)[0]).to.include({ available: 0 });
      table.release(sem("t2"), "cs2");
      await third;
    });

    it("should take one permit per acquire, also from a thread that holds some", async () => {
      await table.acquire(sem("t1", 2), "cs1");
      await table.acquire(sem("t1", 2), "cs1");
      expect(await isPending(table.acquire(sem("t1", 2), "cs1"))).to.equal(true);
      expect(table.list(object)[0].holders).to.deep.equal([{ server: "cs1", thread: "t1", count: 2 }]);
    });

    it("should keep the permits of its first acquire and ignore later values", async () => {
      await table.acquire(sem("t1", 1), "cs1");
      expect(await isPending(table.acquire(sem("t2", 5), "cs1"))).to.equal(true);
    });

    it("should serve waiters strictly FIFO", async () => {
      await table.acquire(sem("t0", 1), "cs1");
      const order: string[] = [];
      const waits = ["t1", "t2"].map((t) => acquireInto(order, t, sem(t)));
      table.release(sem("t0"), "cs1");
      await waits[0];
      table.release(sem("t1"), "cs1");
      await Promise.all(waits);
      expect(order).to.deep.equal(["t1", "t2"]);
    });

    it("should count a release by a thread holding no permit as a signal that adds one", async () => {
      await table.acquire(sem("t1", 1), "cs1");
      expect(table.release(sem("other"), "cs1")).to.deep.equal({ released: false });
      await table.acquire(sem("t2"), "cs1");
      expect(table.list(object)[0]).to.include({ available: 0 });
    });

    it("should let a producer's signal wake a waiting consumer", async () => {
      const consumer = table.acquire(sem("consumer", 0), "cs1");
      expect(await isPending(consumer)).to.equal(true);
      expect(table.release(sem("producer"), "cs2")).to.deep.equal({ released: false });
      await consumer;
      expect(table.list(object)[0]).to.include({ available: 0 });
    });

    it("should start a semaphore first met in a signal at 0 permits, plus the signal", async () => {
      table.release(sem("producer"), "cs1");
      table.release(sem("producer"), "cs1");
      expect(table.list(object)[0]).to.include({ available: 2 });
      await table.acquire(sem("c1", 7), "cs1");
      await table.acquire(sem("c2", 7), "cs1");
      expect(await isPending(table.acquire(sem("c3", 7), "cs1"))).to.equal(true);
    });
  });

  describe("dropServer and releaseThread", () => {
    it("should release what a dropped server held and grant the next waiter", async () => {
      await table.acquire(ref("t1"), "cs1");
      await table.acquire(ref("t1"), "cs1");
      const next = table.acquire(ref("t2"), "cs2");
      expect(table.dropServer("cs1")).to.equal(2);
      await next;
      expect(table.list(object)[0].holders).to.deep.equal([{ server: "cs2", thread: "t2", count: 1 }]);
    });

    it("should cancel a dropped server's waiters with a named error and skip them in the queue", async () => {
      await table.acquire(ref("t1"), "cs1");
      const dead = table.acquire(ref("t2"), "cs2");
      const alive = table.acquire(ref("t3"), "cs3");
      expect(table.dropServer("cs2")).to.equal(1);
      const err = await expectRejection(dead, LockWaitCancelledError);
      expect(err).to.include({ object, key: "k", thread: "t2", computeServer: "cs2" });
      expect(err.message).to.contain("cs2");
      table.release(ref("t1"), "cs1");
      await alive;
    });

    it("should give back a dropped server's semaphore permits", async () => {
      await table.acquire(ref("t1", "semaphore", "s", 2), "cs1");
      await table.acquire(ref("t2", "semaphore", "s", 2), "cs1");
      const waiting = table.acquire(ref("t3", "semaphore", "s"), "cs2");
      table.dropServer("cs1");
      await waiting;
      expect(table.list(object)[0]).to.include({ available: 1 });
    });

    it("should release every hold of one thread and leave other threads alone", async () => {
      await table.acquire(ref("t1", "lock", "a"), "cs1");
      await table.acquire(ref("t1", "lock", "a"), "cs1");
      await table.acquire(ref("t1", "monitor", "monitor"), "cs1");
      await table.acquire(ref("t2", "lock", "b"), "cs1");
      const next = table.acquire(ref("t3", "lock", "a"), "cs2");
      expect(table.releaseThread("cs1", "t1")).to.equal(3);
      await next;
      expect(table.list(object).map((l) => `${l.kind}:${l.key}:${l.holders[0].thread}`).sort()).to.deep.equal(["lock:a:t3", "lock:b:t2"]);
    });

    it("should cancel only the waits of a server whose connection closed, keeping its holds", async () => {
      await table.acquire(ref("t1"), "cs1");
      const lost = table.acquire(ref("t2"), "cs1");
      void table.acquire(ref("t3"), "cs2");
      expect(table.dropWaiters("cs1")).to.equal(1);
      await expectRejection(lost, LockWaitCancelledError);
      const [info] = table.list(object);
      expect(info.holders).to.deep.equal([{ server: "cs1", thread: "t1", count: 1 }]);
      expect(info.waiting).to.deep.equal([{ server: "cs2", thread: "t3" }]);
    });

    it("should return 0 for a server that holds nothing", () => {
      expect(table.dropServer("cs9")).to.equal(0);
    });
  });

  it("should count acquires, waits, wait time, releases and drops", async () => {
    await table.acquire(ref("t1"), "cs1");
    const waiting = table.acquire(ref("t2"), "cs1");
    table.release(ref("t1"), "cs1");
    await waiting;
    table.dropServer("cs1");
    const c = table.counters;
    expect(c).to.include({ acquires: 2, waits: 1, releases: 1, dropped: 1 });
    expect(c.waitMs).to.be.at.least(0);
  });

  it("should list an object's locks with holders, waiters and what is available", async () => {
    await table.acquire(ref("t1"), "cs1");
    void table.acquire(ref("t2"), "cs2").catch(() => undefined);
    expect(table.list(object)).to.deep.equal([
      { object, key: "k", kind: "lock", available: 0, holders: [{ server: "cs1", thread: "t1", count: 1 }], waiting: [{ server: "cs2", thread: "t2" }] },
    ]);
    expect(table.list(newSysName(asServerId("ds1")))).to.deep.equal([]);
  });
});
