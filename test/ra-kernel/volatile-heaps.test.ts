/**
 * Tests of VolatileHeaps (ra-kernel/volatile-heaps.ts): activations counted per object,
 * frames made on demand, zero-page faults, and what is dropped when the last isiba leaves.
 */
import { expect } from "chai";
import type { SysName } from "../../ra-kernel/ids.js";
import { PageState } from "../../ra-kernel/page-state.js";
import { VolatileHeaps } from "../../ra-kernel/volatile-heaps.js";

const A = "sys:ds1:01JD0000000000000000000000" as SysName;
const B = "sys:ds1:01JD0000000000000000000001" as SysName;

describe("VolatileHeaps", () => {
  let heaps: VolatileHeaps;

  beforeEach(() => {
    heaps = new VolatileHeaps();
  });

  it("should keep one activation while isibas overlap, and begin a new one after", () => {
    const g1 = heaps.enter(A);
    expect(heaps.enter(A)).to.equal(g1);
    expect(heaps.leave(A)).to.deep.equal([]);
    expect(heaps.activeObjects).to.equal(1);
    heaps.leave(A);
    expect(heaps.activeObjects).to.equal(0);
    expect(heaps.enter(A)).to.not.equal(g1);
  });

  it("should keep objects apart", () => {
    const ga = heaps.enter(A);
    const gb = heaps.enter(B);
    expect(ga).to.not.equal(gb);
    expect(heaps.frames(A, ga).data.sysname).to.not.equal(heaps.frames(B, gb).data.sysname);
  });

  it("should make frames once per activation, serve their faults with zero pages, and drop them at the end", () => {
    const gen = heaps.enter(A);
    const frames = heaps.frames(A, gen);
    expect(heaps.frames(A, gen)).to.equal(frames);
    expect(heaps.fault(frames.heap.sysname, 3)).to.equal(true);
    expect(frames.heap.state(3)).to.equal(PageState.WRITE);
    expect(heaps.fault("sys:ds1:01JD0000000000000000000009" as SysName, 3)).to.equal(false);
    expect(heaps.leave(A)).to.deep.equal([frames.data.sysname, frames.heap.sysname]);
    expect(heaps.fault(frames.heap.sysname, 4)).to.equal(false);
    expect(() => heaps.frames(A, gen)).to.throw(/activation \d+ has ended/);
  });

  it("should make no frames for an activation nobody asked them of", () => {
    heaps.enter(B);
    expect(heaps.leave(B)).to.deep.equal([]);
    expect(heaps.leave(B)).to.deep.equal([]);
  });
});
