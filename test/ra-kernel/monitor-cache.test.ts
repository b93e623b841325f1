/**
 * Tests of MonitorCache (ra-kernel/monitor-cache.ts) against a real home LockTable: two
 * compute servers' caches, their lock links straight into the table, and the table's recalls
 * delivered to the cache of the server named (as DataServer sends compute.lock.recall). What
 * must hold: grants without messages while no one else asks; local FIFO; a recalled monitor
 * goes to the remote waiter before any local newcomer (fair, no starvation when servers
 * alternate); a thread re-entering through another server gets in (convert); a dropped home
 * leaves nothing cached.
 */
import { expect } from "chai";
import { newSysName, type ServerId, type SysName, type ThreadId } from "../../ra-kernel/ids.js";
import { MonitorCache, type MonitorHold } from "../../ra-kernel/monitor-cache.js";
import type { LockLink } from "../../ra-kernel/lock-manager.js";
import { LockTable } from "../../servers/data/lock-table.js";
import { deferred } from "../support/deferred.js";

const ds1 = "ds1" as ServerId;

/** A home's LockTable and the compute servers' caches wired to it. */
class Homes {
  readonly table = new LockTable();
  readonly caches = new Map<string, MonitorCache>();
  /** Messages each server sent to the home. */
  readonly sent: string[] = [];
  /** When set, cache acquires wait for it before reaching the table. */
  acquireGate: Promise<void> | null = null;

  constructor() {
    this.table.onRecall = (r) => void this.caches.get(r.server)!.recall(r.object, r.cacheThread, r.waiter).then((a) => this.table.recalled(r, a));
  }

  cache(server: string): MonitorCache {
    const link: LockLink = {
      acquire: async (_home, body) => {
        this.sent.push(`${server} acquire ${body.thread}`);
        if (body.cache && this.acquireGate) await this.acquireGate;
        return this.table.acquire(body, server);
      },
      release: async (_home, body) => {
        this.sent.push(`${server} release ${body.thread}`);
        return this.table.release(body, server);
      },
    };
    const c = new MonitorCache(link, server);
    this.caches.set(server, c);
    return c;
  }

