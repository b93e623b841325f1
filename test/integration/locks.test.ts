/**
 * Synchronization across compute servers (integration, real processes): exclusive entries,
 * withLock and semaphores of one object, invoked at cs1 and cs2, are arbitrated by the
 * object's home — FIFO, never overlapping, released when the invocation ends (also by a
 * throw) or when its compute server dies.
 *
 * Entries return the wall-clock span of their critical sections (test/fixtures/locker.ts),
 * so overlap is judged without trusting any field; the field checks (`state()`) also need
 * coherent pages across servers (DSM). Queues are seen at the home with data.lock.list,
 * polled (`until`): a queue has no event of its own. Entries wait at gates (0-permit
 * semaphores the test opens), never on timers.
 */
import { expect } from "chai";
import * as path from "node:path";
import { TestCluster } from "../support/test-cluster.js";
import { REPO_ROOT } from "../support/compiled-examples.js";
import { until } from "../support/until.js";
import type { Cluster } from "../../shell/client/cluster.js";
import type { Remote } from "../../shell/client/remote.js";
import type { DataClient, LockInfo } from "../../servers/data/protocol.js";
import { homeOf, type ServerId } from "../../ra-kernel/ids.js";
import type { Locker, Span } from "../fixtures/locker.js";

describe("Locks across compute servers (integration, real processes)", function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  let client: Cluster;
  let made = 0;

  before(async () => {
    cluster = await TestCluster.start({ compute: 2 });
    client = await cluster.connect();
    await client.load(path.join(REPO_ROOT, "test/fixtures/locker.ts"));
  });

  after(async () => {
    await cluster?.stop();
  });

  async function newLocker(): Promise<Remote<Locker>> {
    return client.create<Locker>("Locker", `Locker${++made}`);
  }

  /** The object's locks as its home sees them. */
  async function locksOf(obj: Remote<Locker>): Promise<LockInfo[]> {
    // The client keeps its data-server connections private; tests may reach in.
    const data = (await (client as unknown as { dataClient(id: ServerId): Promise<DataClient> }).dataClient(homeOf(obj.sysname)));
    return data.call("data.lock.list", { object: obj.sysname });
  }

  async function lockOf(obj: Remote<Locker>, kind: LockInfo["kind"], key: string): Promise<LockInfo | undefined> {
    return (await locksOf(obj)).find((l) => l.kind === kind && l.key === key);
  }

  function waitFor(obj: Remote<Locker>, kind: LockInfo["kind"], key: string, test: (l: LockInfo) => boolean, what: string): Promise<void> {
    return until(async () => {
      const l = await lockOf(obj, kind, key);
      return l !== undefined && test(l);
    }, 20_000, what);
  }

  /** Spans sorted by start never overlap (each starts at or after the previous one ended). */
  function expectDisjoint(spans: Span[]): void {
    const sorted = [...spans].sort((a, b) => a.start - b.start);
    for (let i = 1; i < sorted.length; i++) {
      expect(sorted[i].start, `${sorted[i].label} started before ${sorted[i - 1].label} ended`).to.be.at.least(sorted[i - 1].end);
    }
  }

  /** The most spans open at one instant (an end and a start at the same ms do not overlap). */
  function mostAtOnce(spans: Span[]): number {
    const events = spans.flatMap((s) => [{ t: s.start, d: 1 }, { t: s.end, d: -1 }]).sort((a, b) => a.t - b.t || a.d - b.d);
    let open = 0;
    let most = 0;
    for (const e of events) most = Math.max(most, (open += e.d));
    return most;
  }

  const at = (i: number) => (i % 2 === 0 ? "cs1" : "cs2");

  it("should never overlap exclusive entries run on two compute servers", async () => {
    const obj = await newLocker();
    const spans = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => obj.at(at(i)).exclusiveWork(`e${i}`, 3)));
    expectDisjoint(spans);
    expect(await obj.at("cs1").state()).to.include({ busy: false, overlaps: 0 });
    const monitor = await lockOf(obj, "monitor", "monitor");
    // Free, or cached by the server that ran the last one (idle: nobody waits behind it).
    expect(monitor === undefined || (monitor.holders.every((h) => h.thread.startsWith("cache@")) && monitor.waiting.length === 0), JSON.stringify(monitor)).to.equal(true);
  });

  it("should make an exclusive entry wait while the other server holds the monitor, and serve waiters FIFO", async () => {
    const obj = await newLocker();
    const a = obj.at("cs1").exclusiveUntilOpened("A");
    await waitFor(obj, "semaphore", "gate:A", (l) => l.waiting.length === 1, "A waiting at its gate");
    const b = obj.at("cs2").exclusiveStamp("B");
    await waitFor(obj, "monitor", "monitor", (l) => l.waiting.length === 1, "B queued for the monitor");
    const c = obj.at("cs1").exclusiveStamp("C");
    await waitFor(obj, "monitor", "monitor", (l) => l.waiting.length === 2, "C queued for the monitor");
    expect((await lockOf(obj, "monitor", "monitor"))!.waiting.map((w) => w.server)).to.deep.equal(["cs2", "cs1"]);
    await obj.at("cs2").open("A");
    const [spanA, spanB, spanC] = await Promise.all([a, b, c]);
    expect(spanB.start, "B ran only after A").to.be.at.least(spanA.end);
    expect(spanC.start, "C ran only after B (FIFO)").to.be.at.least(spanB.end);
  });

  it("should serialize withLock increments from both compute servers", async () => {
    const obj = await newLocker();
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => obj.at(at(i)).increment(2)));
    expectDisjoint(results);
    expect(results.map((r) => r.value).sort((x, y) => x - y), "each increment saw the one before (coherence)").to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect((await obj.at("cs2").state()).count).to.equal(10);
    expect(await lockOf(obj, "lock", "count")).to.equal(undefined);
  });

  it("should never admit three threads to a semaphore of two permits", async () => {
    const obj = await newLocker();
    const calls = [obj.at("cs1").useSlot("s1"), obj.at("cs2").useSlot("s2"), obj.at("cs1").useSlot("s3")];
    await waitFor(obj, "semaphore", "slots", (l) => l.waiting.length === 1 && l.available === 0, "a third useSlot queued");
    const slots = (await lockOf(obj, "semaphore", "slots"))!;
    expect(slots.holders.reduce((n, h) => n + h.count, 0)).to.equal(2);
    for (const g of ["s1", "s2", "s3"]) await obj.at("cs2").open(g);
    const spans = await Promise.all(calls);
    expect(mostAtOnce(spans), "threads inside at once").to.equal(2);
    expect((await lockOf(obj, "semaphore", "slots"))!.available).to.equal(2);
    const state = await obj.at("cs1").state();
    expect(state.maxInside, "most threads inside at once (coherence)").to.equal(2);
    expect(state.inside).to.equal(0);
  });

  it("should release a lock held by an invocation that throws or returns without releasing it", async () => {
    const obj = await newLocker();
    let thrown: Error | null = null;
    await obj.at("cs1").lockAndThrow("L").catch((err: Error) => (thrown = err));
    expect(thrown!.message).to.contain("thrown while holding L");
    expect(await lockOf(obj, "lock", "L")).to.equal(undefined);
    expect(await obj.at("cs2").lockOnce("L", "after-throw")).to.include({ label: "after-throw" });
    expect(await obj.at("cs2").lockAndReturn("L")).to.equal(true);
    expect(await obj.at("cs1").lockOnce("L", "after-return")).to.include({ label: "after-return" });
    expect((await locksOf(obj)).filter((l) => l.kind !== "semaphore"), "no lock or monitor left held").to.deep.equal([]);
  });

  it("should grant a named lock in FIFO order across compute servers", async () => {
    const obj = await newLocker();
    const holder = obj.at("cs1").holdUntilOpened("F", "F-gate");
    await waitFor(obj, "semaphore", "gate:F-gate", (l) => l.waiting.length === 1, "the holder at its gate");
    const x = obj.at("cs2").lockOnce("F", "x");
    await waitFor(obj, "lock", "F", (l) => l.waiting.length === 1, "x queued");
    const y = obj.at("cs1").lockOnce("F", "y");
    await waitFor(obj, "lock", "F", (l) => l.waiting.length === 2, "y queued");
    await obj.at("cs2").open("F-gate");
    const [h, sx, sy] = await Promise.all([holder, x, y]);
    expect(sx.start).to.be.at.least(h.end);
    expect(sy.start, "y (queued second) got the lock after x").to.be.at.least(sx.end);
  });

  it("should keep the reentrancy and key checks of the runtime on a real server", async () => {
    const obj = await newLocker();
    expect(await obj.at("cs1").nested("R")).to.equal(2);
    expect(await obj.at("cs2").lockError("")).to.match(/^TypeError: lock\(key\)/);
  });

  // Last: it kills cs1.
  it("should release the locks of a compute server that dies", async () => {
    const obj = await newLocker();
    const doomed = obj.at("cs1").holdUntilOpened("D", "never").catch((err: Error) => err);
    await waitFor(obj, "semaphore", "gate:never", (l) => l.waiting.length === 1, "the holder at its gate");
    expect((await lockOf(obj, "lock", "D"))!.holders.map((h) => h.server)).to.deep.equal(["cs1"]);
    await cluster.kill("cs1");
    expect(await doomed).to.be.instanceOf(Error);
    expect(await obj.at("cs2").lockOnce("D", "survivor")).to.include({ label: "survivor" });
    expect(await lockOf(obj, "lock", "D")).to.equal(undefined);
  });
});
