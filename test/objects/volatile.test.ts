/**
 * Tests of @volatile (objects/volatile.ts), its routing in InstanceProxy (FieldRouter), its
 * initial values (initVolatileFields) and its absence from class upgrades, on object memory
 * in one thread (test/fixtures/visits.ts).
 */
import { expect } from "chai";
import type { PersistentClass } from "../../ra-kernel/class-loader.js";
import { volatile, volatileFieldsOf } from "../../objects/volatile.js";
import { initVolatileFields } from "../../objects/initial-values.js";
import { fillNewFields } from "../../objects/class-upgrade.js";
import { constructWith } from "../../objects/clouds-object.js";
import { instanceProxy } from "../../objects/instance-proxy.js";
import { scratchStore } from "../../objects/scratch-store.js";
import { newStore, type TestStore } from "../support/object-memory.js";
import { fixtureClass, type Self } from "../support/persistent-objects.js";

describe("@volatile", () => {
  let Visits: PersistentClass;
  let t: TestStore;

  before(async () => {
    Visits = await fixtureClass("visits.ts", "Visits");
  });

  beforeEach(() => {
    t = newStore();
  });

  it("should list a class's volatile fields, inherited ones too", () => {
    class A { x = 1; }
    volatile(A.prototype, "x");
    class B extends A { y = 2; }
    volatile(B.prototype, "y");
    expect([...volatileFieldsOf(B)]).to.have.members(["x", "y"]);
    expect([...volatileFieldsOf(A)]).to.deep.equal(["x"]);
    expect(volatileFieldsOf(Visits)).to.have.all.keys("hits", "seen", "byWho");
  });

  it("should refuse a static field or a symbol name", () => {
    class C {}
    expect(() => volatile(C, "n")).to.throw(TypeError, /'n' is static/);
    expect(() => volatile(C.prototype, Symbol("s"))).to.throw(TypeError, /string name/);
  });

  it("should keep volatile fields in the volatile store and the others in the persistent one", () => {
    const vol = scratchStore("test-volatile");
    const self = constructWith(t.store, () => Reflect.construct(Visits, [4]), undefined, vol) as Self;
    expect(t.store.names()).to.deep.equal(["total"]);
    expect(vol.names()).to.deep.equal(["hits", "seen", "byWho"]);
    expect(self.hit("ana")).to.deep.equal({ hits: 1, total: 5, seen: ["ana"], mine: 1 });
    expect(Object.keys(self)).to.deep.equal(["total", "hits", "seen", "byWho"]);
  });

  it("should start a new volatile store from the initial values, keeping the persistent fields", () => {
    constructWith(t.store, () => Reflect.construct(Visits, [4]), undefined, scratchStore("first"));
    const next = scratchStore("second");
    initVolatileFields(next, Visits);
    expect(next.get("hits")).to.equal(0);
    const self = instanceProxy<Self>(t.store, Visits.prototype, undefined, next);
    expect(self.hit("bo")).to.deep.equal({ hits: 1, total: 5, seen: ["bo"], mine: 1 });
    expect(t.store.names()).to.deep.equal(["total"]);
  });

  it("should never make a volatile field persistent in a class upgrade", () => {
    t.store.set("total", 9);
    expect(fillNewFields(t.store, Visits)).to.deep.equal([]);
    expect(t.store.names()).to.deep.equal(["total"]);
  });
});
