import { expect } from "chai";
import { inspect, types } from "node:util";
import { instanceProxy } from "../../objects/instance-proxy.js";
import { toPlain } from "../../objects/to-plain.js";
import { DeferredFrees, runDeferringFrees } from "../../objects/deferred-frees.js";
import { StaleViewError } from "../../objects/heap-views.js";
import { WriteThroughError } from "../../objects/errors.js";
import { Tag } from "../../objects/value-cell.js";
import { newStore, storeOverCopies, type TestStore } from "../support/object-memory.js";

type Fields = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe("PersistentBytes", () => {
  let t: TestStore;
  let o: Fields;

  beforeEach(() => {
    t = newStore();
    o = instanceProxy<Fields>(t.store, Object.prototype);
    o.raw = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  /** The field as another compute server reads it (copies of the pages). */
  function elsewhere(name = "raw"): number[] {
    return Array.from(toPlain(instanceProxy<Fields>(storeOverCopies(t).store, Object.prototype)[name]) as Uint8Array);
  }

  it("should write element assignments through, converted as a Uint8Array converts them", () => {
    const raw = o.raw;
    raw[0] += 1;
    raw[1] = 300;
    raw[2] = -1;
    raw[3] = 1.7;
    raw[4] = "9";
    o.raw[5]++;
    expect(elsewhere()).to.deep.equal([2, 44, 255, 1, 9, 7, 7, 8]);
    expect(o.raw[1]).to.equal(44);
  });

  it("should write set, fill, copyWithin, reverse and sort through, like a Uint8Array", () => {
    const ref = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
    const steps: Array<(a: Uint8Array) => unknown> = [
      (a) => a.set([9, 300], 2),
      (a) => a.set(new Uint16Array([258]), 7),
      (a) => a.fill(0, -2),
      (a) => a.copyWithin(0, 4, 6),
      (a) => a.reverse(),
      (a) => a.sort(),
      (a) => a.sort((x, y) => y - x),
    ];
    for (const step of steps) {
      const result = step(o.raw);
      step(ref);
      if (result !== undefined) expect(result, step.toString()).to.equal(o.raw);
      expect(elsewhere(), step.toString()).to.deep.equal(Array.from(ref));
    }
  });

  it("should keep its length: writes past the end or to other properties throw naming the field", () => {
    const raw = o.raw;
    expect(() => (raw[8] = 1)).to.throw(WriteThroughError, /field 'raw\[8\]': .*fixed length \(8\)/);
    expect(() => (raw[-1] = 1)).to.throw(WriteThroughError, /field 'raw\[-1\]'/);
    expect(() => ((raw as unknown as Fields).extra = 1)).to.throw(WriteThroughError, /field 'raw': .* not 'extra'/);
    expect(() => raw.set([1, 2], 7)).to.throw(RangeError, /raw.*out of bounds/);
    expect(() => Object.defineProperty(raw, "length", { value: 3 })).to.throw(WriteThroughError);
    expect(raw.length).to.equal(8);
    expect(raw[8]).to.equal(undefined);
    expect(elsewhere()).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it("should refuse its buffer (writes through a copy's buffer would be lost)", () => {
    expect(() => o.raw.buffer).to.throw(WriteThroughError, /field 'raw': .*no ArrayBuffer.*slice\(\)/);
  });

  it("should look like a Uint8Array: instanceof, toString tag, iteration, JSON, inspect", () => {
    const raw = o.raw;
    expect(raw).to.be.instanceOf(Uint8Array);
    expect(Object.prototype.toString.call(raw)).to.equal("[object Uint8Array]");
    expect([...raw]).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(Object.keys(raw)).to.deep.equal(["0", "1", "2", "3", "4", "5", "6", "7"]);
    expect(JSON.stringify(raw)).to.equal(JSON.stringify(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])));
    expect(inspect(raw)).to.equal(inspect(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])));
    expect([raw.indexOf(3), raw.includes(9), raw.at(-1), raw.join("-"), 2 in raw, 8 in raw]).to.deep.equal([2, false, 8, "1-2-3-4-5-6-7-8", true, false]);
    expect(o.raw).to.equal(raw); // one view per block
  });

  it("should return plain copies from slice, map, filter and toSorted", () => {
    const raw: Uint8Array = o.raw;
    const copies = [raw.slice(1, 3), raw.map((v) => v * 2), raw.filter((v) => v > 6), raw.toSorted((x, y) => y - x)];
    for (const c of copies) {
      expect(types.isUint8Array(c)).to.equal(true);
      c[0] = 99;
    }
    expect(copies.map((c) => Array.from(c))).to.deep.equal([[99, 3], [99, 4, 6, 8, 10, 12, 14, 16], [99, 8], [99, 7, 6, 5, 4, 3, 2, 1]]);
    expect(elsewhere()).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it("should give a live subarray of the same bytes", () => {
    const sub = o.raw.subarray(2, -2);
    expect([sub.length, sub.byteOffset, ...sub]).to.deep.equal([4, 2, 3, 4, 5, 6]);
    sub[0] = 30;
    sub.subarray(1).fill(9);
    expect(() => (sub[4] = 1)).to.throw(WriteThroughError, /fixed length \(4\)/);
    expect(elsewhere()).to.deep.equal([1, 2, 30, 9, 9, 9, 7, 8]);
  });

  it("should write back what a callback writes to the array it is given", () => {
    o.raw.forEach((v: number, i: number, a: Uint8Array) => (a[i] = v * 10));
    expect(elsewhere()).to.deep.equal([10, 20, 30, 40, 50, 60, 70, 80]);
  });

  it("should copy the bytes when assigned to another field or stored in a container", () => {
    o.copy = o.raw;
    o.list = [o.raw];
    o.byName = new Map([["r", o.raw]]);
    o.raw[0] = 100;
    o.list[0][1] = 101;
    expect(elsewhere("copy")).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(toPlain(o.list)).to.deep.equal([new Uint8Array([1, 101, 3, 4, 5, 6, 7, 8])]);
    expect(toPlain(o.byName.get("r"))).to.deep.equal(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
    expect(elsewhere()).to.deep.equal([100, 2, 3, 4, 5, 6, 7, 8]);
  });

  it("should be a plain Uint8Array once made plain (results, arguments)", () => {
    const plain = toPlain({ r: o.raw }) as { r: Uint8Array };
    expect(types.isUint8Array(plain.r)).to.equal(true);
    expect(structuredClone(plain)).to.deep.equal({ r: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]) });
  });

  it("should write elements of Uint8Arrays nested in arrays, objects and Maps", () => {
    o.cfg = { key: new Uint8Array(2), list: [new Uint8Array(3)] };
    o.cfg.key[1] = 7;
    o.cfg.list[0].set([4, 5], 1);
    o.cfg.list.unshift("first"); // the element moves; its bytes block and view stay
    o.cfg.list[1][0] = 3;
    expect(toPlain(instanceProxy<Fields>(storeOverCopies(t).store, Object.prototype).cfg)).to.deep.equal({
      key: new Uint8Array([0, 7]),
      list: ["first", new Uint8Array([3, 4, 5])],
    });
  });

  it("should keep a replaced Uint8Array usable until the invocation ends, then refuse it", async () => {
    const before = t.store.heap.liveBlocks();
    let old: Uint8Array = new Uint8Array(0);
    const frees = new DeferredFrees();
    await runDeferringFrees(frees, async () => {
      old = o.raw;
      o.raw = new Uint8Array([9]);
      old[0] = 50;
      expect(old[0]).to.equal(50);
    });
    frees.flush();
    expect(t.store.heap.liveBlocks()).to.equal(before);
    expect(() => old[0]).to.throw(StaleViewError, /field 'raw'/);
    expect(() => (old[0] = 1)).to.throw(StaleViewError);
    o.other = new Uint8Array([1, 1, 1, 1, 1, 1, 1, 1]); // may reuse the freed block
    expect(() => old.fill(0)).to.throw(StaleViewError);
    expect(elsewhere("raw")).to.deep.equal([9]);
    expect(elsewhere("other")).to.deep.equal([1, 1, 1, 1, 1, 1, 1, 1]);
  });

  it("should read a Uint8Array stored before views and refuse to change it in place", () => {
    const payload = t.store.heap.alloc(3);
    t.heap.mem.write(payload, new Uint8Array([4, 5, 6]));
    const cell = new DataView(new ArrayBuffer(16));
    cell.setUint32(0, Tag.BYTES, true);
    cell.setUint32(4, 3, true);
    cell.setUint32(8, payload, true); // +12 stays 0: no serial, no header
    o.legacy = 0;
    const slot = t.store.cellAddr("legacy");
    t.data.mem.write(slot, new Uint8Array(cell.buffer));
    expect([...o.legacy]).to.deep.equal([4, 5, 6]);
    expect(() => (o.legacy[0] = 1)).to.throw(WriteThroughError, /field 'legacy': .*assign it again/);
    o.legacy = o.legacy.slice();
    o.legacy[0] = 1;
    expect(elsewhere("legacy")).to.deep.equal([1, 5, 6]);
  });
});
