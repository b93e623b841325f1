/**
 * Tests of DecisionLog (servers/placement/decision-log.ts): per-thread records, counts per
 * reason and failovers, and its bounds.
 */
import { expect } from "chai";
import type { ServerId } from "../../../ra-kernel/ids.js";
import { DecisionLog, type PlacementRecord } from "../../../servers/placement/decision-log.js";

function rec(thread: string, extra: Partial<PlacementRecord> = {}): PlacementRecord {
  return { thread, depth: 0, entry: "e", server: "cs1" as ServerId, reason: "two-choices", by: "ws", at: 1, ...extra };
}

describe("DecisionLog", () => {
  it("should keep each thread's decisions in order and count them per reason", () => {
    const log = new DecisionLog();
    log.record(rec("t1", { reason: "hint" }));
    log.record(rec("t2"));
    log.record(rec("t1", { depth: 1, reason: "warm" }));
    expect(log.of("t1").map((r) => [r.depth, r.reason])).to.deep.equal([[0, "hint"], [1, "warm"]]);
    expect(log.counts).to.include({ hint: 1, warm: 1, "two-choices": 1, "stay-warm": 0, random: 0 });
  });

  it("should count failovers: decisions that avoided a server", () => {
    const log = new DecisionLog();
    log.record(rec("t1", { avoided: ["cs2" as ServerId] }));
    log.record(rec("t2"));
    expect(log.failovers).to.equal(1);
  });

  it("should keep at most decisionsPerThread per thread, dropping the oldest", () => {
    const log = new DecisionLog({ decisionsPerThread: 3 });
    for (let d = 0; d < 5; d++) log.record(rec("t1", { depth: d }));
    expect(log.of("t1").map((r) => r.depth)).to.deep.equal([2, 3, 4]);
  });

  it("should keep at most decisionThreads threads, forgetting the least recently recorded", () => {
    const log = new DecisionLog({ decisionThreads: 2 });
    log.record(rec("t1"));
    log.record(rec("t2"));
    log.record(rec("t1"));
    log.record(rec("t3"));
    expect(log.of("t2")).to.deep.equal([]);
    expect(log.of("t1")).to.have.length(2);
    expect(log.recent(10).map((r) => r.thread)).to.have.members(["t1", "t1", "t3"]);
  });
});
