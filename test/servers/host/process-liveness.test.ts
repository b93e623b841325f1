/**
 * Process liveness (servers/host/process-liveness.ts) against real processes: a running
 * one, one that is gone, a zombie, and a pid whose start time does not match.
 */
import { expect } from "chai";
import { isAlive, isSameProcess, startTimeOf } from "../../../servers/host/process-liveness.js";
import { deadPid, stopAll, zombie } from "../../support/child-process-tools.js";

describe("process liveness", function () {
  this.timeout(10_000);
  after(stopAll);

  it("should find this process alive, with a start time that stays the same", () => {
    expect(isAlive(process.pid)).to.equal(true);
    const since = startTimeOf(process.pid);
    expect(since).to.match(/^\d+$/);
    expect(startTimeOf(process.pid)).to.equal(since);
    expect(isSameProcess(process.pid, since)).to.equal(true);
  });

  it("should find a process that exited not alive", async () => {
    const pid = await deadPid();
    expect(isAlive(pid)).to.equal(false);
    expect(isSameProcess(pid, null)).to.equal(false);
  });

  it("should find a zombie not alive, though its pid still exists", async () => {
    const pid = await zombie();
    expect(() => process.kill(pid, 0)).not.to.throw();
    expect(isAlive(pid)).to.equal(false);
  });

  it("should take a live pid with another start time for a recycled one", () => {
    expect(isSameProcess(process.pid, "1")).to.equal(false);
  });

  it("should refuse pids that name no single process", () => {
    for (const pid of [0, -1, 1.5, Number.NaN]) expect(isAlive(pid), String(pid)).to.equal(false);
  });
});
