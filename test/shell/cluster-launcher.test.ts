/**
 * `clouds down` and `clouds up` work from what is on disk (shell/cluster-launcher.ts), with
 * real processes: `down` stops also a server that cluster.json does not name (found by its
 * state directory's lock) and says which it stopped; `up` refuses to start a second set of
 * servers where servers still run without a cluster file; one `up`/`down` at a time.
 */
import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import * as path from "node:path";
import { PidLockFile } from "../../servers/host/pid-lock-file.js";
import { isAlive } from "../../servers/host/process-liveness.js";
import { StateDirLock } from "../../servers/host/state-dir-lock.js";
import { CLOUDS_BIN, TestCluster, clouds } from "../support/test-cluster.js";
import { serverProcessesOf } from "../support/server-processes.js";
import { until } from "../support/until.js";

describe("clouds up and down from what is on disk (integration, real processes)", function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  let byHand: ChildProcess | undefined;

  before(async () => {
    cluster = await TestCluster.start({ compute: 1, data: 1 });
  });

  after(async () => {
    if (byHand?.pid && isAlive(byHand.pid)) byHand.kill("SIGKILL");
    await cluster?.stop();
  });

  it("should refuse to work while another clouds up or down holds the directory", async () => {
    const got = PidLockFile.tryAcquire(path.join(cluster.dir, "launcher.lock"), { command: "up" });
    try {
      const r = await clouds(["down", "--dir", cluster.dir]);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.contain(`another 'clouds up' (pid ${process.pid}) is working on ${cluster.dir}`);
    } finally {
      got.lock!.release();
    }
    expect(serverProcessesOf(cluster.dir)).to.have.length(3);
  });

  it("should refuse up where servers still run but cluster.json is gone", async () => {
    const dir = path.join(cluster.dir, "cs9");
    const args = ["compute-server", "--id", "cs9", "--dir", dir, "--token-file", path.join(cluster.dir, "token"), "--name-server", cluster.info.nameServer];
    byHand = spawn(process.execPath, [CLOUDS_BIN, ...args], { stdio: "ignore" });
    await until(() => StateDirLock.holder(dir)?.address !== undefined, 20_000, "cs9 serving");
    const recorded = cluster.info;
    rmSync(path.join(cluster.dir, "cluster.json"));
    const r = await clouds(["up", "--detach", "--dir", cluster.dir]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain(`servers of ${cluster.dir} still run but ${path.join(cluster.dir, "cluster.json")} is gone: `);
    for (const s of [...recorded.servers, { id: "cs9", pid: byHand.pid }]) expect(r.stderr).to.contain(`${s.id} (pid ${s.pid})`);
    expect(r.stderr).to.contain(`stop them with 'clouds down --dir ${cluster.dir}'`);
    expect(serverProcessesOf(cluster.dir)).to.have.length(4);
  });

  it("should stop on down every server of the directory, found by their locks, and say which", async () => {
    const servers = [...serverProcessesOf(cluster.dir)];
    expect(servers).to.have.length(4);
    const r = await clouds(["down", "--dir", cluster.dir]);
    expect(r.code, r.stderr).to.equal(0);
    for (const s of servers) expect(r.stdout).to.match(new RegExp(`^  stopped ${s.id} \\(\\w+ server, pid ${s.pid}; not in cluster.json, found by its lock file in ${s.dir}\\)$`, "m"));
    expect(r.stdout).to.contain(`cluster in ${cluster.dir} stopped (4 servers)`);
    expect(serverProcessesOf(cluster.dir)).to.deep.equal([]);
    for (const s of servers) expect(StateDirLock.holder(s.dir), s.dir).to.equal(null);
  });

  it("should say so when nothing runs", async () => {
    const r = await clouds(["down", "--dir", cluster.dir]);
    expect(r.stdout).to.contain(`no cluster running in ${cluster.dir}`);
  });
});
