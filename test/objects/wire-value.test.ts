import { expect } from "chai";
import { fromWire, toWire, WireValueError } from "../../objects/wire-value.js";

/** What JSON (socket.io's text part) makes of a wire form. */
const overJson = (v: unknown): unknown => fromWire(JSON.parse(JSON.stringify(toWire(v))));

describe("WireValue", () => {
  it("should carry bigint, Date, Map, Set, undefined and special numbers through JSON", () => {
    const v = [1n, new Date(3), new Map<unknown, unknown>([[1n, new Set([undefined])]]), [undefined, NaN, -0, -Infinity], { a: undefined }];
    expect(overJson(v)).to.deep.equal(v);
  });

  it("should escape plain objects that look like tags", () => {
    const v = { $map: [1] };
    expect(overJson(v)).to.deep.equal(v);
    expect(overJson({ $obj: 1 })).to.deep.equal({ $obj: 1 });
  });

  it("should return plain values as they are (no copy)", () => {
    const v = { a: [1, "x", { b: true }], c: { $ref: "sys:ds1:x" } };
    expect(toWire(v)).to.equal(v);
    expect(fromWire(v)).to.equal(v);
  });

  it("should refuse malformed tags and values nested too deep", () => {
    for (const bad of [{ $bigint: "1.5" }, { $bigint: 1 }, { $date: "x" }, { $map: [[1]] }, { $set: 3 }, { $num: "7" }, { $obj: [] }]) {
      expect(() => fromWire(bad), JSON.stringify(bad)).to.throw(WireValueError);
    }
    let deep: unknown = 1;
    for (let i = 0; i < 300; i++) deep = [deep];
    expect(() => fromWire(deep)).to.throw(WireValueError, /deeper/);
  });

  it("should refuse a cyclic value with a TypeError", () => {
    const a: unknown[] = [];
    a.push(a);
    expect(() => toWire(a)).to.throw(TypeError, /cyclic/);
  });
});
