/**
 * Tests of ThreadRecords (shell/client/thread-records.ts): a call's record from its start to
 * its reply, its chain of frames as compute servers report them (the reported root replacing
 * the root as sent), a spawned thread's record with its parent until its last frame ends, and
 * reports that crossed a call's reply ignored.
 */
import { expect } from "chai";
import { ThreadRecords } from "../../../shell/client/thread-records.js";
import type { FrameReport } from "../../../servers/compute/frame-reports.js";

describe("ThreadRecords", () => {
  let now: number;
  let records: ThreadRecords;
  const frame = (thread: string, key: string, depth: number, entry: string, state = "running"): FrameReport =>
    ({ thread, key, server: key.split("/")[0], depth, object: "sys:ds1:o", entry, since: 1000 + depth, state });

  beforeEach(() => {
    now = 1000;
    records = new ThreadRecords("ws1", () => now);
  });

  it("should keep a call's record from its start to its reply: placed, then its reported chain, deepest last", () => {
    records.started("t1", { object: "sys:ds1:o", entry: "run" });
    expect(records.get("t1")?.state).to.equal("being placed");
    records.placed("t1", "cs1");
    expect(records.get("t1")?.frames.map((f) => `${f.key}:${f.entry}@${f.server}`)).to.deep.equal(["root:run@cs1"]);
    records.apply([frame("t1", "cs2/7", 1, "step"), frame("t1", "cs1/3", 0, "run", "waiting for a reply from cs2")]);
    const r = records.get("t1")!;
    expect(r.frames.map((f) => `${f.key}:${f.entry}@${f.server}`)).to.deep.equal(["cs1/3:run@cs1", "cs2/7:step@cs2"]);
    expect(r).to.include({ call: true, output: "ws1", state: "running", since: 1000 });
    records.apply([{ thread: "t1", key: "cs2/7", ended: true }]);
    expect(records.get("t1")?.state).to.equal("waiting for a reply from cs2");
    records.ended("t1");
    expect(records.list()).to.deep.equal([]);
  });

  it("should ignore a report that crossed its call's reply", () => {
    records.started("t1", { object: "sys:ds1:o", entry: "run" });
    records.ended("t1");
    records.apply([frame("t1", "cs1/3", 0, "run")]);
    expect(records.size).to.equal(0);
  });

  it("should keep a spawned thread's record with its parent while any of its frames runs", () => {
    records.apply([{ thread: "child", parent: "t1" }, frame("child", "cs2/1", 0, "spin"), frame("child", "cs1/9", 1, "bump")]);
    expect(records.get("child")).to.deep.include({ call: false, parent: "t1", state: "running" });
    records.apply([{ thread: "child", key: "cs1/9", ended: true }]);
    expect(records.get("child")?.frames).to.have.length(1);
    records.apply([{ thread: "child", key: "cs2/1", ended: true }]);
    expect(records.get("child")).to.equal(undefined);
  });

  it("should list threads oldest first", () => {
    records.started("a", { object: "o", entry: "x" });
    now = 2000;
    records.started("b", { object: "o", entry: "y" });
    records.apply([{ ...frame("c", "cs1/1", 0, "z"), since: 500 } as FrameReport]);
    expect(records.list().map((r) => r.thread)).to.deep.equal(["c", "a", "b"]);
  });
});
