/**
 * Tests of VirtualSpace (ra-kernel/virtual-space.ts): regions mapped by name, looked up,
 * listed in mapping order, and never mapped twice.
 */
import { expect } from "chai";
import { newSysName, type ServerId } from "../../ra-kernel/ids.js";
import { Segment } from "../../ra-kernel/segment.js";
import { VirtualSpace, type Region } from "../../ra-kernel/virtual-space.js";

const ds1 = "ds1" as ServerId;

function region(name: string, role: "code" | "data" | "heap" | "volatile", protection: Region["protection"]): Region {
  return { name, segment: new Segment(newSysName(ds1), role), protection };
}

describe("VirtualSpace", () => {
  it("should map the regions it is built with and list them in order", () => {
    const code = region("code", "code", "rx");
    const data = region("data", "data", "rw");
    const space = new VirtualSpace("O", [code, data]);
    expect(space.kind).to.equal("O");
    expect(space.list()).to.deep.equal([code, data]);
    expect(space.region("code")).to.equal(code);
    expect(space.region("data").protection).to.equal("rw");
  });

  it("should start empty and map regions later", () => {
    const space = new VirtualSpace("P");
    expect(space.list()).to.deep.equal([]);
    const args = region("args", "volatile", "r");
    space.map(args);
    expect(space.list()).to.deep.equal([args]);
    expect(space.region("args").segment.role).to.equal("volatile");
  });

  it("should refuse to map a region name twice and keep the first mapping", () => {
    const first = region("data", "data", "rw");
    const space = new VirtualSpace("O", [first]);
    expect(() => space.map(region("data", "heap", "r"))).to.throw(Error, "O space: region 'data' is already mapped");
    expect(space.region("data")).to.equal(first);
    expect(space.list()).to.have.length(1);
  });

  it("should refuse duplicate names among the regions it is built with", () => {
    expect(() => new VirtualSpace("K", [region("k", "data", "r"), region("k", "heap", "r")])).to.throw(Error, "K space: region 'k' is already mapped");
  });

  it("should name the space and region when a region is missing", () => {
    const space = new VirtualSpace("P", [region("args", "volatile", "r")]);
    expect(() => space.region("heap")).to.throw(Error, "P space: no region 'heap'");
  });

  it("should give a copy of its regions, not its own list", () => {
    const space = new VirtualSpace("O", [region("code", "code", "rx")]);
    const list = space.list();
    list.pop();
    expect(space.list()).to.have.length(1);
  });

  it("should give each region's segment the home its sysname names", () => {
    const r = region("heap", "heap", "rw");
    expect(new VirtualSpace("O", [r]).region("heap").segment.home).to.equal("ds1");
  });
});
