/**
 * Tests of PageLocks (servers/data/page-locks.ts): one holder per page at a time, waiters
 * served in arrival order, multi-page requests that cannot deadlock, and locks released
 * when the holder throws. Holders wait on Deferreds the test resolves, so every ordering
 * is fixed rather than timed.
 */
import { expect } from "chai";
import { PageLocks } from "../../../servers/data/page-locks.js";
import { deferred, isPending, type Deferred } from "../../support/deferred.js";
import { expectRejection } from "../../support/expect-rejection.js";

describe("PageLocks", () => {
  let locks: PageLocks;
  let log: string[];

  beforeEach(() => {
    locks = new PageLocks();
    log = [];
  });

  /** Takes `keys`, logs `name`, and holds them until the returned gate is opened. */
  function hold(name: string, keys: string[]): { done: Promise<string>; gate: Deferred<void> } {
    const gate = deferred<void>();
    const done = locks.withPages(keys, async () => {
      log.push(`${name} in`);
      await gate.promise;
      log.push(`${name} out`);
      return name;
    });
    return { done, gate };
  }

  it("should run a holder at once and return its value", async () => {
    expect(await locks.withPages(["a"], () => 42)).to.equal(42);
    expect(await locks.withPages(["a"], async () => "async")).to.equal("async");
  });

  it("should make a second request for a page wait until the first is done", async () => {
    const first = hold("first", ["a"]);
    const second = hold("second", ["a"]);
    await isPending(second.done);
    expect(log).to.deep.equal(["first in"]);
    second.gate.resolve();
    expect(await isPending(second.done), "second must wait for first").to.equal(true);
    first.gate.resolve();
    expect(await Promise.all([first.done, second.done])).to.deep.equal(["first", "second"]);
    expect(log).to.deep.equal(["first in", "first out", "second in", "second out"]);
  });

  it("should serve waiters of a page in arrival order", async () => {
    const holders = ["h0", "h1", "h2", "h3", "h4"].map((n) => hold(n, ["p"]));
    for (const h of [...holders].reverse()) h.gate.resolve();
    await Promise.all(holders.map((h) => h.done));
    expect(log.filter((l) => l.endsWith(" in"))).to.deep.equal(["h0 in", "h1 in", "h2 in", "h3 in", "h4 in"]);
  });

  it("should let requests for different pages run at the same time", async () => {
    const a = hold("a", ["a"]);
    const b = hold("b", ["b"]);
    await isPending(b.done);
    expect(log).to.deep.equal(["a in", "b in"]);
    a.gate.resolve();
    b.gate.resolve();
    await Promise.all([a.done, b.done]);
  });

  it("should never deadlock two requests that list the same pages in opposite orders", async () => {
    const ab = hold("ab", ["a", "b"]);
    const ba = hold("ba", ["b", "a"]);
    await isPending(ba.done);
    expect(log).to.deep.equal(["ab in"]);
    ab.gate.resolve();
    ba.gate.resolve();
    expect(await Promise.all([ab.done, ba.done])).to.deep.equal(["ab", "ba"]);
    expect(log).to.deep.equal(["ab in", "ab out", "ba in", "ba out"]);
  });

  it("should finish many overlapping multi-page requests in any key order", async () => {
    const keys = ["a", "b", "c", "d"];
    const runs: Promise<number>[] = [];
    let inside = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const mine = [keys[i % 4], keys[(i * 3 + 1) % 4], keys[(i + 2) % 4]];
      runs.push(locks.withPages(mine, async () => {
        for (const k of mine) expect(inside.has(k), `page ${k} held twice`).to.equal(false);
        inside = new Set([...inside, ...mine]);
        await Promise.resolve();
        for (const k of mine) inside.delete(k);
        return i;
      }));
    }
    expect(await Promise.all(runs)).to.deep.equal([...Array(40).keys()]);
  });

  it("should make a multi-page request wait for a holder of any one of its pages", async () => {
    const b = hold("b", ["b"]);
    const abc = hold("abc", ["a", "b", "c"]);
    const c = hold("c", ["c"]);
    await isPending(c.done);
    expect(log).to.deep.equal(["b in"]);
    abc.gate.resolve();
    c.gate.resolve();
    b.gate.resolve();
    await Promise.all([b.done, abc.done, c.done]);
    expect(log).to.deep.equal(["b in", "b out", "abc in", "abc out", "c in", "c out"]);
  });

  it("should take a page listed twice once", async () => {
    expect(await locks.withPages(["a", "a"], () => "once")).to.equal("once");
    expect(await locks.withPages(["a"], () => "after")).to.equal("after");
  });

  it("should release its pages when the holder throws or rejects", async () => {
    const err = await expectRejection(locks.withPages(["a", "b"], () => {
      throw new RangeError("sync throw");
    }), RangeError);
    expect(err.message).to.equal("sync throw");
    await expectRejection(locks.withPages(["b"], async () => {
      throw new TypeError("async throw");
    }), TypeError);
    expect(await locks.withPages(["a", "b"], () => "free again")).to.equal("free again");
  });

  it("should pass the pages on to a waiter when the holder fails", async () => {
    const gate = deferred<void>();
    const failing = locks.withPages(["a"], async () => {
      await gate.promise;
      throw new Error("commit failed");
    });
    const waiter = locks.withPages(["a"], () => "waiter ran");
    gate.resolve();
    await expectRejection(failing, Error);
    expect(await waiter).to.equal("waiter ran");
  });
});
