/**
 * `clouds up` on a cluster that is partly down (shell/cluster-launcher.ts), with real
 * processes: it restarts exactly the dead servers (same id and state directory, new
 * process), records them in cluster.json and says so; it leaves a fully running cluster
 * alone; with the name server dead it starts a whole cluster, as on a fresh directory.
 */
import { expect } from "chai";
import * as path from "node:path";
import { TestCluster, clouds } from "../support/test-cluster.js";
import { REPO_ROOT } from "../support/compiled-examples.js";
import type { ClusterServer } from "../../shell/cluster-file.js";

const RECTANGLE = path.join(REPO_ROOT, "objects/examples/rectangle.ts");

function byId(servers: ClusterServer[]): Map<string, ClusterServer> {
  return new Map(servers.map((s) => [s.id, s]));
}

async function expectAllHealthy(cluster: TestCluster): Promise<void> {
  const r = await clouds(["status", "--dir", cluster.dir]);
  expect(r.code, `${r.stdout}${r.stderr}`).to.equal(0);
  for (const s of cluster.info.servers) expect(r.stdout).to.match(new RegExp(`^${s.id}\\s.*\\s${s.pid}\\s+ok\\s`, "m"));
}

describe("clouds up on a partly dead cluster (integration, real processes)", function () {
  this.timeout(120_000);
  let cluster: TestCluster;

  before(async () => {
    cluster = await TestCluster.start({ compute: 2, data: 1 });
    expect((await cluster.exec(`load ${RECTANGLE}`)).code).to.equal(0);
    expect((await cluster.exec("new Rectangle R")).code).to.equal(0);
    const size = await cluster.exec("@cs1 R.size(3, 4)");
    expect(size.code, size.stderr).to.equal(0);
  });

  after(async () => {
    await cluster?.stop();
  });

  it("should leave a fully running cluster alone", async () => {
    const before = cluster.info;
    const r = await cluster.repair();
    expect(r.stdout).to.contain("cluster already running");
    expect(r.stdout).not.to.contain("restarted");
    expect(cluster.info).to.deep.equal(before);
  });

  it("should restart exactly the dead servers, with the same id and directory, and record them", async () => {
    const before = byId(cluster.info.servers);
    await cluster.kill("cs2");
    await cluster.kill("ds1");
    const r = await cluster.repair();
    const restartedLines = r.stdout.split("\n").filter((l) => l.includes("(restarted"));
    expect(restartedLines.map((l) => l.trim().split(/\s+/)[0]).sort(), r.stdout).to.deep.equal(["cs2", "ds1"]);
    const after = byId(cluster.info.servers);
    expect([...after.keys()].sort()).to.deep.equal([...before.keys()].sort());
    for (const id of ["ns1", "cs1"]) expect(after.get(id), id).to.deep.equal(before.get(id));
    for (const id of ["cs2", "ds1"]) {
      const [was, now] = [before.get(id)!, after.get(id)!];
      expect(now.pid, id).not.to.equal(was.pid);
      expect({ role: now.role, dir: now.dir, log: now.log }, id).to.deep.equal({ role: was.role, dir: was.dir, log: was.log });
      expect(r.stdout, id).to.contain(`${now.address}  pid ${now.pid}  (restarted: pid ${was.pid} was gone)`);
    }
    await expectAllHealthy(cluster);
  });

  it("should serve the objects committed before the crash through the restarted servers", async () => {
    const area = await cluster.exec("@cs2 R.area()");
    expect(area.stdout, area.stderr).to.equal("12\n");
    expect((await cluster.exec("@cs2 R.size(5, 6)")).code).to.equal(0);
    expect((await cluster.exec("@cs1 R.area()")).stdout).to.equal("30\n");
  });

  it("should report the repaired cluster as running on the next up", async () => {
    const before = cluster.info;
    const r = await cluster.repair();
    expect(r.stdout).to.contain("cluster already running");
    expect(r.stdout).not.to.contain("restarted");
    expect(cluster.info).to.deep.equal(before);
  });

  it("should start a whole cluster when the name server is dead", async () => {
    const before = byId(cluster.info.servers);
    await Promise.all(cluster.info.servers.map((s) => cluster.kill(s.id)));
    const r = await cluster.repair();
    expect(r.stdout).to.contain("cluster up: 4 servers");
    for (const s of cluster.info.servers) expect(s.pid, s.id).not.to.equal(before.get(s.id)!.pid);
    await expectAllHealthy(cluster);
    expect((await cluster.exec("R.area()")).stdout).to.equal("30\n");
  });
});
