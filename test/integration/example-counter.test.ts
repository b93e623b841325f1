/**
 * The Counter example (objects/examples/counter.ts) on a real cluster: exclusive increments
 * from several clients on both compute servers lose no update, and every server reads the
 * final count.
 */
import { expect } from "chai";
import * as path from "node:path";
import { TestCluster } from "../support/test-cluster.js";
import { REPO_ROOT } from "../support/compiled-examples.js";
import type { Counter } from "../../objects/examples/counter.js";

const COUNTER = path.join(REPO_ROOT, "objects/examples/counter.ts");

describe("Counter example (integration, real processes)", function () {
  this.timeout(120_000);
  let cluster: TestCluster;

  before(async () => {
    cluster = await TestCluster.start();
  });

  after(async () => {
    await cluster?.stop();
  });

  it("should count every increment made concurrently from two clients on both compute servers", async () => {
    const [a, b] = [await cluster.connect(), await cluster.connect()];
    await a.load(COUNTER);
    await a.create<Counter>("Counter", "Hits");
    const [ra, rb] = [await a.bind<Counter>("Hits"), await b.bind<Counter>("Hits")];
    const bumps = [ra.at("cs1"), ra.at("cs2"), rb.at("cs1"), rb.at("cs2")].map(async (ref, i) => {
      const seen: number[] = [];
      for (let n = 0; n < 10; n++) seen.push(await ref.increment(i + 1));
      return seen;
    });
    const seen = (await Promise.all(bumps)).flat();
    const total = 10 * (1 + 2 + 3 + 4);
    expect(new Set(seen).size, "every increment returned a distinct count").to.equal(seen.length);
    expect(Math.max(...seen)).to.equal(total);
    for (const at of ["cs1", "cs2"]) expect(await ra.at(at).stats()).to.deep.equal({ count: total, increments: 40 });
  });

  it("should work from the shell, with a default step and a reset", async () => {
    expect((await cluster.exec("new Counter Clicks")).code).to.equal(0);
    expect((await cluster.exec("Clicks.increment()")).stdout).to.equal("1\n");
    expect((await cluster.exec("@cs2 Clicks.increment(4)")).stdout).to.equal("5\n");
    expect((await cluster.exec("@cs1 Clicks.read()")).stdout).to.equal("5\n");
    await cluster.exec("Clicks.reset()");
    expect((await cluster.exec("@cs2 Clicks.read()")).stdout).to.equal("0\n");
  });
});
