/**
 * The persistent heap on a real cluster: every value type and in-place mutation persists
 * across a kill -9 of every server, is seen from the other compute server, unsupported
 * values are refused without changing the object, and touching one element of a 50 MiB
 * object faults in only a few pages.
 */
import { expect } from "chai";
import * as path from "node:path";
import { TestCluster } from "../support/test-cluster.js";
import { REPO_ROOT } from "../support/compiled-examples.js";
import { ServerMetrics } from "../bench/server-metrics.js";
import type { Cluster } from "../../shell/client/index.js";
import { wire, type HeapValues } from "../fixtures/heap-values.js";

/** Elements appended per invocation (each invocation's dirty pages are one commit). */
const STEP = 550_000;
const FIXTURE = path.join(REPO_ROOT, "test/fixtures/heap-values.ts");

const EXPECTED = wire({
  items: [1, "two", [3, { four: 4 }], { nested: new Map([["k", [5]]]) }],
  cfg: { limits: { max: 3 }, added: { list: ["x"] } },
  byName: new Map([["ana", { age: 31 }]]),
  tags: new Set(["t1", 2]),
  misc: { big: 2n ** 70n, when: new Date(1_700_000_000_000), bytes: new Uint8Array([1, 2, 3]), none: undefined, nil: null, yes: true },
});

describe("Persistent heap values (integration, real processes)", function () {
  this.timeout(180_000);
  let cluster: TestCluster;
  let client: Cluster;

  before(async () => {
    cluster = await TestCluster.start();
    client = await cluster.connect();
    await client.load(FIXTURE);
  });

  after(async () => {
    await client?.close().catch(() => undefined);
    await cluster?.stop();
  });

  it("should persist every value type and nested mutation, seen from the other compute server", async () => {
    const h = await client.create<HeapValues>("HeapValues", "HV");
    await h.at("cs1").mutate();
    expect(await h.at("cs2").snapshot()).to.deep.equal(EXPECTED);
  });

  it("should refuse an unsupported value naming the field path and the type, leaving the object unchanged", async () => {
    const h = await client.bind<HeapValues>("HV");
    expect(await h.at("cs2").assignBad()).to.match(/^TypeError: field 'cfg\.limits\.fn': cannot store a value of type function/);
    expect((await h.at("cs1").snapshot()).cfg).to.deep.equal(EXPECTED.cfg);
  });

  it("should keep every value after kill -9 of all servers and a new clouds up", async () => {
    await client.close();
    cluster.killAll();
    await cluster.up();
    client = await cluster.connect();
    const h = await client.bind<HeapValues>("HV");
    expect(await h.at("cs1").snapshot()).to.deep.equal(EXPECTED);
  });

  it("should fault in only a few pages to touch one element of a 50 MiB object", async () => {
    const h = await client.create<HeapValues>("HeapValues", "Big");
    for (let n = 0; n < 3_300_000; n += STEP) await h.at("cs1").fill(STEP); // 16-byte cells: 52.8 MB
    expect(await h.at("cs2").touch(3_299_999)).to.equal(3_299_999);
    await h.at("cs1").poke(2_000_000, 7);
    const address = cluster.address("cs2");
    const before = await ServerMetrics.fetch(address, cluster.token);
    expect(await h.at("cs2").touch(2_000_000)).to.equal(7);
    const after = await ServerMetrics.fetch(address, cluster.token);
    const fetched = (after.value("dsm_fetches_total") ?? NaN) - (before.value("dsm_fetches_total") ?? NaN);
    expect(fetched, "pages fetched by cs2").to.be.within(1, 8);
  });
});
