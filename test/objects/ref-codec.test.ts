/**
 * Tests of RefCodec (objects/ref-codec.ts): references anywhere in a value go to the wire as
 * { $ref } and come back as references; values without references are passed through as is.
 */
import { expect } from "chai";
import { asServerId, newSysName } from "../../ra-kernel/ids.js";
import { refTo, sysnameOfRef } from "../../objects/object-ref.js";
import { decodeRefs, encodeArgs, encodeRefs } from "../../objects/ref-codec.js";

describe("RefCodec", () => {
  const s1 = newSysName(asServerId("ds1"));
  const s2 = newSysName(asServerId("ds1"));

  it("should encode references at any depth, in arrays, objects, Maps and Sets", () => {
    const value = { a: refTo(s1), list: [1, refTo(s2)], m: new Map([["k", refTo(s1)]]), s: new Set([refTo(s2)]), d: new Date(0) };
    const wire = encodeRefs(value) as Record<string, unknown>;
    expect(wire.a).to.deep.equal({ $ref: s1 });
    expect(wire.list).to.deep.equal([1, { $ref: s2 }]);
    expect([...(wire.m as Map<string, unknown>)]).to.deep.equal([["k", { $ref: s1 }]]);
    expect([...(wire.s as Set<unknown>)]).to.deep.equal([{ $ref: s2 }]);
    expect(wire.d).to.equal(value.d);
  });

  it("should decode { $ref } into references and leave the rest", () => {
    const back = decodeRefs({ x: [{ $ref: s1 }], y: { $ref: "not a sysname" } }, refTo) as { x: unknown[]; y: unknown };
    expect(sysnameOfRef(back.x[0])).to.equal(s1);
    expect(back.y).to.deep.equal({ $ref: "not a sysname" });
  });

  it("should return a value without references unchanged (no copy)", () => {
    const v = { a: [1, 2, { b: "c" }], m: new Map([[1, 2]]) };
    expect(encodeRefs(v)).to.equal(v);
    expect(decodeRefs(v, refTo)).to.equal(v);
  });

  it("should drop trailing undefined arguments, which the wire would turn into null", () => {
    expect(encodeArgs([1, undefined, 2, undefined, undefined])).to.deep.equal([1, undefined, 2]);
  });

  it("should survive cycles", () => {
    const a: Record<string, unknown> = { r: refTo(s1) };
    a.self = a;
    const wire = encodeRefs(a) as Record<string, unknown>;
    expect(wire.r).to.deep.equal({ $ref: s1 });
  });
});
