import { expect } from "chai";
import { types } from "node:util";
import { instanceProxy } from "../../objects/instance-proxy.js";
import { toPlain } from "../../objects/to-plain.js";
import { StaleViewError } from "../../objects/heap-views.js";
import { PersistentDate } from "../../objects/persistent-date.js";
import { Tag } from "../../objects/value-cell.js";
import { newStore, storeOverCopies, type TestStore } from "../support/object-memory.js";

type Fields = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const START = Date.UTC(2024, 5, 15, 12, 30, 45, 500);

/** A call of every Date setter (a new one on Date.prototype makes the coverage test fail). */
const SETTERS: Array<[string, unknown[]]> = [
  ["setDate", [3]], ["setFullYear", [2001, 2, 4]], ["setHours", [5, 6, 7, 8]], ["setMilliseconds", [9]],
  ["setMinutes", [10, 11, 12]], ["setMonth", [4, 5]], ["setSeconds", [13, 14]], ["setTime", [1e12]],
  ["setUTCDate", [16]], ["setUTCFullYear", [2002, 1, 2]], ["setUTCHours", [17, 18, 19, 20]],
  ["setUTCMilliseconds", [21]], ["setUTCMinutes", [22, 23, 24]], ["setUTCMonth", [6, 7]],
  ["setUTCSeconds", [25, 26]], ["setYear", [99]],
];

describe("PersistentDate", () => {
  let t: TestStore;
  let o: Fields;

  beforeEach(() => {
    t = newStore();
    o = instanceProxy<Fields>(t.store, Object.prototype);
    o.when = new Date(START);
  });

  /** A field's time value as another compute server reads it (copies of the pages). */
  function elsewhere(read: (f: Fields) => Date = (f) => f.when): number {
    return read(instanceProxy<Fields>(storeOverCopies(t).store, Object.prototype)).getTime();
  }

  it("should have a case for every set* method of Date", () => {
    const setters = Object.getOwnPropertyNames(Date.prototype).filter((k) => k.startsWith("set"));
    expect(SETTERS.map(([name]) => name)).to.have.members(setters);
  });

  for (const [name, args] of SETTERS) {
    it(`should write ${name} through to the field`, () => {
      const ref = new Date(START) as unknown as Record<string, (...a: unknown[]) => number>;
      const expected = ref[name](...args);
      expect(o.when[name](...args)).to.equal(expected);
      expect(elsewhere()).to.equal(expected);
      expect(o.when.getTime()).to.equal(expected);
    });
  }

  it("should stay a real Date, copied to a plain Date by toPlain and structured clone", () => {
    const d = o.when;
    expect(d).to.be.instanceOf(Date);
    expect(types.isDate(d)).to.equal(true);
    expect(Object.prototype.toString.call(d)).to.equal("[object Date]");
    const plain = toPlain(d) as Date;
    expect(Object.getPrototypeOf(plain)).to.equal(Date.prototype);
    expect(plain.getTime()).to.equal(START);
    expect(structuredClone(d)).to.deep.equal(new Date(START));
    expect([+d, `${d}`, d.toJSON()]).to.deep.equal([START, `${new Date(START)}`, new Date(START).toJSON()]);
  });

  it("should see a change made through another view of the same field", () => {
    const a = o.when;
    const b = o.when;
    a.setUTCDate(1);
    b.setUTCHours(0);
    expect(b.getUTCDate()).to.equal(1);
    expect(elsewhere()).to.equal(Date.UTC(2024, 5, 1, 0, 30, 45, 500));
  });

  it("should copy its value when assigned to another field", () => {
    o.copy = o.when;
    o.when.setTime(1);
    o.copy.setTime(2);
    expect([elsewhere(), elsewhere((f) => f.copy)]).to.deep.equal([1, 2]);
  });

  it("should write Dates in arrays, objects and Maps through, also after the table grows", () => {
    o.list = [new Date(1), new Date(2)];
    o.cfg = { at: new Date(3) };
    o.byName = new Map([["k", new Date(4)]]);
    const inMap = o.byName.get("k");
    for (let i = 0; i < 100; i++) o.byName.set(`filler${i}`, i); // rebuilds: the entry moves
    o.list[1].setTime(20);
    o.cfg.at.setTime(30);
    inMap.setTime(40);
    for (const [, v] of o.byName) if (v instanceof Date) v.setTime(v.getTime() + 1);
    const other = instanceProxy<Fields>(storeOverCopies(t).store, Object.prototype);
    expect(toPlain([other.list, other.cfg, other.byName.get("k")])).to.deep.equal([[new Date(1), new Date(20)], { at: new Date(30) }, new Date(41)]);
  });

  it("should refuse a change once the field was reassigned, keeping its last value", () => {
    const d = o.when;
    o.when = new Date(7);
    expect(d.getTime()).to.equal(START);
    expect(() => d.setTime(8)).to.throw(StaleViewError, /field 'when': this persistent Date/);
    expect(d.getTime()).to.equal(START);
    expect(elsewhere()).to.equal(7);
  });

  it("should refuse a change once an array edit moved it, rather than write another element", () => {
    o.list = [new Date(1), new Date(2)];
    const first = o.list[0];
    o.list.unshift(new Date(0));
    expect(() => first.setTime(10)).to.throw(StaleViewError, /field 'list\[0\]'.*array edit/);
    o.list.length = 0;
    expect(() => first.setTime(10)).to.throw(StaleViewError);
    expect(toPlain(o.list)).to.deep.equal([]);
  });

  it("should be an ordinary Date when made with new (as libraries clone Dates)", () => {
    const d = o.when;
    const clone = new (d.constructor as typeof PersistentDate)(+d);
    clone.setTime(5);
    expect([clone.getTime(), elsewhere()]).to.deep.equal([5, START]);
  });

  it("should write a Date stored before Dates had serials, and give it one", () => {
    const addr = t.store.cellAddr("when");
    const cell = t.data.mem.read(addr, 16);
    new DataView(cell.buffer).setUint32(4, 0, true);
    t.data.mem.write(addr, cell);
    o.when.setTime(9);
    const after = new DataView(t.data.mem.read(addr, 16).buffer);
    expect([after.getUint32(0, true), after.getUint32(4, true) !== 0, after.getFloat64(8, true)]).to.deep.equal([Tag.DATE, true, 9]);
  });
});
