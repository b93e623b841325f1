import { expect } from "chai";
import { instanceProxy } from "../../objects/instance-proxy.js";
import { toPlain } from "../../objects/to-plain.js";
import { refTo, sysnameOfRef } from "../../objects/object-ref.js";
import type { SysName } from "../../ra-kernel/ids.js";
import { newStore, storeOverCopies, type TestStore } from "../support/object-memory.js";

type Fields = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe("HeapTable (plain objects, Map, Set)", () => {
  let t: TestStore;
  let o: Fields;

  beforeEach(() => {
    t = newStore({ heapPages: 16384 });
    o = instanceProxy<Fields>(t.store, Object.prototype);
  });

  it("should persist nested plain-object mutation: set, delete, in, keys, spread, JSON", () => {
    o.cfg = { limits: { max: 1, min: 0 }, name: "n", x: 1 };
    o.cfg.limits.max = 3;
    delete o.cfg.x;
    o.cfg.extra = { deep: [1, { z: true }] };
    expect("x" in o.cfg).to.equal(false);
    expect(Object.keys(o.cfg)).to.deep.equal(["limits", "name", "extra"]);
    expect({ ...o.cfg.limits }).to.deep.equal({ max: 3, min: 0 });
    expect(JSON.parse(JSON.stringify(o.cfg))).to.deep.equal({ limits: { max: 3, min: 0 }, name: "n", extra: { deep: [1, { z: true }] } });
    const other = instanceProxy<Fields>(storeOverCopies(t).store, Object.prototype);
    expect(toPlain(other.cfg)).to.deep.equal({ limits: { max: 3, min: 0 }, name: "n", extra: { deep: [1, { z: true }] } });
  });

  it("should persist Map operations with every key kind, in insertion order", () => {
    o.byName = new Map<unknown, unknown>([["a", 1]]);
    const m = o.byName;
    const ref = refTo("sys:ds1:01HZZZZZZZZZZZZZZZZZZZZZZZ" as SysName);
    m.set(2, "two").set(-0, "zero").set(NaN, "nan").set(10n, "big").set(true, "t").set(null, "n").set(undefined, "u").set(ref, "r");
    m.set("a", [1, 2]);
    m.get("a").push(3);
    expect(m.size).to.equal(9);
    expect(m.get(0)).to.equal("zero");
    expect(m.get(NaN)).to.equal("nan");
    expect(m.get(10n)).to.equal("big");
    expect(m.get(refTo("sys:ds1:01HZZZZZZZZZZZZZZZZZZZZZZZ" as SysName))).to.equal("r");
    expect(toPlain(m.get("a"))).to.deep.equal([1, 2, 3]);
    expect(m.delete(2)).to.equal(true);
    expect(m.has(2)).to.equal(false);
    const keys = [...o.byName.keys()];
    expect(keys.slice(0, 2)).to.deep.equal(["a", 0]);
    expect(sysnameOfRef(keys[keys.length - 1])).to.equal("sys:ds1:01HZZZZZZZZZZZZZZZZZZZZZZZ");
    const plain = toPlain(o.byName) as Map<unknown, unknown>;
    expect(plain).to.be.instanceOf(Map);
    expect(structuredClone(plain.get("a"))).to.deep.equal([1, 2, 3]);
  });

  it("should hold many Map entries through rebuilds, deletions and clear", () => {
    o.m = new Map();
    for (let i = 0; i < 5000; i++) o.m.set(`k${i}`, i);
    for (let i = 0; i < 5000; i += 2) o.m.delete(`k${i}`);
    for (let i = 5000; i < 6000; i++) o.m.set(`k${i}`, i);
    expect(o.m.size).to.equal(3500);
    expect(o.m.get("k4999")).to.equal(4999);
    expect(o.m.get("k4998")).to.equal(undefined);
    expect([...o.m.values()].slice(0, 3)).to.deep.equal([1, 3, 5]);
    o.m.clear();
    expect(o.m.size).to.equal(0);
    o.m = 0;
    expect(t.store.heap.liveBlocks()).to.equal(1);
  });

  it("should persist Set operations", () => {
    o.tags = new Set(["a", 1]);
    o.tags.add("b").add("a");
    o.tags.delete(1);
    expect([...o.tags]).to.deep.equal(["a", "b"]);
    expect(o.tags.has("b")).to.equal(true);
    expect(toPlain(o.tags)).to.deep.equal(new Set(["a", "b"]));
  });

  it("should round-trip bigint, Date, Uint8Array and references", () => {
    const ref = refTo("sys:ds1:01HAAAAAAAAAAAAAAAAAAAAAAA" as SysName);
    o.v = { big: -(2n ** 100n), when: new Date(86400000), bytes: new Uint8Array([0, 255, 7]), ref };
    expect(o.v.big).to.equal(-(2n ** 100n));
    expect(o.v.when.getTime()).to.equal(86400000);
    expect([...o.v.bytes]).to.deep.equal([0, 255, 7]);
    expect(sysnameOfRef(o.v.ref)).to.equal("sys:ds1:01HAAAAAAAAAAAAAAAAAAAAAAA");
  });

  it("should refuse unstorable values, keys and cycles, naming the path, changing nothing", () => {
    o.cfg = { limits: { max: 1 } };
    o.m = new Map();
    const live = t.store.heap.liveBlocks();
    expect(() => (o.cfg.limits.fn = () => 1)).to.throw(TypeError, /field 'cfg\.limits\.fn': cannot store a value of type function/);
    expect(() => (o.cfg = { a: { b: new (class Widget {})() } })).to.throw(TypeError, /field 'cfg\.a\.b'.*Widget/);
    const cyc: Record<string, unknown> = { a: 1 };
    cyc.self = { back: cyc };
    expect(() => (o.cfg = cyc)).to.throw(TypeError, /field 'cfg\.self\.back'.*cyclic/);
    expect(() => o.m.set({}, 1)).to.throw(TypeError, /field 'm key'/);
    expect(() => o.m.set("k", Symbol("s"))).to.throw(TypeError, /symbol/);
    expect(() => (o.s = new Set([[1]]))).to.throw(TypeError, /field 's member'/);
    expect(toPlain(o.cfg)).to.deep.equal({ limits: { max: 1 } });
    expect(o.m.size).to.equal(0);
    expect(t.store.has("s")).to.equal(false);
    expect(t.store.heap.liveBlocks()).to.equal(live);
  });
});
