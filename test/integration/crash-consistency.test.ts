/**
 * Crash consistency on a real cluster (DESIGN §7a): a kill -9 loses exactly the uncommitted
 * segments of the invocations in flight on the killed server, never a committed one and
 * never part of one — checked on the object's own invariants (test/fixtures/journal.ts:
 * n === items.length, every item whole), not only on which calls failed.
 *
 * - the torn-object scenario of issue 9: a lock section in flight on cs1 (it wrote n++ and
 *   pushed an item, then waits), an add that already released its lock (committed), a racy
 *   read from cs2 that sees (and caches) the uncommitted item, a third add from cs2 waiting
 *   for the lock; kill -9 cs1: the lock reaches cs2 only once the pages were reverted (it
 *   counts from the committed n), and after repair the object holds the committed adds and
 *   the waiting one, whole, and nothing of the section in flight; then the same with the
 *   data server killed too;
 * - nothing else lost: invocations in flight on two compute servers, appending to their own
 *   lists of one object (sharing its heap pages and allocator); kill -9 one: the home takes
 *   only its words out of the shared pages, and the other invocation goes on and commits;
 * - allocation stress: threads on three compute servers append to their own lists of one
 *   object at once (no lock: nothing shared but the heap allocator and false sharing):
 *   every append is there exactly once, and no responsive server was declared dead.
 */
import { expect } from "chai";
import * as path from "node:path";
import { TestCluster } from "../support/test-cluster.js";
import { until } from "../support/until.js";
import { REPO_ROOT } from "../support/compiled-examples.js";
import type { Cluster } from "../../shell/client/cluster.js";
import type { Remote } from "../../shell/client/remote.js";
import type { Journal } from "../fixtures/journal.js";

const JOURNAL = path.join(REPO_ROOT, "test/fixtures/journal.ts");
/** Appends per compute server in the allocation stress. */
const APPENDS = 60;

type Settled<T> = { ok: true; value: T } | { ok: false; error: Error };

function settle<T>(p: Promise<T>): Promise<Settled<T>> {
  return p.then((value) => ({ ok: true as const, value }), (error: Error) => ({ ok: false as const, error }));
}

/** Resolves when a thread of this client prints `text`. */
function printed(client: Cluster, text: string): Promise<void> {
  return new Promise((resolve) => {
    const on = (_thread: string, got: string): void => {
      if (got.trim() !== text) return;
      client.off("print", on);
      resolve();
    };
    client.on("print", on);
  });
}


