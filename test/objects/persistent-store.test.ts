import { expect } from "chai";
import { NO_FIELD, checkStorable } from "../../objects/persistent-store.js";
import { newStore, storeOverCopies, type TestStore } from "../support/object-memory.js";
import { PersistentStore } from "../../objects/persistent-store.js";

const STORABLE: [string, unknown][] = [
  ["zero", 0],
  ["negativeZero", -0],
  ["fraction", -1234.5625],
  ["nan", NaN],
  ["infinity", Infinity],
  ["minusInfinity", -Infinity],
  ["huge", Number.MAX_VALUE],
  ["tiny", Number.MIN_VALUE],
  ["unsafeInteger", 2 ** 53 + 2],
  ["empty", ""],
  ["ascii", "hello"],
  ["unicode", "héllo wörld — 日本語 🎉"],
  ["nul", "a\u0000b"],
  ["long", "x".repeat(10 * 1024)],
  ["longUnicode", "€🎉".repeat(1500)],
  ["yes", true],
  ["no", false],
  ["nothing", null],
  ["missing", undefined],
];
// Nested and boxed values (deep-compared; see test/objects/persistent-heap.test.ts for more).
const STORABLE_DEEP: [string, unknown][] = [
  ["big", 10n ** 40n],
  ["when", new Date(1234)],
  ["bytes", new Uint8Array([1, 2, 3])],
  ["list", [1, "two", [3]]],
  ["record", { a: 1, b: { c: null } }],
  ["map", new Map([["k", 1]])],
  ["set", new Set([1, "x"])],
  ["nullProto", Object.assign(Object.create(null), { q: 1 })],
];

class Foreign {}

const UNSTORABLE: [unknown, string][] = [
  [() => 1, "function"],
  [Symbol("s"), "symbol"],
  [new Foreign(), "Foreign"],
  [new WeakMap(), "WeakMap"],
  [new Int32Array(2), "Int32Array"],
  [Promise.resolve(), "Promise"],
];
const UNSTORABLE_NESTED: [unknown, string][] = [[{ a: 1, b: [2, { c: () => 0 }] }, "bad.b[1].c"]];

