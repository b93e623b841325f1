import { expect } from "chai";
import { setOwn } from "../../objects/own-property.js";
import { instanceProxy } from "../../objects/instance-proxy.js";
import { toPlain } from "../../objects/to-plain.js";
import { fieldSnapshot } from "../../objects/field-snapshot.js";
import { newStore } from "../support/object-memory.js";

describe("setOwn", () => {
  it("should make __proto__ an own property, not the object's prototype", () => {
    const out: Record<string, unknown> = {};
    setOwn(out, "__proto__", { evil: 1 });
    setOwn(out, "ok", 2);
    expect(Object.getPrototypeOf(out)).to.equal(Object.prototype);
    expect(Object.keys(out)).to.deep.equal(["__proto__", "ok"]);
    expect((out as { evil?: unknown }).evil).to.equal(undefined);
  });

  // Regression: a record field with a "__proto__" key (a storable record) lost it when
  // copied out of object memory (a result, a print, inspect): the copy took it as its prototype.
  it("should keep a __proto__ key of a record field in its copy, and in the field snapshot", () => {
    const t = newStore();
    const self = instanceProxy<{ words: Record<string, unknown> }>(t.store, Object.prototype);
    self.words = JSON.parse('{"__proto__": {"evil": 1}, "ok": 2}') as Record<string, unknown>;
    const copy = toPlain(self.words) as Record<string, unknown>;
    expect(Object.keys(copy)).to.deep.equal(["__proto__", "ok"]);
    expect(Object.getPrototypeOf(copy)).to.equal(Object.prototype);
    const snapshot = fieldSnapshot(t.store, {}) as Record<string, Record<string, unknown>>;
    expect(Object.keys(snapshot.words)).to.deep.equal(["__proto__", "ok"]);
  });
});
