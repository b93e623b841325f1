/**
 * Tests of the cluster file and token (shell/cluster-file.ts) in temporary directories:
 * the token is created once with mode 0600 and kept; cluster.json round-trips; a directory
 * without a cluster is a ClusterNotRunningError that names it.
 */
import { expect } from "chai";
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { ServerId } from "../../ra-kernel/ids.js";
import { clusterFilePath, ensureToken, readCluster, readToken, writeCluster, type ClusterInfo } from "../../shell/cluster-file.js";
import { ClusterNotRunningError } from "../../shell/client/errors.js";

function expectThrows<E extends Error>(fn: () => unknown, cls: new (...args: never[]) => E): E {
  try {
    fn();
  } catch (err) {
    expect(err, String(err)).to.be.instanceOf(cls);
    return err as E;
  }
  return expect.fail(`expected ${cls.name}`);
}

describe("cluster file", () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "clouds-cluster-file-"));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  describe("ensureToken", () => {
    it("should create a random token readable by its owner only", () => {
      const token = ensureToken(dir);
      expect(token).to.match(/^[0-9a-f]{48}$/);
      const file = path.join(dir, "token");
      expect(statSync(file).mode & 0o777).to.equal(0o600);
      expect(readToken(dir)).to.equal(token);
    });

    it("should keep the token it created", () => {
      const first = ensureToken(dir);
      expect(ensureToken(dir)).to.equal(first);
      expect(readToken(dir)).to.equal(first);
    });

    it("should give different clusters different tokens", () => {
      const other = path.join(dir, "other");
      expect(ensureToken(path.join(dir, "one"))).not.to.equal(ensureToken(other));
    });

    it("should create a missing directory", () => {
      const nested = path.join(dir, "a", "b");
      ensureToken(nested);
      expect(existsSync(path.join(nested, "token"))).to.equal(true);
    });

    it("should keep a token someone wrote, and make it 0600", () => {
      const file = path.join(dir, "token");
      writeFileSync(file, "s3cret\n", { mode: 0o644 });
      chmodSync(file, 0o644);
      expect(ensureToken(dir)).to.equal("s3cret");
      expect(statSync(file).mode & 0o777).to.equal(0o600);
    });
  });

  describe("readToken", () => {
    it("should refuse a directory without a token, naming it", () => {
      const err = expectThrows(() => readToken(dir), ClusterNotRunningError);
      expect(err.dir).to.equal(dir);
      expect(err.message).to.contain(dir);
    });
  });

  describe("writeCluster / readCluster", () => {
    const info: ClusterInfo = {
      version: 1,
      nameServer: "127.0.0.1:7000",
      startedAt: "2024-05-01T00:00:00.000Z",
      servers: [
        { id: "ns1" as ServerId, role: "name", address: "127.0.0.1:7000", pid: 101, dir: "/tmp/c/ns1", log: "/tmp/c/ns1.log" },
        { id: "cs1" as ServerId, role: "compute", address: "127.0.0.1:7002", pid: 103, dir: "/tmp/c/cs1", log: "/tmp/c/cs1.log" },
      ],
    };

    it("should read back what it wrote", () => {
      writeCluster(dir, info);
      expect(readCluster(dir)).to.deep.equal(info);
      expect(clusterFilePath(dir)).to.equal(path.join(dir, "cluster.json"));
    });

    it("should replace the file whole and leave no temporary file", () => {
      writeCluster(dir, info);
      writeCluster(dir, { ...info, servers: [] });
      expect(readCluster(dir).servers).to.deep.equal([]);
      expect(readdirSync(dir)).to.deep.equal(["cluster.json"]);
    });

    it("should refuse an empty directory with ClusterNotRunningError naming it", () => {
      const err = expectThrows(() => readCluster(dir), ClusterNotRunningError);
      expect(err.dir).to.equal(dir);
      expect(err.message).to.contain(`no cluster in ${dir}`);
      expect(err.message).to.contain("clouds up --detach");
    });

    it("should refuse a cluster file it cannot read, naming the file", () => {
      writeFileSync(clusterFilePath(dir), "{ not json");
      const err = expectThrows(() => readCluster(dir), ClusterNotRunningError);
      expect(err.dir).to.equal(dir);
      expect(err.message).to.contain(clusterFilePath(dir)).and.to.contain("unreadable");
    });
  });
});
