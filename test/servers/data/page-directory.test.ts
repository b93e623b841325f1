/**
 * Tests of PageDirectory (servers/data/page-directory.ts): the copyset of each page, the
 * holders a write-back must invalidate, and forgetting holders and segments.
 */
import { expect } from "chai";
import { newSysName, type ServerId } from "../../../ra-kernel/ids.js";
import { PageDirectory, pageKey, type PageRef } from "../../../servers/data/page-directory.js";

const ds1 = "ds1" as ServerId;

describe("PageDirectory", () => {
  let dir: PageDirectory;
  const seg = newSysName(ds1);
  const seg2 = newSysName(ds1);
  const p0: PageRef = { segment: seg, page: 0 };
  const p1: PageRef = { segment: seg, page: 1 };
  const q0: PageRef = { segment: seg2, page: 0 };

  beforeEach(() => {
    dir = new PageDirectory();
  });

  it("should key pages by segment and page number", () => {
    expect(pageKey(seg, 3)).to.equal(`${seg}#3`);
  });

  it("should start empty", () => {
    expect(dir.size).to.equal(0);
    expect(dir.holders(p0)).to.deep.equal([]);
    expect([...dir.otherHolders([p0], "cs1")]).to.deep.equal([]);
  });

  it("should record each holder of a page once", () => {
    dir.addHolder(p0, "cs1");
    dir.addHolder(p0, "cs2");
    dir.addHolder(p0, "cs1");
    dir.addHolder(p1, "cs2");
    expect(dir.holders(p0)).to.have.members(["cs1", "cs2"]).and.have.length(2);
    expect(dir.holders(p1)).to.deep.equal(["cs2"]);
    expect(dir.holders({ segment: seg, page: 2 })).to.deep.equal([]);
    expect(dir.size).to.equal(2);
  });

  it("should give the holders other than the writer, each with the pages it must drop", () => {
    dir.addHolder(p0, "cs1");
    dir.addHolder(p0, "cs2");
    dir.addHolder(p1, "cs2");
    dir.addHolder(p1, "cs3");
    dir.addHolder(q0, "cs1");
    const others = dir.otherHolders([p0, p1, q0], "cs1");
    expect([...others.keys()]).to.have.members(["cs2", "cs3"]);
    expect(others.get("cs2")).to.deep.equal([p0, p1]);
    expect(others.get("cs3")).to.deep.equal([p1]);
  });

  it("should leave only the writer after a write-back", () => {
    dir.addHolder(p0, "cs1");
    dir.addHolder(p0, "cs2");
    dir.setSoleHolder(p0, "cs3");
    expect(dir.holders(p0)).to.deep.equal(["cs3"]);
    expect([...dir.otherHolders([p0], "cs3")]).to.deep.equal([]);
    dir.setSoleHolder(p1, "cs1");
    expect(dir.holders(p1)).to.deep.equal(["cs1"]);
  });

  it("should drop a disconnected holder from every copyset", () => {
    dir.addHolder(p0, "cs1");
    dir.addHolder(p0, "cs2");
    dir.addHolder(q0, "cs2");
    dir.dropHolder("cs2");
    expect(dir.holders(p0)).to.deep.equal(["cs1"]);
    expect(dir.holders(q0)).to.deep.equal([]);
    expect([...dir.otherHolders([p0, q0], "cs1")]).to.deep.equal([]);
  });

  it("should forget every page of one segment and no other's", () => {
    dir.addHolder(p0, "cs1");
    dir.addHolder(p1, "cs1");
    dir.addHolder({ segment: seg, page: 10 }, "cs2");
    dir.addHolder(q0, "cs1");
    dir.forgetSegment(seg);
    expect(dir.holders(p0)).to.deep.equal([]);
    expect(dir.holders({ segment: seg, page: 10 })).to.deep.equal([]);
    expect(dir.holders(q0)).to.deep.equal(["cs1"]);
    expect(dir.size).to.equal(1);
  });

  it("should not confuse page 1 with page 10", () => {
    dir.addHolder({ segment: seg, page: 10 }, "cs1");
    expect(dir.holders(p1)).to.deep.equal([]);
  });
});
