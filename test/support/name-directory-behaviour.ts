/**
 * The behaviour every NameDirectory must show, as one mocha suite that each implementation's
 * test file runs against its own fresh directory (`open`) and cleanup (`dispose`). Anything
 * a client can observe belongs here, so SqliteNameDirectory and InMemoryNameDirectory stay
 * interchangeable.
 */
import { expect } from "chai";
import { newSysName, type ServerId, type SysName } from "../../ra-kernel/ids.js";
import {
  BadPathError,
  DirectoryNotEmptyError,
  NameExistsError,
  NameNotFoundError,
  NotADirectoryError,
} from "../../servers/name/errors.js";
import type { Binding, BindingChange, NameDirectory } from "../../servers/name/name-directory.js";
import type { BindingRows } from "../../servers/name/tree-name-directory.js";
import { expectRejection } from "./expect-rejection.js";

export interface DirectoryFixture {
  open(): Promise<NameDirectory>;
  dispose(): Promise<void>;
}

const sys = (): SysName => newSysName("ds1" as ServerId);

const paths = (bindings: Binding[]): string[] => bindings.map((b) => b.path);

export function describeNameDirectoryBehaviour(fixture: DirectoryFixture): void {
  let dir: NameDirectory;

  beforeEach(async () => {
    dir = await fixture.open();
  });

  afterEach(async () => {
    await dir.close();
    await fixture.dispose();
  });

  describe("bind and lookup", () => {
    it("should bind a plain name under the root and look it up", async () => {
      const s = sys();
      const bound = await dir.bind("RectA", s, "object", { meta: { cls: "Rectangle" } });
      expect(bound).to.include({ path: "/RectA", sysname: s, kind: "object" });
      expect(bound.meta).to.deep.equal({ cls: "Rectangle" });
      expect(await dir.lookup("/RectA")).to.deep.equal(bound);
      expect(await dir.lookup("//RectA/")).to.deep.equal(bound);
    });

    it("should return null when looking up a missing name", async () => {
      expect(await dir.lookup("/nobody")).to.equal(null);
      expect(await dir.lookup("/no/such/deep/name")).to.equal(null);
    });

    it("should show the root as a directory", async () => {
      expect(await dir.lookup("/")).to.include({ path: "/", kind: "directory", sysname: null });
    });

    it("should create parent directories implicitly", async () => {
      await dir.bind("/users/ana/RectA", sys(), "object");
      expect(await dir.lookup("/users")).to.include({ kind: "directory", sysname: null });
      expect(await dir.lookup("/users/ana")).to.include({ kind: "directory" });
      expect(paths(await dir.list("/users"))).to.deep.equal(["/users/ana"]);
    });

    it("should refuse an existing name and keep the old binding", async () => {
      const first = await dir.bind("/a", sys(), "object");
      const err = await expectRejection(dir.bind("/a", sys(), "object"), NameExistsError);
      expect(err.path).to.equal("/a");
      expect(await dir.lookup("/a")).to.deep.equal(first);
    });

    it("should overwrite an existing name with replace", async () => {
      await dir.bind("/a", sys(), "object", { meta: { v: 1 } });
      const s = sys();
      await dir.bind("/a", s, "class", { meta: { v: 2 }, replace: true });
      expect(await dir.lookup("/a")).to.include({ sysname: s, kind: "class" });
      expect((await dir.lookup("/a"))?.meta).to.deep.equal({ v: 2 });
    });

    it("should refuse to bind below an object", async () => {
      await dir.bind("/a/obj", sys(), "object");
      const err = await expectRejection(dir.bind("/a/obj/x/y", sys(), "object"), NotADirectoryError);
      expect(err.path).to.equal("/a/obj");
      expect(await dir.lookup("/a/obj/x")).to.equal(null);
    });

    it("should refuse to replace a directory that has children by an object", async () => {
      await dir.bind("/d/child", sys(), "object");
      await expectRejection(dir.bind("/d", sys(), "object", { replace: true }), DirectoryNotEmptyError);
      expect(await dir.lookup("/d")).to.include({ kind: "directory" });
    });

    it("should keep the children when a directory is rebound as a directory", async () => {
      await dir.bind("/d/child", sys(), "object");
      await dir.bind("/d", null, "directory", { meta: { owner: "ana" }, replace: true });
      expect((await dir.lookup("/d"))?.meta).to.deep.equal({ owner: "ana" });
      expect(paths(await dir.list("/d"))).to.deep.equal(["/d/child"]);
    });

    it("should refuse to bind the root or a malformed path", async () => {
      await expectRejection(dir.bind("/", null, "directory"), BadPathError);
      await expectRejection(dir.bind("/a/../b", sys(), "object"), BadPathError);
      await expectRejection(dir.bind("/a b", sys(), "object"), BadPathError);
      expect(await dir.list("/")).to.deep.equal([]);
    });

    it("should refuse an object without a sysname", async () => {
      await expectRejection(dir.bind("/a", null, "object"), TypeError);
    });

    it("should not share meta objects with the caller", async () => {
      const meta = { nested: { n: 1 } };
      const bound = await dir.bind("/a", sys(), "object", { meta });
      meta.nested.n = 2;
      bound.meta.extra = true;
      const found = await dir.lookup("/a");
      expect(found?.meta).to.deep.equal({ nested: { n: 1 } });
      (found!.meta.nested as { n: number }).n = 3;
      expect((await dir.lookup("/a"))?.meta).to.deep.equal({ nested: { n: 1 } });
    });
  });

  describe("unbind", () => {
    it("should remove a binding and report it", async () => {
      await dir.bind("/x/a", sys(), "object");
      expect(await dir.unbind("/x/a")).to.equal(true);
      expect(await dir.lookup("/x/a")).to.equal(null);
      expect(await dir.lookup("/x")).to.include({ kind: "directory" });
    });

    it("should report false for a missing name", async () => {
      expect(await dir.unbind("/missing")).to.equal(false);
    });

    it("should refuse a directory that has children", async () => {
      await dir.bind("/x/a", sys(), "object");
      const err = await expectRejection(dir.unbind("/x"), DirectoryNotEmptyError);
      expect(err.path).to.equal("/x");
      expect(await dir.lookup("/x/a")).to.not.equal(null);
      expect(await dir.unbind("/x/a")).to.equal(true);
      expect(await dir.unbind("/x")).to.equal(true);
    });

    it("should refuse the root", async () => {
      await expectRejection(dir.unbind("/"), BadPathError);
    });
  });

  describe("rename", () => {
    it("should move an object", async () => {
      const a = await dir.bind("/a", sys(), "object", { meta: { k: 1 } });
      const moved = await dir.rename("/a", "/b/c");
      expect(moved).to.include({ path: "/b/c", sysname: a.sysname, kind: "object" });
      expect(moved.meta).to.deep.equal({ k: 1 });
      expect(await dir.lookup("/a")).to.equal(null);
      expect(await dir.lookup("/b")).to.include({ kind: "directory" });
    });

    it("should move a whole subtree", async () => {
      const deep = await dir.bind("/src/x/y/z", sys(), "object");
      await dir.bind("/src/w", sys(), "class");
      await dir.bind("/srcother", sys(), "object");
      await dir.rename("/src", "/dst");
      expect(await dir.lookup("/src")).to.equal(null);
      expect(await dir.lookup("/src/x/y/z")).to.equal(null);
      expect(await dir.lookup("/dst/x/y/z")).to.include({ sysname: deep.sysname });
      expect(paths(await dir.list("/dst"))).to.deep.equal(["/dst/w", "/dst/x"]);
      expect(paths(await dir.list("/dst/x"))).to.deep.equal(["/dst/x/y"]);
      expect(await dir.lookup("/srcother")).to.not.equal(null);
    });

    it("should refuse a missing source", async () => {
      const err = await expectRejection(dir.rename("/nope", "/b"), NameNotFoundError);
      expect(err.path).to.equal("/nope");
      expect(await dir.lookup("/b")).to.equal(null);
    });

    it("should refuse an existing target and leave both names as they were", async () => {
      const a = await dir.bind("/a", sys(), "object");
      const b = await dir.bind("/b", sys(), "object");
      await expectRejection(dir.rename("/a", "/b"), NameExistsError);
      expect(await dir.lookup("/a")).to.deep.equal(a);
      expect(await dir.lookup("/b")).to.deep.equal(b);
    });

    it("should overwrite an existing target with replace", async () => {
      const a = await dir.bind("/a", sys(), "object");
      await dir.bind("/b", sys(), "object");
      await dir.rename("/a", "/b", { replace: true });
      expect(await dir.lookup("/a")).to.equal(null);
      expect(await dir.lookup("/b")).to.include({ sysname: a.sysname });
    });

    it("should refuse to overwrite a directory that has children", async () => {
      await dir.bind("/a", sys(), "object");
      await dir.bind("/b/c", sys(), "object");
      await expectRejection(dir.rename("/a", "/b", { replace: true }), DirectoryNotEmptyError);
      expect(await dir.lookup("/a")).to.not.equal(null);
      expect(await dir.lookup("/b/c")).to.not.equal(null);
    });

    it("should refuse to move a directory below itself or move the root", async () => {
      await dir.bind("/a/b", sys(), "object");
      await expectRejection(dir.rename("/a", "/a/b/c"), BadPathError);
      await expectRejection(dir.rename("/", "/x"), BadPathError);
      await expectRejection(dir.rename("/a", "/"), BadPathError);
      expect(paths(await dir.list("/a"))).to.deep.equal(["/a/b"]);
    });

    it("should refuse a target below an object", async () => {
      await dir.bind("/a", sys(), "object");
      await dir.bind("/obj", sys(), "object");
      await expectRejection(dir.rename("/a", "/obj/a"), NotADirectoryError);
      expect(await dir.lookup("/a")).to.not.equal(null);
    });

    it("should return the binding unchanged when renaming a name to itself", async () => {
      const a = await dir.bind("/a", sys(), "object");
      expect(await dir.rename("/a", "a")).to.deep.equal(a);
    });

    it("should leave every row as it was when a write fails midway", async () => {
      await dir.bind("/src/one", sys(), "object");
      await dir.bind("/src/two", sys(), "object");
      const before = await dir.list("/src");
      failPutNumber(dir, 2);
      await expectRejection(dir.rename("/src", "/dst"), Error);
      expect(await dir.list("/src")).to.deep.equal(before);
      expect(await dir.lookup("/dst")).to.equal(null);
    });
  });

  describe("list", () => {
    it("should list direct children sorted by name", async () => {
      for (const name of ["zeta", "Alpha", "beta", "a-b", "a.b", "a_b", "dir/inner"]) {
        await dir.bind(`/l/${name}`, sys(), "object");
      }
      const listed = await dir.list("/l");
      expect(listed.map((b) => b.path.slice(3))).to.deep.equal(["Alpha", "a-b", "a.b", "a_b", "beta", "dir", "zeta"]);
      expect(listed.find((b) => b.path === "/l/dir")).to.include({ kind: "directory" });
    });

    it("should list the root", async () => {
      await dir.bind("/b", sys(), "object");
      await dir.bind("/a/x", sys(), "object");
      expect(paths(await dir.list("/"))).to.deep.equal(["/a", "/b"]);
    });

    it("should return just the binding when listing an object", async () => {
      const a = await dir.bind("/a", sys(), "object");
      expect(await dir.list("/a")).to.deep.equal([a]);
    });

    it("should refuse a missing path", async () => {
      await expectRejection(dir.list("/missing"), NameNotFoundError);
      await dir.bind("/obj", sys(), "object");
      await expectRejection(dir.list("/obj/x"), NameNotFoundError);
    });
  });

  describe("changes", () => {
    it("should report each committed change in order, implicit directories included", async () => {
      const seen: BindingChange[] = [];
      dir.onChange((c) => seen.push(c));
      await dir.bind("/p/q", sys(), "object");
      await dir.rename("/p", "/r");
      await dir.unbind("/r/q");
      expect(seen.map((c) => [c.path, c.binding?.kind ?? null])).to.deep.equal([
        ["/p", "directory"],
        ["/p/q", "object"],
        ["/p", null],
        ["/p/q", null],
        ["/r", "directory"],
        ["/r/q", "object"],
        ["/r/q", null],
      ]);
    });

    it("should report nothing for a refused operation and survive a throwing listener", async () => {
      await dir.bind("/a", sys(), "object");
      const seen: BindingChange[] = [];
      dir.onChange(() => {
        throw new Error("listener bug");
      });
      const stop = dir.onChange((c) => seen.push(c));
      await expectRejection(dir.bind("/a", sys(), "object"), NameExistsError);
      await dir.bind("/b", sys(), "object");
      stop();
      await dir.bind("/c", sys(), "object");
      expect(seen.map((c) => c.path)).to.deep.equal(["/b"]);
    });
  });

  describe("concurrency and closing", () => {
    it("should run concurrent operations one at a time", async () => {
      const names = Array.from({ length: 20 }, (_, i) => `/c/n${String(i).padStart(2, "0")}`);
      const results = await Promise.allSettled([
        ...names.map((n) => dir.bind(n, sys(), "object")),
        ...names.map((n) => dir.bind(n, sys(), "object")),
      ]);
      expect(results.filter((r) => r.status === "fulfilled")).to.have.length(20);
      expect(paths(await dir.list("/c"))).to.deep.equal(names);
    });

    it("should finish queued operations on close and refuse later ones", async () => {
      const pending = dir.bind("/late", sys(), "object");
      const closing = dir.close();
      expect((await pending).path).to.equal("/late");
      await closing;
      await dir.close();
      await expectRejection(dir.lookup("/late"), Error);
    });
  });
}

/** Makes the directory's next transaction throw on its `n`th put (a write failing midway). */
function failPutNumber(dir: NameDirectory, n: number): void {
  type Transact = (fn: (rows: BindingRows) => Promise<unknown>) => Promise<unknown>;
  const target = dir as unknown as { transact: Transact };
  const original = target.transact.bind(dir);
  target.transact = (fn) => {
    target.transact = original;
    let puts = 0;
    return original((rows) => {
      const failing: BindingRows = Object.create(rows) as BindingRows;
      failing.put = async (b) => {
        if (++puts === n) throw new Error("disk full");
        return rows.put(b);
      };
      return fn(failing);
    });
  };
}