  holders(object: SysName): string[] {
    return this.table.list(object).flatMap((l) => l.holders.map((h) => `${h.thread}@${h.server}x${h.count}`));
  }
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
const thread = (name: string) => name as ThreadId;

describe("MonitorCache", () => {
  let homes: Homes;
  let cs1: MonitorCache;
  let cs2: MonitorCache;
  let obj: SysName;

  beforeEach(() => {
    homes = new Homes();
    cs1 = homes.cache("cs1");
    cs2 = homes.cache("cs2");
    obj = newSysName(ds1);
  });

  it("should ask the home once, then grant and release locally while no one else asks", async () => {
    for (const t of ["t1", "t2", "t3"]) await cs1.release(await cs1.acquire(obj, thread(t), 0));
    expect(homes.sent, "one acquire of the cache thread, no release").to.deep.equal(["cs1 acquire cache@cs1#1"]);
    expect(cs1.counters).to.include({ homeAcquires: 1, localGrants: 3 });
    expect(homes.holders(obj), "the home sees the cache as the holder").to.deep.equal(["cache@cs1#1@cs1x1"]);
  });

  it("should serve local waiters FIFO, and let the holder re-enter", async () => {
    const order: string[] = [];
    const h1 = await cs1.acquire(obj, thread("t1"), 0);
    const again = await cs1.acquire(obj, thread("t1"), 1);
    const waiting = ["t2", "t3", "t4"].map((t) => cs1.acquire(obj, thread(t), 0).then(async (h) => {
      order.push(t);
      await turn();
      await cs1.release(h);
    }));
    await turn();
    await cs1.release(again);
    expect(order, "t1 is still inside once").to.deep.equal([]);
    await cs1.release(h1);
    await Promise.all(waiting);
    expect(order).to.deep.equal(["t2", "t3", "t4"]);
  });

  it("should give an idle cached monitor to another server's waiter at once", async () => {
    await cs1.release(await cs1.acquire(obj, thread("t1"), 0));
    const h = await cs2.acquire(obj, thread("u1"), 0);
    expect(homes.holders(obj)).to.deep.equal(["cache@cs2#1@cs2x1"]);
    expect(cs1.size, "nothing cached on cs1 any more").to.equal(0);
    await cs2.release(h);
  });

  it("should let the remote waiter in before any local newcomer once recalled", async () => {
    const order: string[] = [];
    const h1 = await cs1.acquire(obj, thread("t1"), 0);
    const remote = cs2.acquire(obj, thread("u1"), 0).then(async (h) => {
      order.push("u1");
      await cs2.release(h);
    });
    await turn();
    const local = cs1.acquire(obj, thread("t2"), 0).then(async (h) => {
      order.push("t2");
      await cs1.release(h);
    });
    await turn();
    order.push("t1 leaves");
    await cs1.release(h1);
    await Promise.all([remote, local]);
    expect(order).to.deep.equal(["t1 leaves", "u1", "t2"]);
    expect(homes.table.list(obj).every((l) => l.waiting.length === 0)).to.equal(true);
  });

  it("should keep two servers alternating on a busy monitor fair and exact", async () => {
    let inside = 0;
    let most = 0;
    const runs: string[] = [];
    const loop = (cache: MonitorCache, server: string, t: string) => async () => {
      for (let i = 0; i < 40; i++) {
        const h: MonitorHold = await cache.acquire(obj, thread(`${t}.${i}`), 0);
        most = Math.max(most, ++inside);
        runs.push(server);
        await turn();
        inside--;
        await cache.release(h);
      }
    };
    await Promise.all([loop(cs1, "cs1", "a")(), loop(cs1, "cs1", "b")(), loop(cs2, "cs2", "c")(), loop(cs2, "cs2", "d")()]);
    expect(most, "never two inside").to.equal(1);
    expect(runs.filter((s) => s === "cs1").length).to.equal(80);
    const streaks = runs.join(" ").split(/(?<=cs1) (?=cs2)|(?<=cs2) (?=cs1)/).map((s) => s.split(" ").length);
    expect(Math.max(...streaks), `no server keeps it while the other waits: ${streaks.join(",")}`).to.be.at.most(3);
  });

  it("should let a thread inside the monitor here re-enter through another server (convert)", async () => {
    const outer = await cs1.acquire(obj, thread("t1"), 0);
    const inner = await cs2.acquire(obj, thread("t1"), 1); // t1 diffused to cs2 and re-enters the object there
    expect(homes.holders(obj), "t1 holds it, once through each server").to.deep.equal(["t1@cs1x1", "t1@cs2x1"]);
    expect(cs1.counters.conversions).to.equal(1);
    await cs2.release(inner);
    await cs1.release(outer);
    expect(homes.holders(obj), "free at the home").to.deep.equal([]);
    await cs1.release(await cs1.acquire(obj, thread("t2"), 0));
    expect(homes.holders(obj), "cached anew").to.deep.equal(["cache@cs1#2@cs1x1"]);
  });

  it("should answer a recall that overtakes the grant of its cache acquire once the grant landed", async () => {
    const gate = deferred<void>();
    homes.acquireGate = gate.promise;
    const first = cs1.acquire(obj, thread("t1"), 0);
    await turn();
    homes.acquireGate = null;
    const answer = cs1.recall(obj, "cache@cs1#1", "u1");
    gate.resolve();
    const h = await first;
    expect(await answer, "t1 is inside: it goes home when t1 leaves").to.deep.equal({ action: "later" });
    await cs1.release(h);
    expect(homes.sent.at(-1)).to.equal("cs1 release cache@cs1#1");
  });

  it("should forget the monitors of a dropped home and cache anew after", async () => {
    await cs1.release(await cs1.acquire(obj, thread("t1"), 0));
    cs1.dropHome(ds1);
    homes.table.dropServer("cs1"); // the home took back what cs1 held (lease over)
    expect(cs1.size).to.equal(0);
    await cs1.release(await cs1.acquire(obj, thread("t2"), 0));
    expect(cs1.counters.homeAcquires).to.equal(2);
    expect(homes.holders(obj)).to.deep.equal(["cache@cs1#2@cs1x1"]);
  });

  it("should send a nested (depth > 0) acquire to the home as its own thread", async () => {
    const h = await cs1.acquire(obj, thread("n1"), 2);
    expect(h.entry).to.equal(null);
    expect(homes.holders(obj)).to.deep.equal(["n1@cs1x1"]);
    await cs1.release(h);
    expect(homes.holders(obj)).to.deep.equal([]);
  });
  describe("early release (handOff)", () => {
    it("should let the next local waiter in at once, the hold given back", async () => {
      const h1 = await cs1.acquire(obj, thread("t1"), 0);
      const next = cs1.acquire(obj, thread("t2"), 0);
      const answered = deferred<void>();
      expect(cs1.handOff(h1, answered.promise)).to.equal(true);
      const h2 = await next;
      expect(h2.thread).to.equal("t2");
      await cs1.release(h2);
      answered.resolve();
      expect(cs1.counters).to.include({ handOffs: 1, homeAcquires: 1 });
      expect(homes.sent).to.deep.equal(["cs1 acquire cache@cs1#1"]);
    });

    it("should keep the monitor here until handed-off commits are answered when another server asks", async () => {
      const answered = deferred<void>();
      expect(cs1.handOff(await cs1.acquire(obj, thread("t1"), 0), answered.promise)).to.equal(true);
      const remote = cs2.acquire(obj, thread("u1"), 0);
      for (let i = 0; i < 5; i++) await turn();
      expect(homes.holders(obj), "idle, but t1's commit is not answered: still ours").to.deep.equal(["cache@cs1#1@cs1x1"]);
      expect(homes.sent).to.not.include("cs1 release cache@cs1#1");
      answered.resolve();
      const h = await remote;
      expect(h.thread).to.equal("u1");
      expect(homes.sent).to.include("cs1 release cache@cs1#1");
    });

    it("should go home after the last local holder left and every handed-off commit was answered", async () => {
      const a1 = deferred<void>();
      const h1 = await cs1.acquire(obj, thread("t1"), 0);
      const local = cs1.acquire(obj, thread("t2"), 0);
      cs1.handOff(h1, a1.promise);
      const h2 = await local; // t2 inside, t1's commit on its way
      const remote = cs2.acquire(obj, thread("u1"), 0);
      for (let i = 0; i < 5; i++) await turn();
      const a2 = deferred<void>();
      cs1.handOff(h2, a2.promise); // recalled meanwhile: no local waiter gets it any more
      a2.resolve();
      for (let i = 0; i < 5; i++) await turn();
      expect(homes.holders(obj), "t1's commit is still unanswered").to.deep.equal(["cache@cs1#1@cs1x1"]);
      a1.resolve();
      expect((await remote).thread).to.equal("u1");
    });

    it("should refuse a hold it cannot hand on: at the home, or re-entered", async () => {
      const nested = await cs1.acquire(obj, thread("t1"), 1);
      expect(cs1.handOff(nested, Promise.resolve()), "a nested acquire holds at the home").to.equal(false);
      await cs1.release(nested);
      const h = await cs1.acquire(obj, thread("t2"), 0);
      const again = await cs1.acquire(obj, thread("t2"), 1);
      expect(cs1.handOff(again, Promise.resolve()), "re-entered: the outer frame still holds it").to.equal(false);
      await cs1.release(again);
      expect(cs1.handOff(h, Promise.resolve())).to.equal(true);
    });
  });
});
