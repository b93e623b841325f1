/**
 * Tests of fillNewFields (objects/class-upgrade.ts): the field half of a versioned class
 * upgrade, on object memory in one thread (test/fixtures/upgrade/evolving-v1.ts and -v2.ts).
 */
import { expect } from "chai";
import type { PersistentClass } from "../../ra-kernel/class-loader.js";
import { fillNewFields } from "../../objects/class-upgrade.js";
import { newStore, type TestStore } from "../support/object-memory.js";
import { createIn, fixtureClass, selfOf } from "../support/persistent-objects.js";

describe("fillNewFields", () => {
  let V1: PersistentClass;
  let V2: PersistentClass;
  let t: TestStore;

  before(async () => {
    V1 = await fixtureClass("upgrade/evolving-v1.ts", "Evolving");
    V2 = await fixtureClass("upgrade/evolving-v2.ts", "Evolving");
  });

  beforeEach(() => {
    t = newStore();
    createIn(t.store, V1);
    selfOf(t.store, V1).set(5, "five");
  });

  it("should add the fields the new version initializes, with their initial values", () => {
    expect(fillNewFields(t.store, V2)).to.deep.equal(["c", "tags"]);
    expect(t.store.names()).to.deep.equal(["a", "b", "c", "tags"]);
    expect(selfOf(t.store, V2).read()).to.deep.equal({ a: 5, b: "five", c: 7, tags: ["v2"] });
  });

  it("should never overwrite an existing field, even one the constructor would set", () => {
    fillNewFields(t.store, V2);
    expect(t.store.get("a")).to.equal(5);
    expect(t.store.get("b")).to.equal("five");
  });

  it("should be idempotent: a second upgrade adds nothing and keeps later writes", () => {
    fillNewFields(t.store, V2);
    expect(selfOf(t.store, V2).sum()).to.equal(12);
    expect(fillNewFields(t.store, V2)).to.deep.equal([]);
    expect(selfOf(t.store, V2).read()).to.deep.equal({ a: 5, b: "five", c: 7, tags: ["v2", "summed"] });
  });

  it("should add nothing when the new version has no new fields", () => {
    expect(fillNewFields(t.store, V1)).to.deep.equal([]);
  });
});
