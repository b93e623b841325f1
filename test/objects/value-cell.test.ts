import { expect } from "chai";
import { Heap } from "../../objects/heap.js";
import { CELL_SIZE, Tag, readCell, unstorableType, writeCell } from "../../objects/value-cell.js";
import { PAGE_SIZE } from "../../ra-kernel/ids.js";
import type { MappedSegment } from "../../ra-kernel/mapped-segment.js";
import { PageState } from "../../ra-kernel/page-state.js";
import type { SegmentFrames } from "../../ra-kernel/segment-frames.js";
import { SyncFaulter } from "../support/sync-faulter.js";
import { newSegment, type TestSegment } from "../support/object-memory.js";
import { startPinWorker } from "../support/pin-workers.js";

/** `mem`, recording the name of every accessor called on it. */
function recording(mem: MappedSegment, calls: string[]): MappedSegment {
  return new Proxy(mem, {
    get(target, key) {
      const member = Reflect.get(target, key, target) as unknown;
      if (typeof member !== "function") return member;
      return (...args: unknown[]) => {
        calls.push(String(key));
        return (member as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/** Why the cell at `addr` of a copied page is none of the values written, or null. */
function wholeCell(page: Uint8Array, addr: number, strings: { length: number; block: number }[]): string | null {
  const view = new DataView(page.buffer, page.byteOffset);
  const [tag, aux, payload, number] = [view.getUint32(addr, true), view.getUint32(addr + 4, true), view.getUint32(addr + 8, true), view.getFloat64(addr + 8, true)];
  if (tag === Tag.NUMBER && (number === 1.5 || number === -7.25e300)) return null;
  if (tag === Tag.STRING && strings.some((s) => s.length === aux && s.block === payload)) return null;
  return `tag ${tag} aux ${aux} payload ${payload} (${number})`;
}

/** The kernel's side of the race: downgrade, copy, check, restore, until `done` settles. */
async function downgradeLoop(frames: SegmentFrames, addr: number, strings: { length: number; block: number }[], done: Promise<unknown>): Promise<{ copies: number; torn: string[] }> {
  let finished = false;
  void done.finally(() => (finished = true));
  const torn: string[] = [];
  let copies = 0;
  for (; !finished; copies++) {
    await frames.lower(0, PageState.READ);
    const why = wholeCell(frames.copyPage(0), addr, strings);
    if (why) torn.push(why);
    frames.setState(0, PageState.WRITE);
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { copies, torn };
}

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
    expect([1n, {}, [], new Set(), new Map(), new Date(), new Uint8Array(1), Object.create(null)].map(unstorableType)).to.deep.equal(Array(8).fill(null));
    expect([() => 0, Symbol("x"), new WeakSet(), new (class Foo {})(), [{ f: Symbol("y") }]].map(unstorableType)).to.deep.equal([
      "function", "symbol", "WeakSet", "Foo", "symbol",
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

  it("should leave nothing of an old string in a cell rewritten with a scalar", () => {
    writeCell(data.mem, heap, 0, "old");
    writeCell(data.mem, heap, 0, true);
    expect([...data.mem.read(0, CELL_SIZE)]).to.deep.equal([Tag.TRUE, ...new Array(CELL_SIZE - 1).fill(0)]);
  });

  it("should read and write a cell as one access to its segment", () => {
    const calls: string[] = [];
    const mem = recording(data.mem, calls);
    for (const value of [2.5, "text", null, -1]) {
      writeCell(mem, heap, 48, value);
      expect(readCell(mem, heap.mem, 48)).to.equal(value);
    }
    expect(calls).to.deep.equal(new Array(4).fill(["exchange", "readInto"]).flat());
  });

  it("should never show a torn cell to a reader or to the kernel while two isibas write it", async function () {
    this.timeout(5000);
    const strings = ["a short one", "a rather longer string, from the other writer \u2713"];
    const [blockA, blockB] = [PAGE_SIZE + 64, PAGE_SIZE + 256];
    const heapSeg = newSegment(new SyncFaulter(), 4);
    for (const f of [data.frames, heapSeg.frames]) for (const p of [0, 1]) f.install(p, null, PageState.WRITE);
    writeCell(data.mem, heap, 32, 1.5);
    const shares = { data: data.frames.share(), heap: heapSeg.frames.share(), addr: 32, ms: 300 };
    const workers = [
      startPinWorker({ task: "cell-writer", ...shares, values: [1.5, strings[0]], block: blockA }),
      startPinWorker({ task: "cell-writer", ...shares, values: [-7.25e300, strings[1]], block: blockB }),
      startPinWorker({ task: "cell-reader", ...shares, expect: [1.5, -7.25e300, ...strings] }),
    ];
    const reports = Promise.all(workers.map((w) => w.done));
    const encoded = [{ length: Buffer.byteLength(strings[0]), block: blockA }, { length: Buffer.byteLength(strings[1]), block: blockB }];
    const kernel = await downgradeLoop(data.frames, 32, encoded, reports);
    const [writerA, writerB, reader] = await reports;
    expect(reader.bad).to.deep.equal([]);
    expect(kernel.torn).to.deep.equal([]);
    expect([writerA.count, writerB.count, reader.count, kernel.copies].every((n) => n > 100)).to.equal(true);
    expect(data.frames.pinned(0)).to.equal(0);
  });
});
