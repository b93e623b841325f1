/**
 * The data server's errors cross processes: each is rebuilt by name, with its fields.
 */
import { expect } from "chai";
import { fromWireError, toWireError } from "../../../ra-kernel/clouds-error.js";
import {
  BadPageSizeError,
  ClassNotFoundError,
  CorruptPageError,
  ObjectNotFoundError,
  PageOutOfRangeError,
  SegmentNotFoundError,
} from "../../../servers/data/errors.js";

describe("data server errors", () => {
  const cases = [
    new SegmentNotFoundError("no segment", { sysname: "sys:ds1:X" }),
    new PageOutOfRangeError("out of range", { segment: "sys:ds1:X", page: 9 }),
    new BadPageSizeError("bad size", { segment: "sys:ds1:X", page: 1, size: 12 }),
    new CorruptPageError("corrupt", { segment: "sys:ds1:X", page: 2 }),
    new ObjectNotFoundError("no object", { sysname: "sys:ds1:Y" }),
    new ClassNotFoundError("no class", { className: "Rectangle", version: null }),
  ];

  for (const err of cases) {
    it(`should rebuild ${err.name} by name with its fields`, () => {
      const rebuilt = fromWireError(toWireError(err, "ds1"));
      expect(rebuilt).to.be.instanceOf(err.constructor);
      expect(rebuilt.name).to.equal(err.name);
      expect(rebuilt.message).to.equal(err.message);
      expect(rebuilt.wireFields()).to.deep.equal(err.wireFields());
      expect(rebuilt.server).to.equal("ds1");
    });
  }
});