describe("Crash consistency (integration, real processes)", function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  let client: Cluster;

  before(async () => {
    cluster = await TestCluster.start({ compute: 3 });
    client = await cluster.connect();
    await client.load(JOURNAL);
  });

  after(async () => {
    await cluster?.stop();
  });

  /** Leaves on cs1: a committed add of B waiting at a gate, and a section that wrote X inside lock m. */
  async function inFlightOnCs1(ledger: Remote<Journal>): Promise<Promise<Settled<number>>[]> {
    const added = printed(client, "added:B");
    const b = settle(ledger.at("cs1").addThenWait("B", "g-b"));
    await added;
    const inside = printed(client, "inside:X");
    const x = settle(ledger.at("cs1").addInsideAndWait("X", "g-x"));
    await inside;
    return [b, x];
  }

  it("should keep a lock section whole when its compute server dies inside it (torn-object scenario)", async () => {
    const t = await client.create<Journal>("Journal", "Torn1");
    expect(await t.at("cs1").add("A")).to.equal(1);
    const doomed = await inFlightOnCs1(t);
    // A racy read (no lock) sees the section's uncommitted X, and leaves cs2 a copy of its pages.
    expect(await t.at("cs2").state()).to.deep.equal({ n: 3, items: ["A", "B", "X"] });
    const c = settle(t.at("cs2").add("C"));   // waits for lock m, held by the section on cs1
    await cluster.kill("cs1");
    for (const d of doomed) expect((await d).ok, "a call in flight on the killed server").to.equal(false);
    const added = await c;
    expect(added.ok ? added.value : added.error.message).to.equal(3);
    await cluster.repair();
    expect(await t.at("cs3").state()).to.deep.equal({ n: 3, items: ["A", "B", "C"] });
    expect(await t.at("cs1").check()).to.deep.equal([]);
    expect(await t.at("cs1").add("D")).to.equal(4);
  });

  it("should keep only whole committed segments when the data server dies too", async () => {
    const t = await client.create<Journal>("Journal", "Torn2");
    expect(await t.at("cs1").add("A")).to.equal(1);
    const doomed = await inFlightOnCs1(t);
    await Promise.all([cluster.kill("cs1"), cluster.kill("ds1")]);
    for (const d of doomed) expect((await d).ok).to.equal(false);
    await cluster.repair();
    expect(await t.at("cs2").state()).to.deep.equal({ n: 2, items: ["A", "B"] });
    expect(await t.at("cs2").check()).to.deep.equal([]);
    expect(await t.at("cs1").add("C")).to.equal(3);
    expect(await t.at("cs3").check()).to.deep.equal([]);
  });

  it("should lose nothing of another compute server's invocation in flight in the same object when one dies", async () => {
    const t = await client.create<Journal>("Journal", "Beside");
    expect(await t.at("cs2").appendOwn("w2", "b0")).to.equal(1);
    const wrote1 = printed(client, "own:a1");
    const a = settle(t.at("cs1").appendOwnThenWait("w1", "a1", "g-a"));
    await wrote1;
    // cs2 allocates after cs1 in the same heap: it takes the pages holding cs1's uncommitted words.
    const wrote2 = printed(client, "own:b1");
    const b = settle(t.at("cs2").appendOwnThenWait("w2", "b1", "g-b"));
    await wrote2;
    const refreshed = await cluster.metric("cs2", "dsm_refreshes_received_total");
    await cluster.kill("cs1");
    await until(async () => (await cluster.metric("cs2", "dsm_refreshes_received_total")) > refreshed, 30_000, "cs1's words taken out of cs2's pages");
    expect(await cluster.metric("cs2", "dsm_reverts_received_total"), "cs2 was never told to abort").to.equal(0);
    await t.at("cs3").open("g-b");
    const done = await b;
    expect(done.ok ? done.value : done.error.message, "cs2's invocation went on and committed").to.equal(2);
    expect((await a).ok, "the call in flight on the killed server").to.equal(false);
    expect((await t.at("cs3").ownState("w2"))).to.deep.equal({ items: ["b0", "b1"], mapAgrees: true, textAgrees: true });
    expect((await t.at("cs3").ownState("w1")).items, "nothing of cs1's uncommitted append").to.deep.equal([]);
    expect(await t.at("cs3").check()).to.deep.equal([]);
    await cluster.repair();
    expect((await t.at("cs1").ownState("w2")).items).to.deep.equal(["b0", "b1"]);
  });

  it("should not let a client's next call build on the uncommitted append of its call that died with its compute server", async () => {
    const t = await client.create<Journal>("Journal", "Zombie");
    expect(await t.at("cs1").appendOwn("w1", "a0")).to.equal(1);
    const wrote = printed(client, "own:a1");
    const a = settle(t.at("cs3").appendOwnThenWait("w1", "a1", "g-z"));
    await wrote;
    // A racy read (no lock) sees the uncommitted a1, and leaves cs2 read copies holding it.
    expect((await t.at("cs2").ownState("w1")).items).to.deep.equal(["a0", "a1"]);
    const settles = await cluster.metric("ds1", "dsm_home_settles_taken_back_total");
    await cluster.kill("cs3");
    expect((await a).ok, "the call in flight on the killed server").to.equal(false);
    // The client goes on, as a sequential program does after a failed call.
    expect(await t.at("cs2").appendOwn("w1", "a2"), "the next append counts from the committed list").to.equal(2);
    expect(await cluster.metric("ds1", "dsm_home_settles_taken_back_total"), "cs3 was settled at its home first").to.be.above(settles);
    expect(await t.at("cs1").ownState("w1")).to.deep.equal({ items: ["a0", "a2"], mapAgrees: true, textAgrees: true });
    expect(await t.at("cs1").check()).to.deep.equal([]);
    await cluster.repair();
    expect(await t.at("cs3").ownState("w1")).to.deep.equal({ items: ["a0", "a2"], mapAgrees: true, textAgrees: true });
  });

  it("should let threads on three compute servers allocate in one object at once, losing nothing and dropping no holder", async () => {
    const t = await client.create<Journal>("Journal", "Alloc");
    const dropped = await cluster.metric("ds1", "dsm_home_holders_dropped_total");
    const writers = [["cs1", "w1"], ["cs2", "w2"], ["cs3", "w3"]];
    await Promise.all(writers.map(async ([cs, w]) => {
      for (let i = 0; i < APPENDS; i++) expect(await t.at(cs).appendOwn(w, `${w}-${i}`)).to.equal(i + 1);
    }));
    for (const [, w] of writers) {
      const own = await t.at("cs1").ownState(w);
      expect(own.items).to.deep.equal(Array.from({ length: APPENDS }, (_, i) => `${w}-${i}`));
      expect(own).to.deep.include({ mapAgrees: true, textAgrees: true });
    }
    expect(await cluster.metric("ds1", "dsm_home_holders_dropped_total")).to.equal(dropped);
    expect(await t.at("cs2").check()).to.deep.equal([]);
  });
});