describe("PersistentStore", () => {
  let t: TestStore;

  beforeEach(() => {
    t = newStore();
  });

  it("should answer NO_FIELD for a name never assigned", () => {
    expect(t.store.get("x")).to.equal(NO_FIELD);
    expect(t.store.has("x")).to.equal(false);
    expect(t.store.names()).to.deep.equal([]);
  });

  it("should round-trip every storable value", () => {
    for (const [name, value] of STORABLE) t.store.set(name, value);
    for (const [name, value] of STORABLE) {
      expect(Object.is(t.store.get(name), value), `${name}: got ${String(t.store.get(name)).slice(0, 40)}`).to.equal(true);
    }
  });

  it("should hold undefined as a field, not as a missing one", () => {
    t.store.set("u", undefined);
    expect(t.store.has("u")).to.equal(true);
    expect(t.store.get("u")).to.equal(undefined);
  });

  it("should let a field change type", () => {
    const seq: unknown[] = ["a", 1, null, "long".repeat(300), true, undefined, "", -0];
    for (const v of seq) {
      t.store.set("f", v);
      expect(Object.is(t.store.get("f"), v)).to.equal(true);
    }
    expect(t.store.names()).to.deep.equal(["f"]);
  });

  it("should free a string's block when the field is overwritten", () => {
    t.store.set("s", "first");
    const live = t.store.heap.liveBlocks();
    for (let i = 0; i < 1000; i++) t.store.set("s", "y".repeat(i * 7 % 3000));
    expect(t.store.heap.liveBlocks()).to.equal(live);
    t.store.set("s", 5);
    expect(t.store.heap.liveBlocks()).to.equal(live - 1);
  });

  it("should list names in the order they were first assigned", () => {
    for (const name of ["b", "a", "c"]) t.store.set(name, 1);
    t.store.set("a", "again");
    t.store.set("b", null);
    expect(t.store.names()).to.deep.equal(["b", "a", "c"]);
  });

  it("should keep a field table that spans pages", () => {
    for (let i = 0; i < 300; i++) t.store.set(`field${i}`, i % 2 ? `v${i}` : i);
    const fresh = new PersistentStore(t.data.mem, t.heap.mem);
    expect(fresh.names()).to.have.length(300);
    expect(fresh.get("field127")).to.equal("v127");
    expect(fresh.get("field128")).to.equal(128);
    expect(fresh.get("field299")).to.equal("v299");
  });

  it("should throw a RangeError when the data segment has no room for another field", () => {
    const small = newStore({ dataPages: 1 });
    for (let i = 0; i < 127; i++) small.store.set(`f${i}`, i);
    expect(() => small.store.set("oneTooMany", 1)).to.throw(RangeError, /too many fields/);
    expect(small.store.names()).to.have.length(127);
    expect(small.store.get("f126")).to.equal(126);
  });

  it("should refuse unstorable values with a TypeError naming the field and the type", () => {
    for (const [value, type] of UNSTORABLE) {
      expect(() => t.store.set("bad", value)).to.throw(TypeError, new RegExp(`field 'bad': cannot store a value of type ${type}\\b`));
    }
    for (const [value, path] of UNSTORABLE_NESTED) expect(() => t.store.set("bad", value)).to.throw(TypeError, `field '${path}': cannot store a value of type function`);
    expect(t.store.has("bad")).to.equal(false);
    expect(t.store.names()).to.deep.equal([]);
  });

  it("should leave the previous value and the field count unchanged when refusing a value", () => {
    t.store.set("kept", "old string");
    t.store.set("other", 3);
    const live = t.store.heap.liveBlocks();
    for (const [value] of UNSTORABLE) {
      expect(() => t.store.set("kept", value)).to.throw(TypeError);
      expect(t.store.get("kept")).to.equal("old string");
    }
    expect(t.store.names()).to.deep.equal(["kept", "other"]);
    expect(t.store.heap.liveBlocks()).to.equal(live);
  });

  it("should let checkStorable accept exactly the storable values", () => {
    for (const [name, value] of [...STORABLE, ...STORABLE_DEEP]) expect(() => checkStorable(name, value)).to.not.throw();
    for (const [value] of UNSTORABLE) expect(() => checkStorable("f", value)).to.throw(TypeError);
  });

  it("should be read the same by a second store over copies of its pages", () => {
    for (const [name, value] of STORABLE) t.store.set(name, value);
    const other = storeOverCopies(t);
    expect(other.store.names()).to.deep.equal(STORABLE.map(([name]) => name));
    for (const [name, value] of STORABLE) expect(Object.is(other.store.get(name), value), name).to.equal(true);
    expect(other.faulter.faults).to.equal(0);
  });

  it("should let a second store over copies carry on writing", () => {
    t.store.set("s", "one");
    const other = storeOverCopies(t);
    other.store.set("s", "two");
    other.store.set("n", 2);
    expect(other.store.get("s")).to.equal("two");
    expect(other.store.names()).to.deep.equal(["s", "n"]);
    expect(other.store.heap.liveBlocks()).to.equal(t.store.heap.liveBlocks() + 1);
    expect(t.store.get("s")).to.equal("one");
  });

  it("should find a field appended by another store over the same frames", () => {
    const b = new PersistentStore(t.data.mem, t.heap.mem);
    t.store.set("x", 1);
    expect(b.get("x")).to.equal(1);
    t.store.set("y", "from A");
    t.store.set("x", 2);
    expect(b.get("y")).to.equal("from A");
    expect(b.get("x")).to.equal(2);
    expect(b.has("z")).to.equal(false);
    t.store.set("z", true);
    expect(b.names()).to.deep.equal(["x", "y", "z"]);
  });

  // Regression (found and fixed): objects/value-cell.ts writeCell (line 61) frees the old string's heap block before
  // allocating the new one (line 66). When the allocation fails (heap full), the cell still
  // says STRING at the freed block: the field now reads "\u0000\u0000\u0000" instead of "abc",
  // and every later assignment throws "heap corruption: double free". Should allocate the new
  // string first and release the old block only after the cell is rewritten.
  it("should leave a string field intact when the heap has no room for its new value", () => {
    const small = newStore({ heapPages: 2 });
    small.store.set("s", "abc");
    expect(() => small.store.set("s", "x".repeat(10_000))).to.throw(RangeError, /heap is full/);
    expect(small.store.get("s")).to.equal("abc");
    small.store.set("s", "y");
    expect(small.store.get("s")).to.equal("y");
  });
});
