import { expect } from "chai";
import { instanceProxy } from "../../objects/instance-proxy.js";
import { toPlain } from "../../objects/to-plain.js";
import { newStore, type TestStore } from "../support/object-memory.js";
import { rng } from "../support/rng.js";

type Fields = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A value of a random kind: primitives, and nested arrays, objects and Maps. */
function randomValue(r: (n: number) => number): unknown {
  const i = r(100);
  switch (r(8)) {
    case 0: return i;
    case 1: return `s${i}`;
    case 2: return undefined;
    case 3: return null;
    case 4: return { i, tags: [`t${i}`, i % 3] };
    case 5: return [i, { deep: [i, "x"] }];
    case 6: return new Map<unknown, unknown>([["k", [i]], [i, { n: i }]]);
    default: return i % 2 === 0;
  }
}

/** A comparator over any element value (undefined never reaches it). */
function byWeight(x: unknown, y: unknown): number {
  const w = (v: unknown): number => (typeof v === "number" ? v : typeof v === "string" ? v.length : v === null ? -1 : typeof v === "boolean" ? 7 : 50);
  return w(x) - w(y);
}

describe("ArrayEdits", () => {
  let t: TestStore;
  let o: Fields;

  beforeEach(() => {
    t = newStore({ heapPages: 16384 });
    o = instanceProxy<Fields>(t.store, Object.prototype);
    o.items = 0; // the field's name is allocated: baselines below exclude it
  });

  const mixed = (): unknown[] => [1, "two", { a: [1, 2] }, [3, [4]], undefined, new Map([["m", { x: 1 }]]), null, 5];

  it("should do shift, pop, unshift and splice like Array.prototype, nested elements included", () => {
    const ref = mixed();
    o.items = mixed();
    const a = o.items;
    expect(a.shift()).to.deep.equal(ref.shift());
    expect(a.pop()).to.deep.equal(ref.pop());
    expect(a.unshift({ u: 1 }, [9])).to.equal(ref.unshift({ u: 1 }, [9]));
    expect(a.splice(2, 3, "x", { y: [2] })).to.deep.equal(ref.splice(2, 3, "x", { y: [2] }));
    expect(a.splice(-2)).to.deep.equal(ref.splice(-2));
    expect(a.splice()).to.deep.equal((ref.splice as () => unknown[])());
    expect(a.splice(1, Infinity)).to.deep.equal(ref.splice(1, Infinity));
    expect(toPlain(a)).to.deep.equal(ref);
    a.length = 0;
    expect(a.shift()).to.equal(undefined);
    expect(a.pop()).to.equal(undefined);
    expect(a.unshift()).to.equal(0);
  });

  it("should do reverse, sort, fill and copyWithin like Array.prototype, returning the view", () => {
    const ref = mixed();
    o.items = mixed();
    const a = o.items;
    expect(a.reverse()).to.equal(a);
    expect(toPlain(a)).to.deep.equal(ref.reverse());
    expect(a.sort()).to.equal(a);
    expect(toPlain(a)).to.deep.equal(ref.sort());
    expect(toPlain(a.sort(byWeight))).to.deep.equal(ref.sort(byWeight));
    expect(toPlain(a.copyWithin(0, 2, 5))).to.deep.equal(ref.copyWithin(0, 2, 5));
    expect(toPlain(a.copyWithin(-3, 0))).to.deep.equal(ref.copyWithin(-3, 0));
    expect(toPlain(a.fill({ f: [1] }, 1, -4))).to.deep.equal(ref.fill({ f: [1] }, 1, -4));
    expect(a.fill(0)).to.equal(a);
    expect(toPlain(a)).to.deep.equal(ref.fill(0));
    o.words = ["b", undefined, "a", 10, 9, "c"];
    expect(toPlain(o.words.sort())).to.deep.equal([10, 9, "a", "b", "c", undefined]);
  });

  it("should match a plain array under random edits, and leak no block", () => {
    const base = t.store.heap.liveBlocks();
    for (let seed = 1; seed <= 12; seed++) {
      const r = rng(seed);
      const ref: unknown[] = [];
      o.items = [];
      const a = o.items;
      for (let step = 0; step < 150; step++) {
        const len = ref.length;
        const idx = (): number => r(len + 3) - Math.floor((len + 3) / 2); // negative too
        const vals = (): unknown[] => Array.from({ length: r(3) }, () => randomValue(r));
        const op = r(11);
        const what = `seed ${seed} step ${step} op ${op}`;
        let got: unknown, want: unknown;
        if (op === 0) { const v = vals(); got = a.push(...v); want = ref.push(...v); }
        else if (op === 1) { got = a.pop(); want = ref.pop(); }
        else if (op === 2) { got = a.shift(); want = ref.shift(); }
        else if (op === 3) { const v = vals(); got = a.unshift(...v); want = ref.unshift(...v); }
        else if (op === 4) { const [s, n, v] = [idx(), r(4), vals()]; got = a.splice(s, n, ...v); want = ref.splice(s, n, ...v); }
        else if (op === 5) { a.reverse(); ref.reverse(); }
        else if (op === 6) { a.sort(byWeight); ref.sort(byWeight); }
        else if (op === 7) { a.sort(); ref.sort(); }
        else if (op === 8) { const [v, s, e] = [randomValue(r), idx(), idx()]; a.fill(v, s, e); ref.fill(v, s, e); }
        else if (op === 9) { const [x, s, e] = [idx(), idx(), idx()]; a.copyWithin(x, s, e); ref.copyWithin(x, s, e); }
        else { const n = r(len + 2); a.length = n; ref.length = n; }
        expect(got, what).to.deep.equal(want);
        expect(toPlain(a), what).to.deep.equal(Array.from(ref));
      }
      o.items = 0;
      expect(t.store.heap.liveBlocks(), `seed ${seed}: blocks left`).to.equal(base);
    }
  });

  it("should return removed nested elements as plain copies, usable after the edit", () => {
    o.items = [{ a: [1] }, [2, { b: 3 }], new Map([["k", { c: 4 }]]), { d: 5 }, { e: 6 }];
    const first = o.items.shift();
    const [second, third] = o.items.splice(0, 2);
    const last = o.items.pop();
    for (const v of [first, second, third, last]) expect(toPlain(v), "already plain").to.equal(v);
    first.a.push(9);
    expect(first).to.deep.equal({ a: [1, 9] });
    expect(second).to.deep.equal([2, { b: 3 }]);
    expect(third.get("k")).to.deep.equal({ c: 4 });
    expect(last).to.deep.equal({ e: 6 });
    expect(toPlain(o.items)).to.deep.equal([{ d: 5 }]);
  });

  it("should keep views of surviving nested elements valid through shift, splice, sort and reverse", () => {
    o.items = [{ n: 0 }, { n: 1 }, [2], { n: 3 }, new Map([["n", 4]])];
    const [, one, two, three, four] = [0, 1, 2, 3, 4].map((i) => o.items[i]);
    o.items.shift();
    o.items.splice(1, 0, "inserted");
    o.items.reverse();
    o.items.sort((x: any, y: any) => String(x?.n ?? x).localeCompare(String(y?.n ?? y))); // eslint-disable-line @typescript-eslint/no-explicit-any
    o.items.unshift(0);
    expect(one.n).to.equal(1);
    expect(two[0]).to.equal(2);
    expect(three.n).to.equal(3);
    expect(four.get("n")).to.equal(4);
    expect(o.items.indexOf(one), "the same blocks, so the same view").to.be.above(0);
    one.n = 11;
    expect((toPlain(o.items) as Fields[]).filter((v) => v?.n === 11)).to.have.length(1);
  });

  it("should move cells, not re-encode them: a drain by shift never allocates", () => {
    o.q = Array.from({ length: 2000 }, (_, i) => ({ i, s: `m${i}`, tags: [i] }));
    const q = o.q;
    const out: unknown[] = [];
    let blocks = t.store.heap.liveBlocks();
    while (q.length) {
      out.push(q.shift());
      const now = t.store.heap.liveBlocks();
      expect(now).to.be.below(blocks);
      blocks = now;
    }
    expect(out).to.have.length(2000);
    expect(out[1999]).to.deep.equal({ i: 1999, s: "m1999", tags: [1999] });
  });

  it("should refuse a bad inserted value, leaving the array and the heap unchanged", () => {
    o.items = [1, { a: [2] }, "three"];
    const live = t.store.heap.liveBlocks();
    const bad = { ok: [1], no: () => 0 };
    expect(() => o.items.unshift({ fine: 1 }, bad)).to.throw(TypeError, /field 'items\[1\]\.no': .*function/);
    expect(() => o.items.splice(1, 1, [1], Symbol("s"))).to.throw(TypeError, /field 'items\[2\]': .*symbol/);
    expect(() => o.items.fill(new WeakMap(), 1)).to.throw(TypeError, /WeakMap/);
    expect(() => o.items.push(bad)).to.throw(TypeError);
    expect(() => o.items.sort(42)).to.throw(TypeError, /comparison function/);
    expect(() => o.items.sort(() => { throw new Error("cmp"); })).to.throw(/cmp/);
    expect(() => o.items.sort(() => ((o.items[0] = "changed"), 0))).to.throw(TypeError, /changed while it was being sorted/);
    o.items[0] = 1;
    expect(toPlain(o.items)).to.deep.equal([1, { a: [2] }, "three"]);
    expect(t.store.heap.liveBlocks()).to.equal(live);
  });

  it("should copy, not alias, in fill and copyWithin, even from an element of the array itself", () => {
    o.items = [{ a: [1] }, 2, 3];
    o.items.fill(o.items[0], 1);
    o.items.copyWithin(0, 2);
    o.items[1].a.push(5);
    expect(toPlain(o.items)).to.deep.equal([{ a: [1] }, { a: [1, 5] }, { a: [1] }]);
    o.items = 0;
    expect(t.store.heap.liveBlocks()).to.equal(1);
  });

  it("should keep the methods generic on other arrays, like Array.prototype's", () => {
    o.items = [3, 1, 2];
    const plain = [5, 4];
    expect(o.items.shift.call(plain)).to.equal(5);
    expect(o.items.sort.call([2, 1])).to.deep.equal([1, 2]);
    expect(o.items.splice.name).to.equal("splice");
    expect(Array.prototype.slice.call(o.items.sort())).to.deep.equal([1, 2, 3]);
  });
});
