/**
 * `clouds up` on a cluster that is partly down (shell/cluster-repair.ts), with real
 * processes: it restarts exactly the dead servers (same id and state directory, new
 * process), records them in cluster.json and says so; it leaves a fully running cluster
 * alone. With the name server dead it restarts it in place, keeps the servers that run
 * (they register again with it), never starts a second server on any state directory,
 * and `clouds down` then stops them all.
 */
import { expect } from "chai";
import * as path from "node:path";
import { TestCluster, clouds } from "../support/test-cluster.js";
import { REPO_ROOT } from "../support/compiled-examples.js";
import type { ClusterServer } from "../../shell/cluster-file.js";
import { createServer, type Server } from "node:net";
import { isAlive } from "../../servers/host/process-liveness.js";
import { serverProcessesOf } from "../support/server-processes.js";
import { until } from "../support/until.js";

const RECTANGLE = path.join(REPO_ROOT, "objects/examples/rectangle.ts");

function byId(servers: ClusterServer[]): Map<string, ClusterServer> {
  return new Map(servers.map((s) => [s.id, s]));
}

async function expectAllHealthy(cluster: TestCluster): Promise<void> {
  const r = await clouds(["status", "--dir", cluster.dir]);
  expect(r.code, `${r.stdout}${r.stderr}`).to.equal(0);
  for (const s of cluster.info.servers) expect(r.stdout).to.match(new RegExp(`^${s.id}\\s.*\\spid ${s.pid}\\s+up\\b`, "m"));
}

describe("clouds up on a partly dead cluster (integration, real processes)", function () {
  this.timeout(120_000);
  let cluster: TestCluster;

  before(async () => {
    cluster = await clusterWithRectangle();
  });

  after(async () => {
    await cluster?.stop();
  });

  it("should leave a fully running cluster alone", () => expectLeftAlone(cluster));

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

  it("should report the repaired cluster as running on the next up", () => expectLeftAlone(cluster));

  it("should restart every server in place when all were killed", async () => {
    const before = byId(cluster.info.servers);
    await Promise.all(cluster.info.servers.map((s) => cluster.kill(s.id)));
    const r = await cluster.repair();
    expect(r.stdout).to.contain(`cluster repaired in ${cluster.dir}: restarted ns1, ds1, cs1, cs2\n`);
    for (const s of cluster.info.servers) {
      const was = before.get(s.id)!;
      expect(s.pid, s.id).not.to.equal(was.pid);
      expect({ role: s.role, dir: s.dir, log: s.log }, s.id).to.deep.equal({ role: was.role, dir: was.dir, log: was.log });
    }
    await expectAllHealthy(cluster);
    expect((await cluster.exec("R.area()")).stdout).to.equal("30\n");
  });
});

