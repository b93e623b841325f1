import { expect } from "chai";
import type { PersistentClass } from "../../ra-kernel/class-loader.js";
import { newStore, type TestStore } from "../support/object-memory.js";
import { createIn, fixtureClass, selfOf, type Self } from "../support/persistent-objects.js";

describe("InstanceProxy", () => {
  let Counter: PersistentClass;
  let t: TestStore;
  let self: Self;

  before(async () => {
    Counter = await fixtureClass("counter.ts", "Counter");
  });

  beforeEach(() => {
    t = newStore();
    createIn(t.store, Counter, ["c", 10]);
    self = selfOf(t.store, Counter);
  });

  it("should read fields from the store and methods from the prototype", () => {
    expect(self.count).to.equal(10);
    expect(self.bump).to.equal(Counter.prototype.bump);
    expect(Object.getPrototypeOf(self)).to.equal(Counter.prototype);
    expect(self).to.be.instanceOf(Counter);
  });

  it("should run methods with the proxy as this, writing fields to the store", () => {
    expect(self.bump()).to.equal(11);
    expect(t.store.get("count")).to.equal(11);
    expect(self.describe()).to.equal("c:11");
    expect(self.summary).to.equal("c=11");
  });

  it("should store assignments and defined properties as fields", () => {
    self.label = "renamed";
    Object.defineProperty(self, "extra", { value: 7, writable: true, enumerable: true, configurable: true });
    expect(t.store.get("label")).to.equal("renamed");
    expect(t.store.get("extra")).to.equal(7);
  });

  it("should list the fields as own keys, and as an object's spread", () => {
    expect(Object.keys(self)).to.deep.equal(["count", "label", "step"]);
    expect({ ...self }).to.deep.equal({ count: 10, label: "c", step: 1 });
    expect(Object.getOwnPropertyDescriptor(self, "label")).to.deep.equal({ value: "c", writable: true, enumerable: true, configurable: true });
    expect(Object.getOwnPropertyDescriptor(self, "bump")).to.equal(undefined);
  });

  it("should answer `in` for fields and methods", () => {
    expect("count" in self).to.equal(true);
    expect("bump" in self).to.equal(true);
    expect("nope" in self).to.equal(false);
  });

  it("should refuse to assign to a method name, from outside or inside the class", () => {
    expect(() => { self.bump = 1; }).to.throw(TypeError, /^Counter\.bump: is a method of the class, not a field$/);
    expect(() => self.clobberMethod()).to.throw(TypeError, /Counter\.bump: is a method/);
    expect(() => { self.summary = "x"; }).to.throw(TypeError, /Counter\.summary: is a method/);
    expect(t.store.names()).to.deep.equal(["count", "label", "step"]);
  });

  it("should refuse symbol-keyed properties, naming the class and the key", () => {
    expect(() => { self[Symbol("tag")] = 1; }).to.throw(TypeError, /^Counter\.Symbol\(tag\): symbol-keyed properties cannot be persistent$/);
  });

  it("should refuse accessor properties", () => {
    expect(() => Object.defineProperty(self, "z", { get: () => 1 })).to.throw(TypeError, /^Counter\.z: accessor properties cannot be persistent$/);
    expect(t.store.has("z")).to.equal(false);
  });

  it("should refuse to delete a field", () => {
    expect(() => delete self.count).to.throw(TypeError, /^Counter\.count: persistent fields cannot be deleted/);
    expect(self.count).to.equal(10);
  });

  it("should refuse to change the prototype", () => {
    expect(() => Object.setPrototypeOf(self, {})).to.throw(TypeError, /^Counter\.prototype: cannot be changed$/);
    expect(Object.getPrototypeOf(self)).to.equal(Counter.prototype);
  });

  it("should refuse an unstorable value and keep the fields written before it", () => {
    const fields = self as unknown as { label: string; count: unknown };
    fields.label = "new";
    expect(() => (fields.count = { n: 1, f: () => 0 })).to.throw(TypeError, /field 'count\.f': cannot store a value of type function/);
    expect(self.label).to.equal("new");
    expect(self.count).to.equal(10);
    expect(t.store.names()).to.deep.equal(["count", "label", "step"]);
  });
});
