/**
 * Tests of FrameReports (servers/compute/frame-reports.ts): a frame is reported to its
 * thread's workstation only once it ran a whole interval, again when its state changes, its
 * exit at once if it was reported (never if not), one message per connection, a spawned
 * thread's parent with the next batch, and reports from down the chain forwarded up it.
 */
import { expect } from "chai";
import { FakePeer } from "../../support/fake-peer.js";
import { FrameReports, type FrameReport } from "../../../servers/compute/frame-reports.js";
import { ThreadFrames, type FrameInfo } from "../../../servers/compute/thread-frames.js";
import { asServerId, newSysName } from "../../../ra-kernel/ids.js";

describe("FrameReports", () => {
  const object = newSysName(asServerId("ds1"));
  let now: number;
  let frames: ThreadFrames;
  let states: Map<number, string>;
  let ws: FakePeer;
  let other: FakePeer;
  let reports: FrameReports;
  const routes = new Map<string, FakePeer>();
  const sent = (peer: FakePeer) => peer.sent.map((m) => (m.body as { reports: FrameReport[] }).reports);

  beforeEach(() => {
    now = 10_000;
    frames = new ThreadFrames(() => now);
    states = new Map();
    ws = new FakePeer("ws1");
    other = new FakePeer("ws2");
    routes.clear();
    const withStates = (): FrameInfo[] => frames.list().map((f) => ({ ...f, state: states.get(f.id) ?? "running" }));
    reports = new FrameReports({ server: "cs1", frames: withStates, routeOf: (t) => routes.get(t), everyMs: 50, now: () => now });
  });

  it("should not report a frame that ends before it ran a whole interval, nor its exit", () => {
    routes.set("t1", ws);
    const f = frames.enter({ thread: "t1", depth: 0, object, entry: "run" });
    now += 49;
    reports.tick();
    f.exit();
    reports.ended("t1", f.id);
    reports.tick();
    expect(ws.sent).to.deep.equal([]);
  });

  it("should report a frame that ran an interval, again only when its state changed, and its exit at once", () => {
    routes.set("t1", ws);
    const f = frames.enter({ thread: "t1", depth: 1, object, entry: "run" });
    now += 50;
    reports.tick();
    reports.tick();
    states.set(f.id, "waiting for lock 'k'");
    reports.tick();
    f.exit();
    reports.ended("t1", f.id);
    const key = `cs1/${f.id}`;
    expect(sent(ws)).to.deep.equal([
      [{ thread: "t1", key, server: "cs1", depth: 1, object, entry: "run", since: 10_000, state: "running" }],
      [{ thread: "t1", key, server: "cs1", depth: 1, object, entry: "run", since: 10_000, state: "waiting for lock 'k'" }],
      [{ thread: "t1", key, ended: true }],
    ]);
    expect(ws.sent.every((m) => m.kind === "workstation.frames")).to.equal(true);
  });

  it("should batch the reports of every thread routed by one connection into one message", () => {
    routes.set("t1", ws);
    routes.set("t2", ws);
    routes.set("t3", other);
    for (const t of ["t1", "t2", "t3"]) frames.enter({ thread: t, depth: 0, object, entry: "run" });
    now += 60;
    reports.tick();
    expect(sent(ws).map((batch) => batch.map((r) => r.thread))).to.deep.equal([["t1", "t2"]]);
    expect(sent(other).map((batch) => batch.map((r) => r.thread))).to.deep.equal([["t3"]]);
    expect(reports.counts).to.deep.equal({ messages: 2, reports: 3 });
  });

  it("should report the end of a reported frame the tick finds gone, if nobody said so", () => {
    routes.set("t1", ws);
    const f = frames.enter({ thread: "t1", depth: 0, object, entry: "run" });
    now += 50;
    reports.tick();
    f.exit();
    reports.tick();
    expect(sent(ws)[1]).to.deep.equal([{ thread: "t1", key: `cs1/${f.id}`, ended: true }]);
  });

  it("should say a spawned thread's parent with the next batch, unless it ended first, and drop what has no route", () => {
    routes.set("child", ws);
    reports.spawned("child", "parent");
    reports.spawned("quick", "parent");
    reports.spawnEnded("quick");
    reports.tick();
    expect(sent(ws)).to.deep.equal([[{ thread: "child", parent: "parent" }]]);
    reports.spawned("lost", "parent");
    reports.tick();
    expect(ws.sent).to.have.length(1);
  });

  it("should forward reports from down the chain on each thread's own route", () => {
    routes.set("t1", ws);
    routes.set("t2", other);
    reports.forward([{ thread: "t1", key: "cs2/1", ended: true }, { thread: "t2", key: "cs2/2", ended: true }, { thread: "t9", key: "cs2/3", ended: true }]);
    expect(sent(ws)).to.deep.equal([[{ thread: "t1", key: "cs2/1", ended: true }]]);
    expect(sent(other)).to.deep.equal([[{ thread: "t2", key: "cs2/2", ended: true }]]);
  });
});
