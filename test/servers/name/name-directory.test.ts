import { expect } from "chai";
import { BadPathError } from "../../../servers/name/errors.js";
import {
  ancestorsOf,
  baseName,
  isWithin,
  joinPath,
  MAX_PATH_LENGTH,
  normalizePath,
  parentOf,
} from "../../../servers/name/name-directory.js";

function badPath(fn: () => unknown): BadPathError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(BadPathError);
    return err as BadPathError;
  }
  return expect.fail("expected a BadPathError");
}

describe("NameDirectory paths", () => {
  describe("normalizePath", () => {
    it("should make a plain name absolute", () => {
      expect(normalizePath("RectA")).to.equal("/RectA");
      expect(normalizePath("users/ana")).to.equal("/users/ana");
    });

    it("should collapse repeated slashes and drop a trailing one", () => {
      expect(normalizePath("//users///ana/")).to.equal("/users/ana");
      expect(normalizePath("/")).to.equal("/");
      expect(normalizePath("///")).to.equal("/");
    });

    it("should accept the allowed characters", () => {
      expect(normalizePath("/A-z_0.9/...x")).to.equal("/A-z_0.9/...x");
    });

    it("should refuse an empty path, dot components and other characters", () => {
      expect(badPath(() => normalizePath("")).reason).to.match(/empty/);
      expect(badPath(() => normalizePath("/a/../b")).path).to.equal("/a/../b");
      badPath(() => normalizePath("/a/./b"));
      badPath(() => normalizePath(".."));
      badPath(() => normalizePath("/a b"));
      badPath(() => normalizePath("/é"));
      badPath(() => normalizePath("/a\\b"));
      badPath(() => normalizePath("/a\u0000"));
    });

    it("should refuse a path over 1024 characters", () => {
      const ok = `/${"a".repeat(MAX_PATH_LENGTH - 1)}`;
      expect(normalizePath(ok)).to.equal(ok);
      expect(badPath(() => normalizePath(`${ok}b`)).reason).to.match(/longer/);
      const err = badPath(() => normalizePath("/x".repeat(10_000)));
      expect(err.path.length).to.be.lessThan(300);
    });

    it("should refuse a value that is not a string", () => {
      badPath(() => normalizePath(42 as unknown as string));
    });
  });

  describe("joinPath", () => {
    it("should resolve a relative path against the cwd", () => {
      expect(joinPath("/users/ana", "RectA")).to.equal("/users/ana/RectA");
      expect(joinPath("/users/ana", "./x/./y")).to.equal("/users/ana/x/y");
      expect(joinPath("/users/ana", "../bob")).to.equal("/users/bob");
      expect(joinPath("/users/ana", "")).to.equal("/users/ana");
    });

    it("should ignore the cwd for an absolute path and stop at the root", () => {
      expect(joinPath("/users/ana", "/sys/servers")).to.equal("/sys/servers");
      expect(joinPath("/a", "../../..")).to.equal("/");
      expect(joinPath("/", "..")).to.equal("/");
      expect(joinPath("/a", "/b/../c")).to.equal("/c");
    });

    it("should refuse bad components", () => {
      badPath(() => joinPath("/a", "b c"));
      badPath(() => joinPath("/a b", "c"));
    });
  });

  describe("parentOf, baseName, ancestorsOf, isWithin", () => {
    it("should split paths", () => {
      expect(parentOf("/a/b/c")).to.equal("/a/b");
      expect(parentOf("RectA")).to.equal("/");
      expect(parentOf("/")).to.equal(null);
      expect(baseName("/a/b/c")).to.equal("c");
      expect(baseName("/")).to.equal("");
      expect(ancestorsOf("/a/b/c")).to.deep.equal(["/a", "/a/b"]);
      expect(ancestorsOf("/a")).to.deep.equal([]);
    });

    it("should tell whether a path lies within a prefix", () => {
      expect(isWithin("/a/b", "/a")).to.equal(true);
      expect(isWithin("/a", "/a")).to.equal(true);
      expect(isWithin("/ab", "/a")).to.equal(false);
      expect(isWithin("/anything", "/")).to.equal(true);
    });
  });
});
