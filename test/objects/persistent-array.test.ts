import { expect } from "chai";
import { instanceProxy } from "../../objects/instance-proxy.js";
import { toPlain } from "../../objects/to-plain.js";
import { PAGE_SIZE } from "../../ra-kernel/ids.js";
import { newStore, storeOverCopies, type TestStore } from "../support/object-memory.js";

type Fields = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe("PersistentArray", () => {
  let t: TestStore;
  let o: Fields;

  beforeEach(() => {
    t = newStore({ heapPages: 262144 });
    o = instanceProxy<Fields>(t.store, Object.prototype);
  });

  it("should read back as a live array: isArray, length, index, spread, JSON", () => {
    o.items = [1, "two", true, null, undefined, [3, [4]], { a: 5 }];
    expect(Array.isArray(o.items)).to.equal(true);
    expect(o.items.length).to.equal(7);
    expect(o.items[1]).to.equal("two");
    expect(o.items[5][1][0]).to.equal(4);
    expect([...o.items].length).to.equal(7);
    expect(JSON.stringify(o.items)).to.equal('[1,"two",true,null,null,[3,[4]],{"a":5}]');
    expect(toPlain(o.items)).to.deep.equal([1, "two", true, null, undefined, [3, [4]], { a: 5 }]);
  });

  it("should persist push, index writes, pop, splice, sort and length changes in place", () => {
    o.items = [3, 1];
    o.items.push(2);
    const a = o.items;
    a.push(4, 5);
    a[0] = 30;
    a[7] = 7;
    expect(toPlain(o.items)).to.deep.equal([30, 1, 2, 4, 5, undefined, undefined, 7]);
    expect(a.pop()).to.equal(7);
    a.length = 5;
    a.splice(1, 1, "x", "y");
    expect(toPlain(o.items)).to.deep.equal([30, "x", "y", 2, 4, 5]);
    o.nums = [3, 1, 2];
    o.nums.sort();
    o.nums.reverse();
    expect(toPlain(o.nums)).to.deep.equal([3, 2, 1]);
    expect(o.nums.map((x: number) => x * 2)).to.deep.equal([6, 4, 2]);
    expect(o.nums.includes(2)).to.equal(true);
  });

  it("should be seen by a second store over copies of its pages", () => {
    o.items = [];
    for (let i = 0; i < 1000; i++) o.items.push({ i, s: `s${i}` });
    const other = instanceProxy<Fields>(storeOverCopies(t).store, Object.prototype);
    expect(other.items.length).to.equal(1000);
    expect(toPlain(other.items[999])).to.deep.equal({ i: 999, s: "s999" });
  });

  it("should refuse an unstorable element, naming the path, and leave the array unchanged", () => {
    o.items = [1, 2];
    const live = t.store.heap.liveBlocks();
    expect(() => o.items.push(3, () => 0)).to.throw(TypeError, /field 'items\[3\]': cannot store a value of type function/);
    expect(() => (o.items[0] = { ok: 1, bad: Symbol("s") })).to.throw(TypeError, /field 'items\[0\]\.bad': .*symbol/);
    expect(() => (o.items[0] = new WeakMap())).to.throw(TypeError, /WeakMap/);
    expect(toPlain(o.items)).to.deep.equal([1, 2]);
    expect(t.store.heap.liveBlocks()).to.equal(live);
  });

  it("should free every block of a replaced array, and make an old view stale", () => {
    const before = t.store.heap.liveBlocks();
    o.items = [[1, "x"], { a: ["y"] }, new Map([["k", [1]]])];
    const old = o.items;
    o.items = 0;
    expect(t.store.heap.liveBlocks()).to.equal(before + 1); // the field's name
    expect(() => old.push(1)).to.throw(/no longer exists/);
  });

  it("should copy, not alias, when a view is assigned elsewhere", () => {
    o.a = [1, 2];
    o.b = o.a;
    o.b.push(3);
    expect(toPlain(o.a)).to.deep.equal([1, 2]);
    expect(toPlain(o.b)).to.deep.equal([1, 2, 3]);
  });

  it("should grow by doubling, not by rewriting the block on each push", () => {
    o.items = [];
    const a = o.items;
    const started = performance.now();
    for (let i = 0; i < 1_000_000; i++) a.push(i);
    const perPush = ((performance.now() - started) * 1e6) / 1_000_000;
    expect(a.length).to.equal(1_000_000);
    expect(a[999_999]).to.equal(999_999);
    expect(perPush, "ns per push").to.be.below(5000);
    expect(t.store.heap.liveBlocks()).to.equal(3); // name, header, cells
  });

  it("should hold a 50 MiB array and fault only the pages one element needs", () => {
    const n = 3_300_000; // 16-byte cells: 52.8 MB
    o.big = new Array(n).fill(0);
    const fresh = storeOverCopies(t); // another server: its pages come from the home
    for (const seg of [t.data, t.heap]) for (const page of seg.frames.pagesAtLeast(1)) fresh.faulter.home.set(`${seg.sysname}/${page}`, seg.frames.copyPage(page));
    for (const seg of [fresh.data, fresh.heap]) seg.frames.invalidateAll();
    const other = instanceProxy<Fields>(fresh.store, Object.prototype);
    fresh.faulter.reset();
    other.big[2_000_000] = 42;
    expect(other.big[2_000_000]).to.equal(42);
    expect(fresh.faulter.faults, JSON.stringify(fresh.faulter.log)).to.be.at.most(6);
    expect(fresh.faulter.pagesFaulted(fresh.heap.sysname).length).to.be.at.most(4);
    expect(PAGE_SIZE).to.equal(4096);
  });
});
