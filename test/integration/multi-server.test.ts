/**
 * A larger embedded cluster (2 data servers, 3 compute servers): objects are homed on both
 * data servers while their classes live on one, and every compute server sees what any
 * other wrote, for objects of either home.
 */
import { expect } from "chai";
import * as path from "node:path";
import { TestCluster, clouds } from "../support/test-cluster.js";
import { REPO_ROOT } from "../support/compiled-examples.js";
import type { Rectangle } from "../../objects/examples/rectangle.js";
import { homeOf } from "../../ra-kernel/ids.js";

describe("Several data and compute servers (integration, real processes)", function () {
  this.timeout(120_000);
  let cluster: TestCluster;

  before(async () => {
    cluster = await TestCluster.start({ data: 2, compute: 3 });
  });

  after(async () => {
    await cluster?.stop();
  });

  it("should list all six servers in clouds status", async () => {
    const r = await clouds(["status", "--dir", cluster.dir]);
    expect(r.code, r.stderr).to.equal(0);
    for (const id of ["ns1", "ds1", "ds2", "cs1", "cs2", "cs3"]) expect(r.stdout).to.match(new RegExp(`^${id}\\s.*\\sup\\b`, "m"));
  });

  it("should home new objects on both data servers and keep them coherent on every compute server", async () => {
    const client = await cluster.connect();
    await client.load(path.join(REPO_ROOT, "objects/examples/rectangle.ts"));
    const homes = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const rect = await client.create<Rectangle>("Rectangle", `R${i}`);
      homes.add(homeOf(rect.sysname));
      for (const [writer, reader, x] of [["cs1", "cs2", 2], ["cs2", "cs3", 3], ["cs3", "cs1", 4]] as const) {
        await rect.at(writer).size(x, i + 1);
        expect(await rect.at(reader).area()).to.equal(x * (i + 1));
      }
    }
    expect([...homes].sort()).to.deep.equal(["ds1", "ds2"]);
  });
});
