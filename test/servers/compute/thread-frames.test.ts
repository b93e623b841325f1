/**
 * Tests of ThreadFrames (servers/compute/thread-frames.ts): frames listed while they run,
 * oldest first, by thread; a kill lists the thread's frames, counts them, and refuses the
 * thread for KILL_MEMORY_MS, then forgets it.
 */
import { expect } from "chai";
import { asServerId, newSysName } from "../../../ra-kernel/ids.js";
import { KILL_MEMORY_MS, ThreadFrames } from "../../../servers/compute/thread-frames.js";

describe("ThreadFrames", () => {
  const object = newSysName(asServerId("ds1"));

  it("should list the frames running, oldest first, by thread, until each exits (once)", () => {
    let now = 1000;
    const frames = new ThreadFrames(() => now);
    const a = frames.enter({ thread: "t:ws1:a", depth: 0, object, entry: "run" });
    now = 2000;
    const b = frames.enter({ thread: "t:ws1:b", depth: 1, object, entry: "step" });
    expect(frames.list().map((f) => [f.thread, f.since])).to.deep.equal([["t:ws1:a", 1000], ["t:ws1:b", 2000]]);
    expect(frames.list("t:ws1:b").map((f) => f.entry)).to.deep.equal(["step"]);
    expect(a.id).to.not.equal(b.id);
    a.exit();
    a.exit();
    expect(frames.size).to.equal(1);
    b.exit();
    expect(frames.list()).to.deep.equal([]);
  });

  it("should list a killed thread's frames, count them, and refuse it for a while, then forget it", () => {
    let now = 0;
    const frames = new ThreadFrames(() => now);
    frames.enter({ thread: "t:ws1:k", depth: 0, object, entry: "spin" });
    frames.enter({ thread: "t:ws1:k", depth: 2, object, entry: "spin" });
    frames.enter({ thread: "t:ws1:other", depth: 0, object, entry: "spin" });
    expect(frames.kill("t:ws1:k").map((f) => f.depth)).to.deep.equal([0, 2]);
    expect(frames.counts).to.deep.equal({ kills: 1, framesKilled: 2 });
    expect(frames.killed("t:ws1:k")).to.equal(true);
    expect(frames.killed("t:ws1:other")).to.equal(false);
    now = KILL_MEMORY_MS + 1;
    expect(frames.killed("t:ws1:k"), "forgotten after KILL_MEMORY_MS").to.equal(false);
  });
});
