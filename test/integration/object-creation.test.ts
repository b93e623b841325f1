/**
 * Object creation on a real cluster: the home grants the new object's first pages to the
 * compute server that runs its constructor, so the constructor faults on none of them (counted
 * on that server's GET /metrics); another compute server reading the object then sees what the
 * constructor wrote (its pages recalled from the creator), and so does the creator after a
 * write from that other server.
 */
import { expect } from "chai";
import * as path from "node:path";
import { TestCluster } from "../support/test-cluster.js";
import { REPO_ROOT } from "../support/compiled-examples.js";
import { ServerMetrics } from "../bench/server-metrics.js";
import type { Cluster } from "../../shell/client/index.js";
import { wire, type HeapValues } from "../fixtures/heap-values.js";

const FIXTURE = path.join(REPO_ROOT, "test/fixtures/heap-values.ts");

/** What HeapValues' constructor leaves in the fields `snapshot` returns. */
const CONSTRUCTED = wire({ items: [], cfg: { limits: { max: 1 }, drop: true }, byName: new Map(), tags: new Set(), misc: null });

describe("Object creation (integration, real processes)", function () {
  this.timeout(120_000);
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

  const metric = async (server: string, name: string) => (await ServerMetrics.fetch(cluster.address(server), cluster.token)).value(name) ?? NaN;

  it("should run the constructor without a page fault, on pages its home granted with the creation", async () => {
    await client.createObject("HeapValues", "Warm", [], { at: "cs1" });
    const [fetches, granted] = [await metric("cs1", "dsm_fetches_total"), await metric("cs1", "dsm_pages_granted_at_creation_total")];
    await client.createObject("HeapValues", "Made", [], { at: "cs1" });
    expect((await metric("cs1", "dsm_fetches_total")) - fetches, "pages fetched by the creation").to.equal(0);
    expect((await metric("cs1", "dsm_pages_granted_at_creation_total")) - granted).to.be.greaterThan(0);
  });

  it("should show another compute server what the constructor wrote, and the creator what that one writes", async () => {
    const h = await client.create<HeapValues>("HeapValues", "Seen", [], { at: "cs1" });
    expect(await h.at("cs2").snapshot()).to.deep.equal(CONSTRUCTED);
    await h.at("cs2").mutate();
    expect((await h.at("cs1").snapshot()).cfg).to.deep.equal(wire({ limits: { max: 3 }, added: { list: ["x"] } }));
  });
});
