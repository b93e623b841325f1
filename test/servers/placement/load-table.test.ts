/**
 * Tests of LoadTable (servers/placement/load-table.ts) on a fake clock: merging reports
 * (newest wins, per incarnation), ages and expiry, dead marks and what clears them,
 * membership learnt from reports, warm sightings and in-flight counts.
 */
import { expect } from "chai";
import { newSysName, type ServerId } from "../../../ra-kernel/ids.js";
import { LoadTable } from "../../../servers/placement/load-table.js";
import { IDLE_LOAD, type LoadReport, type ServerLoad } from "../../../servers/placement/load-report.js";

const cs1 = "cs1" as ServerId;
const cs2 = "cs2" as ServerId;
const cs3 = "cs3" as ServerId;
const cs4 = "cs4" as ServerId;
const obj = newSysName("ds1" as ServerId);

function report(server: ServerId, seq: number, extra: Partial<LoadReport> = {}): LoadReport {
  return { server, address: `127.0.0.1:70${server.slice(2)}`, incarnation: 100, seq, load: IDLE_LOAD, warm: [], members: [], ...extra };
}

function busy(running: number): ServerLoad {
  return { ...IDLE_LOAD, workers: 2, running };
}

describe("LoadTable", () => {
  let now: number;
  let table: LoadTable;

  beforeEach(() => {
    now = 1000;
    table = new LoadTable({ reportTtlMs: 2000, memberTtlMs: 30_000, deadTtlMs: 5000 }, () => now);
  });

  it("should list a server once it reported, with its load", () => {
    table.merge(report(cs1, 1, { load: busy(3) }));
    expect(table.candidates()).to.deep.equal([{ id: cs1, address: "127.0.0.1:701", load: busy(3), inflight: 0 }]);
  });

  it("should keep the newest report of an incarnation and ignore older ones", () => {
    table.merge(report(cs1, 5, { load: busy(5) }));
    table.merge(report(cs1, 4, { load: busy(4) }));
    expect(table.candidates()[0].load).to.deep.equal(busy(5));
  });

  it("should take a report of a later incarnation whatever its seq", () => {
    table.merge(report(cs1, 50, { load: busy(5) }));
    table.merge(report(cs1, 0, { incarnation: 200, load: busy(1) }));
    expect(table.candidates()[0].load).to.deep.equal(busy(1));
  });

  it("should forget a load older than reportTtlMs but keep the server", () => {
    table.merge(report(cs1, 1, { load: busy(3), warm: [{ object: obj, pages: 2 }] }));
    now += 2001;
    expect(table.candidates()).to.deep.equal([{ id: cs1, address: "127.0.0.1:701", load: undefined, inflight: 0 }]);
    expect(table.warmOn(obj)).to.deep.equal([]);
  });

  it("should drop a server not heard of for memberTtlMs", () => {
    table.merge(report(cs1, 1));
    now += 30_001;
    expect(table.candidates()).to.deep.equal([]);
  });

  it("should learn members from a report's member list", () => {
    table.merge(report(cs1, 1, { members: [{ id: cs2, address: "127.0.0.1:702" }] }));
    expect(table.candidates().map((c) => c.id)).to.deep.equal([cs1, cs2]);
  });

  it("should leave a server marked dead out until its dead mark expires", () => {
    table.merge(report(cs1, 1));
    table.merge(report(cs2, 1));
    table.markDead(cs2);
    expect(table.candidates().map((c) => c.id)).to.deep.equal([cs1]);
    now += 5001;
    expect(table.candidates().map((c) => c.id)).to.deep.equal([cs1, cs2]);
  });

  it("should not revive a dead server from another server's member list or the registry at the same address", () => {
    table.merge(report(cs2, 1));
    table.markDead(cs2);
    table.merge(report(cs1, 1, { members: [{ id: cs2, address: "127.0.0.1:702" }] }));
    table.noteMember(cs2, "127.0.0.1:702");
    expect(table.isDead(cs2)).to.equal(true);
  });

  it("should revive a dead server that reports itself, or is listed at a new address", () => {
    table.merge(report(cs2, 1));
    table.markDead(cs2);
    table.merge(report(cs2, 2));
    expect(table.isDead(cs2)).to.equal(false);
    table.markDead(cs2);
    table.noteMember(cs2, "127.0.0.1:9999");
    expect(table.isDead(cs2)).to.equal(false);
    expect(table.addressOf(cs2)).to.equal("127.0.0.1:9999");
  });

  it("should forget where objects were warm on a server marked dead", () => {
    table.merge(report(cs2, 1, { warm: [{ object: obj, pages: 4 }] }));
    table.markDead(cs2);
    now += 5001;
    expect(table.warmOn(obj)).to.deep.equal([]);
  });

  it("should list warm sightings where our last call ran first, then largest first, the most recent first among equals", () => {
    table.merge(report(cs1, 1, { warm: [{ object: obj, pages: 2 }] }));
    now += 100;
    table.noteReply(cs2, "127.0.0.1:702", busy(1), { object: obj, pages: 2 });
    table.merge(report(cs4, 1, { warm: [{ object: obj, pages: 2 }] }));
    now += 5;
    table.noteReply(cs3, "127.0.0.1:703", busy(1), { object: obj, pages: 1 });
    now += 10;
    expect(table.warmOn(obj), "cs3 ran it last").to.deep.equal([
      { server: cs3, pages: 1, ageMs: 10 }, { server: cs2, pages: 2, ageMs: 15 }, { server: cs4, pages: 2, ageMs: 15 }, { server: cs1, pages: 2, ageMs: 115 },
    ]);
    table.merge(report(cs3, 2, { warm: [{ object: obj, pages: 1 }] }));
    expect(table.warmOn(obj)[0].server, "a report keeps where it ran").to.equal(cs3);
  });

  it("should average the load figures over a few hundred ms: one busy instant does not make a server look busy", () => {
    table.noteReply(cs2, "127.0.0.1:702", busy(0));
    now += 1;
    table.noteReply(cs2, "127.0.0.1:702", busy(16));
    const running = table.candidates().find((c) => c.id === cs2)!.load!.running;
    expect(running).to.be.greaterThan(0).and.below(1);
    now += 3000;
    table.noteReply(cs2, "127.0.0.1:702", busy(16));
    expect(table.candidates().find((c) => c.id === cs2)!.load!.running).to.be.closeTo(16, 0.01);
  });

  it("should not count a sighting of zero pages as warm", () => {
    table.noteReply(cs2, "127.0.0.1:702", busy(1), { object: obj, pages: 0 });
    expect(table.warmOn(obj)).to.deep.equal([]);
  });

  it("should replace a server's warm objects at each report", () => {
    table.merge(report(cs1, 1, { warm: [{ object: obj, pages: 4 }] }));
    table.merge(report(cs1, 2, { warm: [] }));
    expect(table.warmOn(obj)).to.deep.equal([]);
  });

  it("should count calls in flight per server until each is done", () => {
    table.merge(report(cs3, 1));
    const a = table.begin(cs3);
    const b = table.begin(cs3);
    expect(table.candidates()[0].inflight).to.equal(2);
    a();
    a();
    expect(table.candidates()[0].inflight).to.equal(1);
    b();
    expect(table.candidates()[0].inflight).to.equal(0);
  });
});
