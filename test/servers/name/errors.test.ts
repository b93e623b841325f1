import { expect } from "chai";
import { fromWireError, toWireError } from "../../../ra-kernel/clouds-error.js";
import {
  BadPathError,
  DirectoryNotEmptyError,
  NameExistsError,
  NameNotFoundError,
  NotADirectoryError,
} from "../../../servers/name/errors.js";

describe("name errors", () => {
  it("should cross the wire as the same class with its fields", () => {
    const cases = [
      new NameExistsError("exists", { path: "/a" }),
      new NameNotFoundError("missing", { path: "/a" }),
      new NotADirectoryError("not dir", { path: "/a" }),
      new DirectoryNotEmptyError("not empty", { path: "/a" }),
    ];
    for (const err of cases) {
      const back = fromWireError(JSON.parse(JSON.stringify(toWireError(err, "ns1"))));
      expect(back).to.be.instanceOf(err.constructor);
      expect((back as NameExistsError).path).to.equal("/a");
      expect(back.server).to.equal("ns1");
    }
    const bad = fromWireError(toWireError(new BadPathError("bad", { path: "/a b", reason: "space" })));
    expect(bad).to.be.instanceOf(BadPathError);
    expect(bad).to.include({ path: "/a b", reason: "space" });
  });
});
