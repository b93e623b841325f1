/**
 * The Rectangle tour of DESIGN.md section 1 on a real multi-process cluster, through the
 * `clouds` command and the typed client, including a kill -9 of every server.
 */
import { expect } from "chai";
import * as path from "node:path";
import { TestCluster } from "../support/test-cluster.js";
import { REPO_ROOT } from "../support/compiled-examples.js";
import type { Rectangle } from "../../objects/examples/rectangle.js";

const RECTANGLE = path.join(REPO_ROOT, "objects/examples/rectangle.ts");

describe("Rectangle tour (integration, real processes)", function () {
  this.timeout(120_000);
  let cluster: TestCluster;

  before(async () => {
    cluster = await TestCluster.start();
  });

  after(async () => {
    await cluster?.stop();
  });

  it("should register the class, create RectA and compute its area through clouds exec", async () => {
    const load = await cluster.exec(`load ${RECTANGLE}`);
    expect(load.stdout.trim(), load.stderr).to.equal("class Rectangle registered (2 entry points)");
    const made = await cluster.exec("new Rectangle RectA");
    expect(made.stdout, made.stderr).to.match(/^\/RectA -> sys:ds1:[0-9A-Z]{26} {2}\(Rectangle\)\n$/);
    const size = await cluster.exec("RectA.size(5, 10)");
    expect(size.code, size.stderr).to.equal(0);
    expect(size.stdout).to.equal("");
    const area = await cluster.exec("RectA.area()");
    expect(area.stdout).to.equal("50\n");
  });

  it("should report the same class as unchanged when it is loaded again", async () => {
    const again = await cluster.exec(`load ${RECTANGLE}`);
    expect(again.stdout.trim()).to.equal("class Rectangle unchanged (version 1, 2 entry points)");
  });

  it("should run the same lines from a non-terminal stdin in order", async () => {
    const r = await cluster.shell("Piped.area(\nnew Rectangle Piped\n\nPiped.size(2, 21)\nPiped.area()\nexit\nPiped.area()\n");
    expect(r.stdout).to.equal("/Piped -> " + r.stdout.split(" -> ")[1].split("\n")[0] + "\n42\n");
    expect(r.stderr).to.equal("error: LineSyntaxError: expected ')' to close the argument list at column 12\n");
    expect(r.code).to.equal(1);
  });

  it("should see at one compute server what an invocation at the other wrote", async () => {
    await cluster.exec("new Rectangle Shared");
    expect((await cluster.exec("@cs1 Shared.area()")).stdout).to.equal("0\n");
    await cluster.exec("@cs2 Shared.size(3, 4)");
    expect((await cluster.exec("@cs1 Shared.area()")).stdout).to.equal("12\n");
    await cluster.exec("@cs1 Shared.size(6, 7)");
    expect((await cluster.exec("@cs2 Shared.area()")).stdout).to.equal("42\n");
  });

  it("should invoke through the typed client with type-checked entries", async () => {
    const client = await cluster.connect();
    const rect = await client.bind<Rectangle>("RectA");
    expect(await rect.area()).to.equal(50);
    await rect.at("cs2").size(8, 8);
    expect(await rect.at("cs1").area()).to.equal(64);
    await rect.size(5, 10);
    const made = await client.create<Rectangle>("Rectangle", "/users/ana/RectB");
    await made.size(1.5, 4);
    expect(await (await client.bind<Rectangle>("/users/ana/RectB")).area()).to.equal(6);
  });

  it("should keep every object after kill -9 of all servers and a new clouds up", async () => {
    cluster.killAll();
    await cluster.up();
    expect((await cluster.exec("RectA.area()")).stdout).to.equal("50\n");
    expect((await cluster.exec("/users/ana/RectB.area()")).stdout).to.equal("6\n");
    expect((await cluster.exec("Shared.area()")).stdout).to.equal("42\n");
  });
});
