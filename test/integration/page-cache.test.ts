/**
 * A bounded page cache on real processes (DESIGN §8): compute servers started with a small
 * --cache-mb run a workload touching three times their bound — on both servers, writes and
 * reads — and every byte is verified afterwards, on each server; the caches stay within
 * their bounds (pages evicted, owned ones given home first), and `pages NAME` shows the
 * working set.
 */
import { expect } from "chai";
import * as path from "node:path";
import { TestCluster } from "../support/test-cluster.js";
import { REPO_ROOT } from "../support/compiled-examples.js";
import { ServerMetrics } from "../bench/server-metrics.js";
import { until } from "../support/until.js";
import type { Cluster } from "../../shell/client/cluster.js";
import type { PageChurn } from "../fixtures/page-churn.js";

const CHURN = path.join(REPO_ROOT, "test/fixtures/page-churn.ts");
/** The bound: 1 MiB = 256 pages. */
const CACHE_MB = 1;
const BOUND_PAGES = 256;
/** About three times the bound, in blocks of one page each. */
const BLOCKS = 780;
const STEP = 60;

describe("Page cache bound (integration, real processes)", function () {
  this.timeout(180_000);
  let cluster: TestCluster;
  let client: Cluster;

  before(async () => {
    cluster = await TestCluster.start({ cacheMb: CACHE_MB });
    client = await cluster.connect();
    await client.load(CHURN);
  });

  after(async () => {
    await client?.close();
    await cluster?.stop();
  });

  const metrics = (id: string) => ServerMetrics.fetch(cluster.address(id), cluster.token);

  it("should run a workload touching three times the bound, correctly, within the bound", async () => {
    const churn = await client.create<PageChurn>("PageChurn", "Churn");
    let n = 0;
    for (let seed = 1; n < BLOCKS; seed++) n = await churn.at("cs1").add(STEP, seed);
    expect(await churn.at("cs1").check()).to.deep.equal({ blocks: n, bad: [] });
    expect(await churn.at("cs2").check(), "every page also read through the other cache").to.deep.equal({ blocks: n, bad: [] });
    for (let i = 0; i < n; i += 7) await churn.at(i % 2 ? "cs1" : "cs2").rewrite(i, 1000 + i);
    expect(await churn.at("cs1").check()).to.deep.equal({ blocks: n, bad: [] });
    expect(await churn.at("cs2").check()).to.deep.equal({ blocks: n, bad: [] });
    for (const id of ["cs1", "cs2"]) {
      const m = await metrics(id);
      expect(m.value("page_cache_evictions_total"), `${id} evicted pages`).to.be.greaterThan(0);
      expect(m.value("page_cache_bound_pages")).to.equal(BOUND_PAGES);
      expect(m.value("page_cache_arena_pages"), `${id}'s arena never went past its reservation (the bound + 25%)`).to.be.at.most((BOUND_PAGES * 5) / 4);
      await until(async () => ((await metrics(id)).value("pages_cached") ?? Infinity) <= BOUND_PAGES, 10_000, `${id} back within its bound`);
    }
    const home = await metrics("ds1");
    expect(home.value("dsm_home_pages_reverted_total") ?? 0, "no page was ever taken for lost").to.equal(0);
  });

  it("should show each server's working set in `pages NAME`", async () => {
    const small = await client.create<PageChurn>("PageChurn", "Small");
    await small.at("cs2").add(2, 5);
    const r = await cluster.exec("pages --all Small");
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/working set \(pages used in the last window, \+\): cs1 \d+, cs2 [1-9]/);
    expect(r.stdout).to.match(/write v\d+\+/);
  });
});
