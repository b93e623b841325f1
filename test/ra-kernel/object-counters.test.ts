/**
 * Tests of ObjectCounters (ra-kernel/object-counters.ts): named counters kept for the server
 * and per object, and the busiest objects for /metrics.
 */
import { expect } from "chai";
import { newSysName, type ServerId } from "../../ra-kernel/ids.js";
import { ObjectCounters } from "../../ra-kernel/object-counters.js";

const ds1 = "ds1" as ServerId;

describe("ObjectCounters", () => {
  const names = ["reads", "writes"] as const;

  it("should start every counter at zero", () => {
    const c = new ObjectCounters(names);
    expect(c.total).to.deep.equal({ reads: 0, writes: 0 });
    expect(c.of(newSysName(ds1))).to.deep.equal({ reads: 0, writes: 0 });
    expect(c.busiest(10)).to.deep.equal([]);
  });

  it("should add to the total and to the object's own counts", () => {
    const c = new ObjectCounters(names);
    const a = newSysName(ds1);
    const b = newSysName(ds1);
    c.add(a, "reads");
    c.add(a, "reads", 4);
    c.add(b, "writes", 2);
    expect(c.total).to.deep.equal({ reads: 5, writes: 2 });
    expect(c.of(a)).to.deep.equal({ reads: 5, writes: 0 });
    expect(c.of(b)).to.deep.equal({ reads: 0, writes: 2 });
  });

  it("should count an event of no known object in the total only", () => {
    const c = new ObjectCounters(names);
    c.add(undefined, "writes", 3);
    expect(c.total.writes).to.equal(3);
    expect(c.busiest(10)).to.deep.equal([]);
  });

  it("should give copies of an object's counts", () => {
    const c = new ObjectCounters(names);
    const a = newSysName(ds1);
    c.add(a, "reads");
    c.of(a).reads = 100;
    expect(c.of(a).reads).to.equal(1);
  });

  it("should list the busiest objects first, at most `limit`", () => {
    const c = new ObjectCounters(names);
    const [a, b, d] = [newSysName(ds1), newSysName(ds1), newSysName(ds1)];
    c.add(a, "reads", 1);
    c.add(b, "reads", 2);
    c.add(b, "writes", 5);
    c.add(d, "writes", 3);
    expect(c.busiest(2).map(([o]) => o)).to.deep.equal([b, d]);
    expect(c.busiest(10).map(([o, r]) => [o, r.reads + r.writes])).to.deep.equal([[b, 7], [d, 3], [a, 1]]);
  });

  it("should keep the own counts of the most recently counted objects only, and every total", () => {
    const c = new ObjectCounters(names, 2);
    const [a, b, d] = [newSysName(ds1), newSysName(ds1), newSysName(ds1)];
    c.add(a, "reads");
    c.add(b, "reads");
    c.add(a, "writes"); // a counted last: b is the least recently counted
    c.add(d, "reads");
    expect(c.busiest(10).map(([o]) => o).sort()).to.deep.equal([a, d].sort());
    expect(c.of(b), "dropped").to.deep.equal({ reads: 0, writes: 0 });
    expect(c.total).to.deep.equal({ reads: 3, writes: 1 });
    c.forget(a);
    expect(c.busiest(10).map(([o]) => o)).to.deep.equal([d]);
  });
});
