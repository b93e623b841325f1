/**
 * A workstation's cluster directory, as on another machine: `clouds token` makes a token file
 * (0600); `clouds join HOST:PORT --token-file F` writes a directory with only the name
 * server's address and the token; there `exec` and `status` work (status from the name
 * server's registry), `down` and `up` refuse clearly and keep the file; a wrong token or a bad
 * address is said plainly.
 */
import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { clouds, TestCluster } from "../support/test-cluster.js";

describe("a workstation's directory: clouds token and join (integration, real processes)", function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  let scratch: string;
  let ws: string;

  before(async () => {
    cluster = await TestCluster.start({ compute: 1 });
    scratch = mkdtempSync(path.join(tmpdir(), "clouds-ws-"));
    ws = path.join(scratch, "ws");
  });

  after(async () => {
    await cluster?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  const nameServer = () => (JSON.parse(readFileSync(path.join(cluster.dir, "cluster.json"), "utf8")) as { nameServer: string }).nameServer;

  it("should create a token file with mode 0600 once, and keep it after", async () => {
    const dir = path.join(scratch, "tokens");
    const made = await clouds(["token", "--dir", dir]);
    expect(made.stdout).to.match(/^token created: .*\/tokens\/token \(mode 0600/);
    expect(statSync(path.join(dir, "token")).mode & 0o777).to.equal(0o600);
    const first = readFileSync(path.join(dir, "token"), "utf8");
    expect((await clouds(["token", "--dir", dir])).stdout).to.match(/^token kept: /);
    expect(readFileSync(path.join(dir, "token"), "utf8")).to.equal(first);
  });

  it("should join a cluster from a token file, and work there: exec and status", async () => {
    const joined = await clouds(["join", nameServer(), "--token-file", path.join(cluster.dir, "token"), "--dir", ws]);
    expect(joined.code, joined.stderr).to.equal(0);
    expect(joined.stdout).to.match(/joined: 3 server\(s\) up: /);
    expect(JSON.parse(readFileSync(path.join(ws, "cluster.json"), "utf8"))).to.deep.equal({ version: 1, nameServer: nameServer() });
    expect(statSync(path.join(ws, "token")).mode & 0o777).to.equal(0o600);
    const servers = await clouds(["exec", "--dir", ws, "servers"]);
    expect(servers.stdout, servers.stderr).to.match(/^cs1\s+compute\s.*\sup\b/m);
    const status = await clouds(["status", "--dir", ws]);
    expect(status.code, status.stdout + status.stderr).to.equal(0);
    for (const id of ["ns1", "ds1", "cs1"]) expect(status.stdout).to.match(new RegExp(`^${id}\\s.*\\spid \\d+\\s+up\\b`, "m"));
  });

  it("should refuse down and up in a workstation's directory, saying why, and keep its files", async () => {
    const down = await clouds(["down", "--dir", ws]);
    expect(down.code).to.equal(1);
    expect(down.stderr).to.match(/NotLauncherDirError: .* is a workstation's directory \(it only names the name server at .*\)\. It started no server, so 'clouds down' here stops none/);
    const up = await clouds(["up", "--detach", "--dir", ws]);
    expect(up.code).to.equal(1);
    expect(up.stderr).to.match(/'clouds up' here would start a second cluster over it/);
    expect(JSON.parse(readFileSync(path.join(ws, "cluster.json"), "utf8"))).to.have.property("nameServer");
    expect((await clouds(["exec", "--dir", cluster.dir, "servers"])).stdout, "the cluster still runs").to.match(/^cs1\s.*\sup\b/m);
  });

  it("should say plainly when the token is wrong or the address malformed", async () => {
    const bad = path.join(scratch, "bad-token");
    writeFileSync(bad, "not-the-token\n");
    const wrong = await clouds(["join", nameServer(), "--token-file", bad, "--dir", path.join(scratch, "ws2")]);
    expect(wrong.code).to.equal(1);
    expect(wrong.stderr).to.match(/the cluster token was missing or wrong/);
    const malformed = await clouds(["join", "nohost", "--token-file", bad, "--dir", path.join(scratch, "ws3")]);
    expect(malformed.stderr).to.match(/join needs the name server's HOST:PORT.*got 'nohost'/);
    const missing = await clouds(["join", nameServer(), "--dir", path.join(scratch, "ws3")]);
    expect(missing.stderr).to.match(/join needs --token-file F/);
  });
});
