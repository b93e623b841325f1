/**
 * Tests of CachedPagesWorkingSet (servers/compute/working-set-source.ts): pages counted
 * per loaded object from its descriptor's segments, descriptors fetched once in the
 * background, objects no longer loaded forgotten, largest working sets first.
 */
import { expect } from "chai";
import { newSysName, type ServerId, type SysName } from "../../../ra-kernel/ids.js";
import type { ObjectDescriptor } from "../../../ra-kernel/object-descriptor.js";
import { CachedPagesWorkingSet } from "../../../servers/compute/working-set-source.js";

const ds1 = "ds1" as ServerId;

function descriptor(): ObjectDescriptor {
  return {
    sysname: newSysName(ds1), className: "C", classVersion: 1, home: ds1,
    segments: { data: newSysName(ds1), heap: newSysName(ds1), volatile: newSysName(ds1) },
  } as unknown as ObjectDescriptor;
}

describe("CachedPagesWorkingSet", () => {
  const a = descriptor();
  const b = descriptor();
  let loaded: SysName[];
  let cached: Map<SysName, Array<"invalid" | "read" | "write">>;
  let fetches: SysName[];
  let ws: CachedPagesWorkingSet;

  beforeEach(() => {
    loaded = [a.sysname, b.sysname];
    cached = new Map([[a.segments.data, ["write"]], [a.segments.heap, ["read", "invalid"]], [b.segments.data, ["read"]], [b.segments.heap, ["read", "read", "read"]]]);
    fetches = [];
    ws = new CachedPagesWorkingSet({
      objects: { loadedObjects: () => loaded },
      dsm: { pagesOf: (segments) => segments.flatMap((s) => (cached.get(s) ?? []).map((state) => ({ state }))) },
      descriptor: async (object) => {
        fetches.push(object);
        return [a, b].find((d) => d.sysname === object)!;
      },
    });
  });

  it("should count an object's readable and writable pages once its segments are known", () => {
    ws.learn(a);
    expect(ws.pagesOf(a.sysname)).to.equal(2);
  });

  it("should answer 0 for an object it does not know yet, and fetch its descriptor once", async () => {
    expect(ws.pagesOf(b.sysname)).to.equal(0);
    expect(ws.pagesOf(b.sysname)).to.equal(0);
    await Promise.resolve();
    await new Promise((r) => setImmediate(r));
    expect(fetches).to.deep.equal([b.sysname]);
    expect(ws.pagesOf(b.sysname)).to.equal(4);
  });

  it("should list the largest working sets first, at most `limit`", () => {
    ws.learn(a);
    ws.learn(b);
    expect(ws.workingSets(10)).to.deep.equal([{ object: b.sysname, pages: 4 }, { object: a.sysname, pages: 2 }]);
    expect(ws.workingSets(1)).to.deep.equal([{ object: b.sysname, pages: 4 }]);
  });

  it("should list the kernel's working sets when it is given, and the objects a reply counted since", () => {
    const recent = new CachedPagesWorkingSet({
      objects: { loadedObjects: () => loaded },
      dsm: { pagesOf: (segments) => segments.flatMap((s) => (cached.get(s) ?? []).map((state) => ({ state }))) },
      descriptor: async () => a,
      recent: { workingSets: () => [{ object: a.sysname, pages: 1 }] },
    });
    recent.learn(a);
    recent.learn(b);
    expect(recent.workingSets(10), "the kernel's count: pages used in its window and still here").to.deep.equal([{ object: a.sysname, pages: 1 }]);
    expect(recent.pagesOf(b.sysname), "a reply counts b's cached pages").to.equal(4);
    expect(recent.workingSets(10)).to.deep.equal([{ object: b.sysname, pages: 4 }, { object: a.sysname, pages: 1 }]);
  });

  it("should forget objects that are no longer loaded", () => {
    ws.learn(a);
    ws.learn(b);
    loaded = [a.sysname];
    expect(ws.workingSets(10)).to.deep.equal([{ object: a.sysname, pages: 2 }]);
  });
});
