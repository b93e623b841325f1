import { expect } from "chai";
import type { PersistentClass } from "../../ra-kernel/class-loader.js";
import { constructWith } from "../../objects/clouds-object.js";
import { instanceProxy } from "../../objects/instance-proxy.js";
import { newStore, storeOverCopies, type TestStore } from "../support/object-memory.js";
import { createIn, fixtureClass, selfOf, type Self } from "../support/persistent-objects.js";
import { RecordingContext } from "../support/recording-context.js";

describe("CloudsObject", () => {
  let Counter: PersistentClass;
  let t: TestStore;

  before(async () => {
    Counter = await fixtureClass("counter.ts", "Counter");
  });

  beforeEach(() => {
    t = newStore();
  });

  it("should run field initializers and the constructor body into the store", () => {
    createIn(t.store, Counter, ["first", 41]);
    expect(t.store.names()).to.deep.equal(["count", "label", "step"]);
    expect([t.store.get("count"), t.store.get("label"), t.store.get("step")]).to.deep.equal([41, "first", 1]);
  });

  it("should return the object's proxy from the constructor", () => {
    const made = createIn(t.store, Counter, ["p", 1]);
    expect(made.bump()).to.equal(2);
    expect(t.store.get("count")).to.equal(2);
  });

  it("should let later proxies see the fields without running the constructor again", () => {
    createIn(t.store, Counter, ["c", 5]);
    selfOf(t.store, Counter).bump();
    const later = selfOf(t.store, Counter);
    expect(later.count).to.equal(6);
    expect(later.bump()).to.equal(7);
    expect(t.store.names()).to.deep.equal(["count", "label", "step"]);
  });

  it("should keep the object in its pages: another server's copies see it", () => {
    createIn(t.store, Counter, ["c", 5]);
    selfOf(t.store, Counter).bump();
    const other = storeOverCopies(t);
    expect(selfOf(other.store, Counter).describe()).to.equal("c:6");
  });

  it("should refuse the new operator outside constructWith", () => {
    expect(() => new Counter("x", 1)).to.throw(TypeError, /^Counter is a persistent class: create its objects with 'new Counter Name'/);
  });

  it("should give one constructWith exactly one object", () => {
    expect(() => constructWith(t.store, () => [Reflect.construct(Counter, ["a", 1]), Reflect.construct(Counter, ["b", 2])])).to.throw(
      TypeError,
      /persistent class/,
    );
    expect(t.store.get("label")).to.equal("a");
  });

  it("should print the values of fields holding views, not the views' proxies", async () => {
    createIn(t.store, Counter, ["c", 5]);
    const ctx = new RecordingContext();
    const self = instanceProxy<Self>(t.store, Counter.prototype, ctx);
    self.items = [1, 2];
    self.raw = new Uint8Array([7, 8]);
    await self.print("got", self.items, self.raw);
    expect(ctx.calls).to.deep.equal([{ op: "thread.print", args: { text: "got [ 1, 2 ] Uint8Array(2) [ 7, 8 ]" } }]);
  });

  it("should forget the store when the creation throws before the constructor runs", () => {
    expect(() => constructWith(t.store, () => { throw new Error("before"); })).to.throw("before");
    expect(() => new Counter("x", 1)).to.throw(TypeError, /persistent class/);
    expect(t.store.names()).to.deep.equal([]);
  });
});
