/**
 * The BigTable example (objects/examples/big-table.ts) on a real cluster: grown to 50 MiB
 * in steps on one compute server, then read on the other, which faults in only the few
 * pages that hold the element (counted on its GET /metrics).
 */
import { expect } from "chai";
import * as path from "node:path";
import { TestCluster } from "../support/test-cluster.js";
import { REPO_ROOT } from "../support/compiled-examples.js";
import { ServerMetrics } from "../bench/server-metrics.js";
import type { Cluster } from "../../shell/client/cluster.js";
import type { BigTable } from "../../objects/examples/big-table.js";

const BIG_TABLE = path.join(REPO_ROOT, "objects/examples/big-table.ts");
/** 16-byte cells: 3.3 M elements are 52.8 MB. */
const ELEMENTS = 3_300_000;
/** Per grow call: about 6.6 MB of cells, one commit. */
const STEP = 412_500;

describe("BigTable example (integration, real processes)", function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  let client: Cluster;

  before(async () => {
    cluster = await TestCluster.start();
    client = await cluster.connect();
    await client.load(BIG_TABLE);
  });

  after(async () => {
    await client?.close();
    await cluster?.stop();
  });

  it("should grow to 50 MiB and fault in only a few pages to read one element elsewhere", async () => {
    const t = await client.create<BigTable>("BigTable", "Big");
    let size = 0;
    for (let n = 0; n < ELEMENTS; n += STEP) size = await t.at("cs1").grow(STEP);
    expect(size).to.equal(ELEMENTS);
    await t.at("cs1").set(2_000_000, -1);
    const fetches = async () => (await ServerMetrics.fetch(cluster.address("cs2"), cluster.token)).value("dsm_fetches_total") ?? NaN;
    const before = await fetches();
    expect(await t.at("cs2").get(2_000_000)).to.equal(-1);
    const cold = (await fetches()) - before;
    expect(cold, "pages fetched by cs2 for one element").to.be.within(1, 8);
    expect(await t.at("cs2").get(3_299_999)).to.equal(3_299_999);
    expect(await t.at("cs2").size()).to.equal(ELEMENTS);
  });

  it("should refuse a grow too large for one commit and an index out of range", async () => {
    const t = await client.create<BigTable>("BigTable", "Small");
    await t.grow(3);
    await expectRejects(t.grow(2_000_000), /RangeError|grow/);
    await expectRejects(t.get(3), /no such element/);
  });
});

async function expectRejects(p: Promise<unknown>, re: RegExp): Promise<void> {
  try {
    await p;
  } catch (err) {
    expect(`${(err as Error).name}: ${(err as Error).message}`).to.match(re);
    return;
  }
  expect.fail("expected a rejection");
}
