/**
 * Process liveness (servers/host/process-liveness.ts) against real processes: a running
 * one, one that is gone, a zombie, one killed -9 whose threads are still exiting, and a
 * pid whose start time does not match.
 */
import { expect } from "chai";
import { isAlive, isSameProcess, startTimeOf } from "../../../servers/host/process-liveness.js";
import { createServer } from "node:net";
import { deadPid, runInChild, stopAll, zombie } from "../../support/child-process-tools.js";

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

  it("should find a process killed -9 alive until its threads have closed its sockets", async () => {
    for (let i = 0; i < 5; i++) {
      const script = `for (let i = 0; i < 2; i++) new (require("node:worker_threads").Worker)("setInterval(() => {}, 1000)", { eval: true });
        const s = require("node:net").createServer().listen(0, "127.0.0.1", () => console.log(s.address().port));`;
      const { child, line } = await runInChild(script);
      process.kill(child.pid!, "SIGKILL");
      while (isAlive(child.pid!)) await new Promise((r) => setImmediate(r));
      const server = createServer();
      const error = await new Promise<Error | null>((resolve) => {
        server.once("error", resolve);
        server.listen(Number(line), "127.0.0.1", () => resolve(null));
      });
      server.close();
      expect(error, `round ${i}: port ${line} still taken once pid ${child.pid} was not alive`).to.equal(null);
    }
  });

  it("should take a live pid with another start time for a recycled one", () => {
    expect(isSameProcess(process.pid, "1")).to.equal(false);
  });

  it("should refuse pids that name no single process", () => {
    for (const pid of [0, -1, 1.5, Number.NaN]) expect(isAlive(pid), String(pid)).to.equal(false);
  });
});