/** A cluster of 2 compute servers and 1 data server with a Rectangle R of size 3 x 4, committed. */
async function clusterWithRectangle(): Promise<TestCluster> {
  const cluster = await TestCluster.start({ compute: 2, data: 1 });
  try {
    expect((await cluster.exec(`load ${RECTANGLE}`)).code).to.equal(0);
    expect((await cluster.exec("new Rectangle R")).code).to.equal(0);
    const size = await cluster.exec("@cs1 R.size(3, 4)");
    expect(size.code, size.stderr).to.equal(0);
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}

/** `clouds up` on a cluster whose servers all run: it says so, restarts nothing, records nothing new. */
async function expectLeftAlone(cluster: TestCluster): Promise<void> {
    const before = cluster.info;
    const r = await cluster.repair();
    expect(r.stdout).to.contain("cluster already running");
    expect(r.stdout).not.to.contain("restarted");
    expect(cluster.info).to.deep.equal(before);
}

/** clouds_name_registrations_total of a server (from its /metrics). */
async function registrations(cluster: TestCluster, id: string): Promise<number> {
  const res = await fetch(`http://${cluster.address(id)}/metrics`, { headers: { authorization: `Bearer ${cluster.token}` } });
  const line = (await res.text()).split("\n").find((l) => l.startsWith("clouds_name_registrations_total{"));
  return Number(line?.split(" ").pop());
}

/** Exactly one process runs a server on each state directory, and it is the recorded one. */
function expectOneProcessPerServer(cluster: TestCluster): void {
  const running = serverProcessesOf(cluster.dir).map((p) => `${p.dir} ${p.pid}`).sort();
  const recorded = cluster.info.servers.map((s) => `${s.dir} ${s.pid}`).sort();
  expect(running).to.deep.equal(recorded);
}

/**
 * A server on `port` that drops every connection: the port is taken. Retried for a moment
 * if the port is busy (any process may hold it briefly as the local end of a connection).
 */
async function squat(port: number): Promise<Server> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const server = createServer((socket) => socket.destroy());
    const error = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
      server.once("error", resolve);
      server.listen(port, "127.0.0.1", () => resolve(null));
    });
    if (error === null) return server;
    if (error.code !== "EADDRINUSE" || Date.now() > deadline) throw error;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("clouds up after kill -9 of the name server (integration, real processes)", function () {
  this.timeout(120_000);
  let cluster: TestCluster;

  before(async () => {
    cluster = await clusterWithRectangle();
  });

  after(async () => {
    await cluster?.stop();
  });

  it("should restart only the name server, in place and on its port, and keep the others running", async () => {
    const before = byId(cluster.info.servers);
    await cluster.kill("ns1");
    const r = await cluster.repair();
    expect(r.code, r.stderr).to.equal(0);
    const ns = cluster.server("ns1");
    const was = before.get("ns1")!;
    expect(ns.pid).not.to.equal(was.pid);
    expect({ address: ns.address, dir: ns.dir, log: ns.log }).to.deep.equal({ address: was.address, dir: was.dir, log: was.log });
    expect(r.stdout).to.contain(`${ns.address}  pid ${ns.pid}  (restarted: pid ${was.pid} was gone)`);
    for (const id of ["ds1", "cs1", "cs2"]) {
      expect(cluster.server(id), id).to.deep.equal(before.get(id));
      expect(r.stdout, id).to.contain(`${before.get(id)!.address}  pid ${before.get(id)!.pid}  (running: kept)`);
    }
    expect(r.stdout).to.contain(`cluster repaired in ${cluster.dir}: restarted ns1; kept ds1, cs1, cs2 running`);
    expectOneProcessPerServer(cluster);
    await expectAllHealthy(cluster);
  });

  it("should have the kept servers register again with the restarted name server", async () => {
    for (const id of ["ds1", "cs1", "cs2"]) await until(async () => (await registrations(cluster, id)) >= 2, 10_000, `${id} registered again`);
    const servers = await cluster.exec("servers");
    for (const s of cluster.info.servers) expect(servers.stdout).to.match(new RegExp(`^${s.id}\\s.*${s.address}\\s+pid ${s.pid}\\s+up\\b`, "m"));
  });

  it("should serve the object state from before the crash through the kept servers", async () => {
    const area = await cluster.exec("@cs2 R.area()");
    expect(area.stdout, area.stderr).to.equal("12\n");
    expect((await cluster.exec("@cs2 R.size(5, 6)")).code).to.equal(0);
    expect((await cluster.exec("@cs1 R.area()")).stdout).to.equal("30\n");
  });

  it("should refuse a second server started by hand on a held state directory, naming it and its holder", async () => {
    const ds1 = cluster.server("ds1");
    const args = ["data-server", "--id", "ds1", "--dir", ds1.dir, "--token-file", path.join(cluster.dir, "token"), "--name-server", cluster.info.nameServer];
    const r = await clouds(args);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain(`StateDirHeldError: state directory ${ds1.dir} is held by pid ${ds1.pid}`);
    expectOneProcessPerServer(cluster);
    await expectAllHealthy(cluster);
  });

  it("should move the name server to a new port if its old one is taken, restarting the others in place", async () => {
    const before = byId(cluster.info.servers);
    await cluster.kill("ns1");
    const squatter = await squat(Number(before.get("ns1")!.address.split(":")[1]));
    try {
      const r = await cluster.repair();
      expect(r.code, r.stderr).to.equal(0);
      const ns = cluster.server("ns1");
      expect(ns.address).not.to.equal(before.get("ns1")!.address);
      expect(cluster.info.nameServer).to.equal(ns.address);
      for (const id of ["ds1", "cs1", "cs2"]) {
        const [was, now] = [before.get(id)!, cluster.server(id)];
        expect(now.pid, id).not.to.equal(was.pid);
        expect(now.address, id).to.equal(was.address);
        expect(r.stdout, id).to.contain(`pid ${now.pid}  (restarted: its name server moved to ${ns.address} (was pid ${was.pid}))`);
      }
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
    expectOneProcessPerServer(cluster);
    await expectAllHealthy(cluster);
    expect((await cluster.exec("R.area()")).stdout).to.equal("30\n");
  });

  it("should stop every server on clouds down, also after the name server died", async () => {
    const servers = cluster.info.servers;
    await cluster.kill("ns1");
    const r = await clouds(["down", "--dir", cluster.dir]);
    expect(r.code, r.stderr).to.equal(0);
    for (const s of servers.filter((x) => x.role !== "name")) expect(r.stdout).to.contain(`  stopped ${s.id} (${s.role} server, pid ${s.pid})`);
    expect(r.stdout).to.contain(`cluster in ${cluster.dir} stopped (3 servers)`);
    expect(serverProcessesOf(cluster.dir)).to.deep.equal([]);
    for (const s of servers) expect(isAlive(s.pid), s.id).to.equal(false);
  });
});
