/**
 * StateDirLock (servers/host/state-dir-lock.ts): a state directory held by a live process
 * is refused with an error that names the directory and the holder's pid; after the holder
 * is killed -9 the directory is taken over; the lock file tells where the server serves.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { StateDirHeldError } from "../../../servers/host/errors.js";
import { StateDirLock } from "../../../servers/host/state-dir-lock.js";
import { killAndWait, runInChild, stopAll } from "../../support/child-process-tools.js";

describe("StateDirLock", function () {
  this.timeout(20_000);
  let root: string;
  let dir: string;

  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), "clouds-statedir-"));
    dir = path.join(root, "ds1");
  });

  afterEach(async () => {
    await stopAll();
    rmSync(root, { recursive: true, force: true });
  });

  function holdInChild(): ReturnType<typeof runInChild> {
    const facts = JSON.stringify({ id: "ds1", role: "data" });
    return runInChild(`const l = require("./servers/host/state-dir-lock.js").StateDirLock.acquire(${JSON.stringify(dir)}, ${facts}); l.announce("127.0.0.1:7101"); console.log("held"); setInterval(() => {}, 1000);`);
  }

  it("should refuse a directory that another live process holds, naming the directory and the holder pid", async () => {
    const { child } = await holdInChild();
    let caught: unknown;
    try {
      StateDirLock.acquire(dir, { id: "ds1", role: "data" });
    } catch (err) {
      caught = err;
    }
    expect(caught).to.be.instanceOf(StateDirHeldError);
    const err = caught as StateDirHeldError;
    expect({ dir: err.dir, holderPid: err.holderPid, holderId: err.holderId }).to.deep.equal({ dir, holderPid: child.pid, holderId: "ds1" });
    expect(err.message).to.contain(`state directory ${dir} is held by pid ${child.pid}`);
    expect(err.message).to.contain("127.0.0.1:7101");
  });

  it("should tell who holds a directory and where it serves", async () => {
    const { child } = await holdInChild();
    expect(StateDirLock.holder(dir)).to.include({ pid: child.pid, id: "ds1", role: "data", address: "127.0.0.1:7101" });
  });

  it("should take a directory over once its holder was killed -9", async () => {
    const { child } = await holdInChild();
    await killAndWait(child.pid!);
    expect(StateDirLock.holder(dir)).to.equal(null);
    const lock = StateDirLock.acquire(dir, { id: "ds1", role: "data" });
    expect(StateDirLock.holder(dir)).to.include({ pid: process.pid });
    lock.release();
    expect(StateDirLock.holder(dir)).to.equal(null);
  });

  it("should refuse a second hold within one process", () => {
    const lock = StateDirLock.acquire(dir, { id: "ds1", role: "data" });
    expect(() => StateDirLock.acquire(dir, { id: "ds1", role: "data" })).to.throw(StateDirHeldError, "held by this same process");
    lock.release();
  });
});
