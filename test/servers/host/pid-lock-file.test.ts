/**
 * PidLockFile (servers/host/pid-lock-file.ts): exclusive creation, the live holder as a
 * value, stale locks (dead, zombie, recycled pid) taken over, release of one's own file
 * only, release at process exit, and one winner among concurrent takers of a stale lock.
 */
import { expect } from "chai";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { PidLockFile } from "../../../servers/host/pid-lock-file.js";
import { deadPid, runInChild, stopAll, zombie } from "../../support/child-process-tools.js";

function staleLockOf(pid: number, startTime: string | null = null): string {
  return JSON.stringify({ pid, startTime, since: "2000-01-01T00:00:00.000Z", id: "old" });
}

describe("PidLockFile", function () {
  this.timeout(20_000);
  let dir: string;
  let file: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "clouds-lock-"));
    file = path.join(dir, "x.lock");
  });

  afterEach(async () => {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it("should create the file and hold it, with this process's pid and facts", () => {
    const got = PidLockFile.tryAcquire(file, { id: "ds1" });
    expect(got.lock).to.not.equal(undefined);
    expect(JSON.parse(readFileSync(file, "utf8"))).to.include({ pid: process.pid, id: "ds1" });
    expect(PidLockFile.holder(file)).to.include({ pid: process.pid, id: "ds1" });
    got.lock!.release();
    expect(existsSync(file)).to.equal(false);
    expect(PidLockFile.holder(file)).to.equal(null);
  });

  it("should name the live holder instead of taking the lock", () => {
    const first = PidLockFile.tryAcquire(file, { id: "a" });
    const second = PidLockFile.tryAcquire(file, { id: "b" });
    expect(second.lock).to.equal(undefined);
    expect(second.holder).to.include({ pid: process.pid, id: "a" });
    first.lock!.release();
  });

  it("should name a holder in another process", async () => {
    const script = `require("./servers/host/pid-lock-file.js").PidLockFile.tryAcquire(${JSON.stringify(file)}, { id: "child" }); console.log("held"); setInterval(() => {}, 1000);`;
    const { child, line } = await runInChild(script);
    expect(line).to.equal("held");
    expect(PidLockFile.tryAcquire(file, { id: "me" }).holder).to.include({ pid: child.pid, id: "child" });
  });

  const stale: Array<[string, () => Promise<string>]> = [
    ["has exited", async () => staleLockOf(await deadPid())],
    ["is a zombie", async () => staleLockOf(await zombie())],
    ["is a recycled pid (another start time)", async () => staleLockOf(process.pid, "1")],
    ["is unreadable", async () => "{not json"],
  ];
  for (const [what, content] of stale) {
    it(`should take over a lock whose holder ${what}`, async () => {
      writeFileSync(file, await content());
      expect(PidLockFile.holder(file)).to.equal(null);
      const got = PidLockFile.tryAcquire(file, { id: "new" });
      expect(got.lock, JSON.stringify(got.holder)).to.not.equal(undefined);
      expect(PidLockFile.holder(file)).to.include({ pid: process.pid, id: "new" });
      got.lock!.release();
    });
  }

  it("should keep its file exclusive while adding facts", () => {
    const got = PidLockFile.tryAcquire<{ id: string; address?: string }>(file, { id: "ds1" });
    got.lock!.update({ address: "127.0.0.1:7101" });
    expect(PidLockFile.holder(file)).to.include({ pid: process.pid, id: "ds1", address: "127.0.0.1:7101" });
    expect(PidLockFile.tryAcquire(file, { id: "other" }).holder).to.include({ address: "127.0.0.1:7101" });
    got.lock!.release();
  });

  it("should not remove on release a file that is no longer its own", () => {
    const got = PidLockFile.tryAcquire(file, { id: "a" });
    const theirs = staleLockOf(process.pid, "someone-else");
    writeFileSync(file, theirs);
    got.lock!.release();
    expect(readFileSync(file, "utf8")).to.equal(theirs);
  });

  it("should release its lock when its process exits without releasing", async () => {
    const script = `require("./servers/host/pid-lock-file.js").PidLockFile.tryAcquire(${JSON.stringify(file)}, {}); console.log(require("node:fs").existsSync(${JSON.stringify(file)})); process.exit(0);`;
    const { child, line } = await runInChild(script);
    expect(line).to.equal("true");
    if (child.exitCode === null) await new Promise((r) => child.once("exit", r));
    expect(existsSync(file)).to.equal(false);
  });

  it("should let exactly one of several concurrent takers win a stale lock", async () => {
    writeFileSync(file, staleLockOf(await deadPid()));
    const script = `const got = require("./servers/host/pid-lock-file.js").PidLockFile.tryAcquire(${JSON.stringify(file)}, {}); console.log(got.lock ? "won" : "held by " + got.holder.pid); setInterval(() => {}, 1000);`;
    const results = await Promise.all([1, 2, 3, 4].map(() => runInChild(script)));
    const winners = results.filter((r) => r.line === "won");
    expect(winners.length, results.map((r) => r.line).join(", ")).to.equal(1);
    expect(PidLockFile.holder(file)).to.include({ pid: winners[0].child.pid });
    for (const r of results.filter((x) => x !== winners[0])) expect(r.line).to.equal(`held by ${winners[0].child.pid}`);
  });
});
