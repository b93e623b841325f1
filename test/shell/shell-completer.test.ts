/**
 * Tests of ShellCompleter (shell/shell-completer.ts): what Tab completes — command words and
 * names at the start, `Name.` + the entries of its class, `@` + compute servers, paths for
 * name operands, classes after `new`, .ts files after `load` — and nothing when the source fails.
 */
import { expect } from "chai";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { ShellCompleter, type CompleterSource } from "../../shell/shell-completer.js";
import type { Binding, BindingKind } from "../../servers/name/name-directory.js";

function binding(p: string, kind: BindingKind, meta: Record<string, unknown> = {}): Binding {
  return { path: p, kind, sysname: null, meta, updatedAt: 0 };
}

describe("ShellCompleter", () => {
  const tree = new Map<string, Binding[]>([
    ["/", [binding("/RectA", "object", { className: "Rectangle" }), binding("/RectB", "object", { className: "Rectangle" }), binding("/users", "directory"), binding("/sys", "directory")]],
    ["/users", [binding("/users/ana", "directory"), binding("/users/Rex", "object", { className: "Rectangle" })]],
    ["/sys/classes", [binding("/sys/classes/Rectangle", "class", { entries: ["size", "area"] }), binding("/sys/classes/Mailbox", "class", { entries: ["send"] })]],
  ]);
  let cwd = "/";
  const source: CompleterSource = {
    list: async (dir) => tree.get(dir) ?? [],
    lookup: async (p) => [...tree.values()].flat().find((b) => b.path === p) ?? null,
    computeServers: async () => ["cs1", "cs2"],
    cwd: () => cwd,
  };
  const c = new ShellCompleter(source);

  beforeEach(() => {
    cwd = "/";
  });

  it("should complete command words and names at the start of a line", async () => {
    expect(await c.complete("th")).to.deep.equal([["threads "], "th"]);
    expect(await c.complete("Re")).to.deep.equal([["RectA.", "RectB."], "Re"]);
    expect(await c.complete("u")).to.deep.equal([["users/"], "u"]);
    expect((await c.complete(""))[0]).to.include.members(["help ", "inspect ", "RectA.", "users/"]);
  });

  it("should complete Name. with the entries of the object's class, each with its (", async () => {
    expect(await c.complete("RectA.")).to.deep.equal([["RectA.area(", "RectA.size("], "RectA."]);
    expect(await c.complete("RectA.s")).to.deep.equal([["RectA.size("], "RectA.s"]);
    expect(await c.complete("users/Rex.a")).to.deep.equal([["users/Rex.area("], "users/Rex.a"]);
    cwd = "/users";
    expect(await c.complete("Rex.")).to.deep.equal([["Rex.area(", "Rex.size("], "Rex."]);
    expect(await c.complete("Nope.")).to.deep.equal([[], "Nope."]);
  });

  it("should complete @ with compute server ids, and names after the hint", async () => {
    expect(await c.complete("@c")).to.deep.equal([["@cs1", "@cs2"], "@c"]);
    expect(await c.complete("@cs2 Rec")).to.deep.equal([["RectA.", "RectB."], "Rec"]);
    expect(await c.complete("@cs2 RectA.ar")).to.deep.equal([["RectA.area("], "RectA.ar"]);
  });

  it("should complete paths for name operands and classes after new", async () => {
    expect(await c.complete("cd u")).to.deep.equal([["users/"], "u"]);
    expect(await c.complete("info users/")).to.deep.equal([["users/Rex", "users/ana/"], "users/"]);
    expect(await c.complete("inspect --depth 2 Rect")).to.deep.equal([["RectA", "RectB"], "Rect"]);
    expect(await c.complete("new R")).to.deep.equal([["Rectangle "], "R"]);
    expect(await c.complete("new Rectangle R")).to.deep.equal([[], "R"]);
  });

  it("should complete .ts files and directories after load", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "clouds-complete-"));
    try {
      mkdirSync(path.join(dir, "shapes"));
      writeFileSync(path.join(dir, "rect.ts"), "");
      writeFileSync(path.join(dir, "notes.txt"), "");
      expect(await c.complete(`load ${dir}/`)).to.deep.equal([[`${dir}/rect.ts`, `${dir}/shapes/`], `${dir}/`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("should complete nothing, and not throw, when the name server fails", async () => {
    const failing = new ShellCompleter({ ...source, list: async () => Promise.reject(new Error("down")), lookup: async () => Promise.reject(new Error("down")) });
    expect(await failing.complete("RectA.a")).to.deep.equal([[], ""]);
    expect(await failing.complete("Re")).to.deep.equal([[], ""]);
  });
});
