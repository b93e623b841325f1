/**
 * @volatile fields on a real cluster: shared by the threads in the object while any thread
 * is in it (on that compute server), back to their initial values once the object is idle,
 * never persistent; persistent fields next to them behave as ever, also across a restart.
 */
import { expect } from "chai";
import * as path from "node:path";
import { TestCluster } from "../support/test-cluster.js";
import { REPO_ROOT } from "../support/compiled-examples.js";
import { connect, type Cluster } from "../../shell/client/cluster.js";
import type { Visits } from "../fixtures/visits.js";

const FIXTURE = path.join(REPO_ROOT, "test/fixtures/visits.ts");

describe("Volatile fields (integration, real processes)", function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  let client: Cluster;
  const printed: ((text: string) => void)[] = [];

  before(async () => {
    cluster = await TestCluster.start();
    client = await connect({ dir: cluster.dir, onPrint: (_thread, text) => printed.shift()?.(text) });
    await client.load(FIXTURE);
  });

  after(async () => {
    await client?.close();
    await cluster?.stop();
  });

  it("should give each invocation of an idle object the initial values again", async () => {
    const v = await client.create<Visits>("Visits", "V1", [10]);
    expect(await v.at("cs1").hit("ana")).to.deep.equal({ hits: 1, total: 11, seen: ["ana"], mine: 1 });
    expect(await v.at("cs1").hit("bo")).to.deep.equal({ hits: 1, total: 12, seen: ["bo"], mine: 1 });
    expect(await v.at("cs2").hit("ana")).to.deep.equal({ hits: 1, total: 13, seen: ["ana"], mine: 1 });
    expect(await v.fields()).to.deep.equal(["total", "hits", "seen", "byWho"]);
  });

  it("should share volatile fields among the threads in the object while one is in it", async () => {
    const v = await client.create<Visits>("Visits", "V2");
    const inside = new Promise<string>((resolve) => printed.push(resolve));
    const held = v.at("cs1").hold();
    expect(await inside).to.equal("holding");
    expect((await v.at("cs1").hit("a")).hits).to.equal(1);
    expect(await v.at("cs1").hit("b")).to.deep.include({ hits: 2, seen: ["a", "b"] });
    expect(await v.at("cs1").hit("a")).to.deep.include({ hits: 3, seen: ["a", "b", "a"], mine: 2 });
    // Another compute server has a volatile heap of its own.
    expect((await v.at("cs2").hit("c")).hits).to.equal(1);
    await v.at("cs2").go();
    expect(await held).to.equal(3);
    // The last thread has left: the next one starts from the initial values.
    expect(await v.at("cs1").hit("d")).to.deep.equal({ hits: 1, total: 5, seen: ["d"], mine: 1 });
  });

  it("should keep persistent fields and nothing volatile across a restart of every server", async () => {
    const v = await client.bind<Visits>("V1");
    await v.hit("x");
    await client.close();
    cluster.killAll();
    await cluster.up();
    client = await connect({ dir: cluster.dir, onPrint: (_thread, text) => printed.shift()?.(text) });
    const again = await client.bind<Visits>("V1");
    expect(await again.at("cs2").hit("y")).to.deep.equal({ hits: 1, total: 15, seen: ["y"], mine: 1 });
  });
});
