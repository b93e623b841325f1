import { expect } from "chai";
import { NotTransferableError } from "../../ra-kernel/errors.js";
import { checkValueSize, cutPrintText, MAX_PRINT, MAX_VALUE_BYTES, weighUpTo } from "../../ra-kernel/value-size.js";

describe("value-size", () => {
  describe("weighUpTo", () => {
    it("should weigh strings at two bytes a character, typed arrays at their bytes, other items at 8", () => {
      expect(weighUpTo("abcd", Infinity)).to.equal(8 + 8);
      expect(weighUpTo(new Uint8Array(100), Infinity)).to.equal(8 + 100);
      expect(weighUpTo([1, "ab", null], Infinity)).to.equal(8 + 8 + (8 + 4) + 8);
      expect(weighUpTo({ k: 1 }, Infinity)).to.equal(8 + (8 + 2) + 8);
      expect(weighUpTo(new Map([["a", 1]]), Infinity)).to.equal(8 + (8 + 2) + 8);
      expect(weighUpTo(new Set([1, 2]), Infinity)).to.equal(8 + 8 + 8);
    });

    it("should stop as soon as the bound is passed, and count a shared or cyclic object once", () => {
      const big = Array.from({ length: 1_000_000 }, (_, i) => i);
      expect(weighUpTo(big, 1_000)).to.be.greaterThan(1_000).and.below(2_000);
      const cyclic: unknown[] = [];
      cyclic.push(cyclic, cyclic);
      expect(weighUpTo(cyclic, Infinity)).to.equal(8 + 8 + 8);
    });
  });

  describe("checkValueSize", () => {
    it("should refuse a value past MAX_VALUE_BYTES with NotTransferableError naming whose it is", () => {
      expect(() => checkValueSize("x".repeat(MAX_VALUE_BYTES / 2), "the result of f")).to.throw(NotTransferableError, /^the result of f cannot leave the object: it is larger than 16 MiB/);
      expect(() => checkValueSize({ nested: ["x".repeat(1000)] }, "the result of f")).to.not.throw();
    });
  });

  describe("cutPrintText", () => {
    it("should keep a short text and cut a long one, saying how much was cut", () => {
      expect(cutPrintText("hello")).to.equal("hello");
      const cut = cutPrintText("y".repeat(MAX_PRINT + 10));
      expect(cut).to.have.length(MAX_PRINT + "… (10 more characters cut)".length);
      expect(cut.endsWith("… (10 more characters cut)")).to.equal(true);
    });
  });
});
