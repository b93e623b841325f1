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

  it("should show with 'pages' who owns and who holds each page of an object", async () => {
    await cluster.exec("new Rectangle Paged");
    await cluster.exec("@cs1 Paged.size(5, 10)");
    const dataRow = async (): Promise<string[]> => {
      const r = await cluster.exec("pages --all Paged");
      expect(r.code, r.stderr).to.equal(0);
      const lines = r.stdout.trimEnd().split("\n");
      expect(lines[1]).to.match(/^home ds1 \(epoch \d+\): \d+ pages served$/);
      expect(lines[2].split(/\s+/)).to.deep.equal(["segment", "page", "version", "owner", "copyset", "stored", "cs1", "cs2"]);
      // `+` marks a page in the working set: whether it still is depends on time.
      return lines.find((l) => l.startsWith("data "))!.split(/\s{2,}/).map((cell) => cell.replace(/\+$/, ""));
    };
    // cs1 wrote the fields and still owns the page: only it holds a copy, writable.
    const [, page, v1, owner1, copyset1, , cs1a, cs2a] = await dataRow();
    expect([page, owner1, copyset1, cs1a, cs2a]).to.deep.equal(["0", "cs1", "cs1", `write v${v1}`, "-"]);
    // A read at cs2 recalls it: both hold the same version read-only, nobody owns it.
    expect((await cluster.exec("@cs2 Paged.area()")).stdout).to.equal("50\n");
    const [, , v2, owner2, copyset2, , cs1b, cs2b] = await dataRow();
    expect([v2, owner2, copyset2, cs1b, cs2b]).to.deep.equal([v1, "-", "cs1,cs2", `read v${v1}`, `read v${v1}`]);
    // A write at cs2 invalidates cs1's copy and makes cs2 the owner of a new version.
    await cluster.exec("@cs2 Paged.size(6, 10)");
    const [, , v3, owner3, copyset3, , cs1c, cs2c] = await dataRow();
    expect(Number(v3)).to.be.greaterThan(Number(v1));
    expect([owner3, copyset3, cs1c, cs2c]).to.deep.equal(["cs2", "cs2", "-", `write v${v3}`]);
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
