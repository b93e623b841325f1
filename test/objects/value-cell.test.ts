import { expect } from "chai";
import { Heap } from "../../objects/heap.js";
import { CELL_SIZE, Tag, readCell, unstorableType, writeCell } from "../../objects/value-cell.js";
import { SyncFaulter } from "../support/sync-faulter.js";
import { newSegment, type TestSegment } from "../support/object-memory.js";

describe("ValueCell", () => {
  let data: TestSegment;
  let heap: Heap;

  beforeEach(() => {
    const faulter = new SyncFaulter();
    data = newSegment(faulter, 4);
    heap = new Heap(newSegment(faulter, 64).mem);
  });

  it("should name the type of values it cannot store, and null for the rest", () => {
    expect([1, "s", true, null, undefined].map(unstorableType)).to.deep.equal([null, null, null, null, null]);
    expect([() => 0, Symbol("x"), 1n, {}, [], new Set(), Object.create(null)].map(unstorableType)).to.deep.equal([
      "function", "symbol", "bigint", "Object", "Array", "Set", "object",
    ]);
  });

  it("should encode scalars in the cell with their tags", () => {
    const cases: [unknown, number][] = [[undefined, Tag.UNDEFINED], [null, Tag.NULL], [false, Tag.FALSE], [true, Tag.TRUE], [2.5, Tag.NUMBER]];
    for (const [value, tag] of cases) {
      writeCell(data.mem, heap, 0, value);
      expect(data.mem.u32(0)).to.equal(tag);
      expect(readCell(data.mem, heap.mem, 0)).to.equal(value);
    }
    expect(data.mem.f64(8)).to.equal(2.5);
    expect(heap.liveBlocks()).to.equal(0);
  });

  it("should keep a string in one heap block with its UTF-8 length in the cell", () => {
    writeCell(data.mem, heap, CELL_SIZE, "né");
    expect(data.mem.u32(CELL_SIZE)).to.equal(Tag.STRING);
    expect(data.mem.u32(CELL_SIZE + 4)).to.equal(3);
    expect(heap.liveBlocks()).to.equal(1);
    expect(readCell(data.mem, heap.mem, CELL_SIZE)).to.equal("né");
  });

  it("should free the old string when a cell is rewritten", () => {
    writeCell(data.mem, heap, 0, "one");
    writeCell(data.mem, heap, 0, "two");
    expect(heap.liveBlocks()).to.equal(1);
    writeCell(data.mem, heap, 0, null);
    expect(heap.liveBlocks()).to.equal(0);
  });

  it("should throw on an unknown tag, naming the address and the segment", () => {
    data.mem.setU32(32, 99);
    expect(() => readCell(data.mem, heap.mem, 32)).to.throw(Error, new RegExp(`unknown value tag 99 at 32 of ${data.sysname}`));
  });
});
