/**
 * The Directory example (objects/examples/directory.ts) on a real cluster: references to
 * two Rectangles kept in a Map field come back from `lookup` as references the client can
 * invoke, and the directory can invoke them itself.
 */
import { expect } from "chai";
import * as path from "node:path";
import { TestCluster } from "../support/test-cluster.js";
import { REPO_ROOT } from "../support/compiled-examples.js";
import type { Cluster } from "../../shell/client/cluster.js";
import type { Directory } from "../../objects/examples/directory.js";
import type { Rectangle } from "../../objects/examples/rectangle.js";
import type { Remote } from "../../shell/client/remote.js";

const examples = (f: string) => path.join(REPO_ROOT, "objects/examples", f);

describe("Directory example (integration, real processes)", function () {
  this.timeout(60_000);
  let cluster: TestCluster;
  let client: Cluster;

  before(async () => {
    cluster = await TestCluster.start();
    client = await cluster.connect();
    await client.load(examples("rectangle.ts"));
    await client.load(examples("directory.ts"));
  });

  after(async () => {
    await client?.close();
    await cluster?.stop();
  });

  it("should store two Rectangles and hand back invocable references", async () => {
    const [r1, r2] = [await client.create<Rectangle>("Rectangle", "R1"), await client.create<Rectangle>("Rectangle", "R2")];
    await r1.size(2, 3);
    await r2.size(4, 5);
    const dir = await client.create<Directory>("Directory", "Shapes");
    expect(await dir.at("cs1").add("one", r1 as never)).to.equal(1);
    expect(await dir.at("cs2").add("two", r2 as never)).to.equal(2);
    expect(await dir.at("cs1").list()).to.deep.equal(["one", "two"]);
    const found = (await dir.at("cs2").lookup("two")) as unknown as Remote<Rectangle>;
    expect(found.sysname).to.equal(r2.sysname);
    expect(await found.area()).to.equal(20);
    await found.at("cs1").size(10, 10);
    expect(await r2.area()).to.equal(100);
    expect(await dir.at("cs1").call("one", "area")).to.equal(6);
    expect(await dir.lookup("none")).to.equal(undefined);
  });

  it("should work from the shell with object names as arguments", async () => {
    await cluster.exec("new Rectangle R3");
    await cluster.exec("R3.size(1, 7)");
    await cluster.exec("new Directory D");
    expect((await cluster.exec("D.add(\"r3\", R3)")).stdout).to.equal("1\n");
    expect((await cluster.exec("@cs2 D.call(\"r3\", \"area\")")).stdout).to.equal("7\n");
    expect((await cluster.exec("D.lookup(\"r3\")")).stdout).to.match(/^-> sys:/);
  });
});
