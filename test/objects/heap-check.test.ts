import { expect } from "chai";
import { checkObjectMemory, MAX_VIOLATIONS, type HeapReport } from "../../objects/heap-check.js";
import { checkHeap } from "../../objects/check-heap.js";
import { newStore, type TestStore } from "../support/object-memory.js";
import { createIn, fixtureClass, selfOf } from "../support/persistent-objects.js";

// The layouts the corruptions below reach into (heap.ts, persistent-store.ts, persistent-array.ts).
const USED = 0x8000_0000;
const SLOT_BYTES = 8 + 4 * 27;
const slotAt = (i: number) => 16 + SLOT_BYTES * i;
/** The head of free list k of slot 0: the tests' server's ("local", the first to free). */
const LIST = (k: number) => slotAt(0) + 8 + 4 * k;
const BLOCK_HEADER = 8;
const FIELD_CELL = (i: number) => 16 + 32 * i + 16;

describe("HeapCheck", () => {
  let t: TestStore;

  beforeEach(() => {
    t = newStore();
  });

  function check(): HeapReport {
    return checkObjectMemory(t.store.data, t.store.heap.mem);
  }

  /** The payload address in the cell of the i-th field (first assigned = 0). */
  function payloadOf(field: number): number {
    return t.data.mem.u32(FIELD_CELL(field) + 8);
  }

  function freeListHead(k: number): number {
    return t.heap.mem.u32(LIST(k));
  }

  function classOf(payload: number): number {
    return t.heap.mem.u32(payload - BLOCK_HEADER) & ~USED;
  }

  function expectViolation(report: HeapReport, pattern: RegExp): void {
    expect(report.ok, "the report should not be ok").to.equal(false);
    expect(report.violations.some((v) => pattern.test(v)), `no violation matches ${pattern}:\n  ${report.violations.join("\n  ")}`).to.equal(true);
  }

  /** Fields of every kind, nested containers, and enough churn to fill free lists. */
  function fillHealthy(): void {
    t.store.set("n", 42);
    t.store.set("name", "ledger");
    t.store.set("big", 10n ** 30n);
    t.store.set("when", new Date(5));
    t.store.set("bytes", new Uint8Array([1, 2, 3]));
    t.store.set("items", [1, "two", [3, { four: 4 }], new Map([["k", new Set([1, "x"])]])]);
    t.store.set("cfg", { limits: { max: 1, name: "m" }, drop: true });
    const items = t.store.get("items") as unknown[];
    for (let i = 0; i < 100; i++) items.push(`item ${i}`);
    items.splice(10, 30);
    const byName = new Map<string, unknown>();
    t.store.set("byName", byName);
    const live = t.store.get("byName") as Map<string, unknown>;
    for (let i = 0; i < 50; i++) live.set(`k${i}`, { i, tag: `t${i}` });
    for (let i = 0; i < 50; i += 3) live.delete(`k${i}`);
    for (let i = 0; i < 20; i++) t.store.set("name", "x".repeat(i * 37));
    const cfg = t.store.get("cfg") as Record<string, unknown>;
    delete cfg.drop;
    cfg.added = { list: ["a", "b"] };
  }

  it("should find nothing wrong in an empty object", () => {
    expect(check()).to.deep.equal({ ok: true, violations: [], leakedBlocks: 0, lostAllocations: 0, lostFrees: 0, unlistedFreeBlocks: 0, liveBlocks: 0, freeBlocks: 0 });
  });

  it("should pass a healthy heap with every kind of value, nested containers and freed blocks", () => {
    fillHealthy();
    const report = check();
    expect(report.violations).to.deep.equal([]);
    expect(report.ok).to.equal(true);
    expect(report.leakedBlocks).to.equal(0);
    expect(report.liveBlocks).to.equal(t.store.heap.liveBlocks());
    expect(report.freeBlocks).to.be.greaterThan(10);
  });

  it("should count a USED block nothing points to as leaked, not as a violation", () => {
    fillHealthy();
    t.store.heap.alloc(100);
    t.store.heap.alloc(3);
    const report = check();
    expect(report.ok, report.violations.join("\n")).to.equal(true);
    expect(report.leakedBlocks).to.equal(2);
  });

  it("should catch a cell pointing into a free block", () => {
    t.store.set("keep", "k");
    t.store.set("s", "a string long enough for its own 32 B block");
    t.store.heap.free(payloadOf(1));
    expectViolation(check(), /^s: string at \d+ points into a free block \(on its free list\)/);
  });

  it("should catch a double free (the block twice on its free list)", () => {
    t.store.set("s", "x".repeat(100));
    const p = payloadOf(0);
    t.store.heap.free(t.store.heap.alloc(100));
    t.store.set("s", 1); // frees the string's block
    t.heap.mem.setU32(p - BLOCK_HEADER, classOf(p) | USED);
    t.store.heap.free(p); // again: the block is now its own successor
    const report = check();
    expectViolation(report, new RegExp(`^slot 0 free list ${classOf(p)} \\(\\d+ B blocks\\): a cycle back to block ${p - BLOCK_HEADER}`));
    expectViolation(report, /^heap header counts \d+ live blocks, but \d+ blocks are marked USED/);
  });

  it("should catch two cells sharing one block", () => {
    t.store.set("a", "first string value");
    t.store.set("b", "second string value");
    t.data.mem.write(FIELD_CELL(1), t.data.mem.read(FIELD_CELL(0), 16));
    const report = check();
    expectViolation(report, new RegExp(`^block ${payloadOf(0) - BLOCK_HEADER} reached twice \\(double use\\): by a and by b`));
    expect(report.leakedBlocks).to.equal(1);
  });

  it("should catch two containers sharing a nested one, naming both paths", () => {
    t.store.set("left", { inner: [1, 2] });
    t.store.set("right", { inner: [3, 4] });
    const leftInner = entryValueCell(payloadOf(0), 0), rightInner = entryValueCell(payloadOf(1), 0);
    t.heap.mem.write(rightInner, t.heap.mem.read(leftInner, 16));
    expectViolation(check(), /reached twice \(double use\): by left\.inner and by right\.inner/);
  });

  it("should catch a garbage value tag, naming the path", () => {
    t.store.set("cfg", { limits: { max: 1 } });
    const limits = t.heap.mem.u32(entryValueCell(payloadOf(0), 0) + 8);
    t.heap.mem.setU32(entryValueCell(limits, 0), 77);
    expectViolation(check(), /^cfg\.limits\.max: garbage value tag 77/);
  });

  /** The heap address of the value cell of entry `e` of the table whose header is at `header`. */
  function entryValueCell(header: number, e: number): number {
    return t.heap.mem.u32(header + 20) + 32 * e + 16;
  }

  it("should catch a free-list cycle", () => {
    const a = t.store.heap.alloc(50), b = t.store.heap.alloc(50);
    t.store.heap.free(a);
    t.store.heap.free(b);
    expect(freeListHead(classOf(a))).to.equal(b - BLOCK_HEADER);
    t.heap.mem.setU32(a, b - BLOCK_HEADER); // a's successor was 0: now b again
    expectViolation(check(), new RegExp(`^slot 0 free list ${classOf(a)} .*: a cycle back to block ${b - BLOCK_HEADER}`));
  });

  it("should catch a free-list block marked USED, or outside [start, top)", () => {
    const a = t.store.heap.alloc(50);
    t.store.heap.free(a);
    t.heap.mem.setU32(a - BLOCK_HEADER, classOf(a) | USED);
    expectViolation(check(), /: block \d+ is marked USED \(in use and free at once\)/);
    t.heap.mem.setU32(LIST(3), t.heap.mem.u32(8) + 4096);
    expectViolation(check(), /^slot 0 free list 3 .*is outside the heap/);
  });

  it("should count a block marked free on no free list as leaked (an allocation a crash lost), not a violation", () => {
    const a = t.store.heap.alloc(50);
    t.heap.mem.setU32(a - BLOCK_HEADER, classOf(a));
    t.heap.mem.setU32(12, 0);
    const report = check();
    expect(report.violations).to.deep.equal([]);
    expect(report.unlistedFreeBlocks).to.equal(1);
  });

  it("should catch a container whose header has another serial or magic", () => {
    t.store.set("items", [1, 2, 3]);
    const header = payloadOf(0);
    t.heap.mem.setU32(header + 4, t.heap.mem.u32(header + 4) + 1);
    expectViolation(check(), /^items: array header at \d+ has serial \d+, its cell says \d+/);
    t.heap.mem.setU32(header, 0x12345678);
    expectViolation(check(), /^items: array header at \d+ has magic 0x12345678/);
  });

  it("should catch an array longer than its capacity, and a Map entry its index lost", () => {
    t.store.set("items", [1, 2, 3]);
    t.heap.mem.setU32(payloadOf(0) + 8, 100);
    expectViolation(check(), /^items: array length 100 exceeds its capacity 8/);
    t.store.set("items", 0);
    t.store.set("m", new Map([["a", 1], ["b", 2]]));
    const header = payloadOf(1);
    const index = t.heap.mem.u32(header + 28), slots = t.heap.mem.u32(header + 24);
    for (let s = 0; s < slots; s++) t.heap.mem.setU32(index + 8 * s + 4, 0);
    expectViolation(check(), /^m: Map entry \d \(key "[ab]"\) is named by 0 index slots, not 1 \(lookups miss it\)/);
  });

  it("should catch a header live count below the blocks marked USED", () => {
    fillHealthy();
    t.heap.mem.setU32(12, t.heap.mem.u32(12) - 1);
    expectViolation(check(), /^heap header counts \d+ live blocks, but \d+ blocks are marked USED/);
  });

  it("should count a live count below the USED blocks by leaked ones as lost frees (a crash leaks them), not a violation", () => {
    fillHealthy();
    t.store.heap.alloc(100); // USED, reached by nothing: the block of a free a crash lost
    t.heap.mem.setU32(12, t.heap.mem.u32(12) - 1); // the free's decrement, kept by a later allocation's count
    const report = check();
    expect(report.violations).to.deep.equal([]);
    expect(report).to.include({ lostFrees: 1, leakedBlocks: 1 });
    t.heap.mem.setU32(12, t.heap.mem.u32(12) - 1);
    expectViolation(check(), /^heap header counts \d+ live blocks, but \d+ blocks are marked USED and only 1 of them are leaked/);
  });

  it("should count a live count above the USED blocks as lost allocations (a crash leaks them), not a violation", () => {
    fillHealthy();
    t.heap.mem.setU32(12, t.heap.mem.u32(12) + 2);
    const report = check();
    expect(report.violations).to.deep.equal([]);
    expect(report.lostAllocations).to.equal(2);
  });

  describe("layout versions", () => {
    it("should read a heap whose magic and version a crash took back (top kept): an empty-looking header is version 2", () => {
      fillHealthy();
      const before = check();
      t.heap.mem.setU32(0, 0);
      t.heap.mem.setU32(4, 0);
      expect(check()).to.deep.equal(before);
      expect(before.ok).to.equal(true);
    });

    it("should catch an unknown layout version, and a magic of 0 with a version", () => {
      t.store.set("s", "x");
      t.heap.mem.setU32(4, 3);
      expectViolation(check(), /^heap header: layout version 3, this checker reads 1 and 2/);
      t.heap.mem.setU32(0, 0);
      expectViolation(check(), /^heap header: magic 0x00000000 with version 3, not 'HEAP'/);
    });

    it("should catch two slots with one owner, and a free slot (owner 0/0) with a free list", () => {
      fillHealthy();
      t.heap.mem.write(slotAt(1), t.heap.mem.read(slotAt(0), 8));
      expectViolation(check(), /^slot 1: the same owner \(0x[0-9a-f]{16}\) as slot 0/);
      t.heap.mem.write(slotAt(1), new Uint8Array(8));
      t.heap.mem.setU32(slotAt(2) + 8 + 4 * 1, 4096);
      expectViolation(check(), /^slot 2: free \(owner 0\/0\) but its free list 1 starts at 4096/);
    });

    /** A version 1 header by hand (objects made before): one free 128 B block on the shared list of class 3. */
    function formatV1(): void {
      const mem = t.heap.mem;
      mem.setU32(0, 0x50414548);
      mem.setU32(4, 1);
      mem.setU32(8, 256);
      mem.setU32(16 + 4 * 3, 128);
      mem.setU32(128, 3);
    }

    it("should read a version 1 heap: its shared lists walked, its frees (which go on no list) counted as unlisted free blocks", () => {
      formatV1();
      fillHealthy();
      const report = check();
      expect(report.violations).to.deep.equal([]);
      expect(report.liveBlocks).to.equal(t.store.heap.liveBlocks());
      expect(report.freeBlocks, "the shared list's block was popped").to.equal(0);
      expect(report.unlistedFreeBlocks).to.be.greaterThan(10);
    });

    it("should catch a broken version 1 shared list", () => {
      formatV1();
      t.heap.mem.setU32(128 + BLOCK_HEADER, 128);
      expectViolation(check(), /^free list 3 \(128 B blocks\): a cycle back to block 128/);
    });
  });

  it("should list at most MAX_VIOLATIONS and sum up the rest", () => {
    for (let i = 0; i < MAX_VIOLATIONS + 5; i++) t.store.set(`f${i}`, i);
    for (let i = 0; i < MAX_VIOLATIONS + 5; i++) t.data.mem.setU32(FIELD_CELL(i), 99);
    const report = check();
    expect(report.violations).to.have.length(MAX_VIOLATIONS + 1);
    expect(report.violations.at(-1)).to.equal("... and 5 more");
  });

  describe("checkHeap(this)", () => {
    it("should check the object `this` belongs to and return a plain report", async () => {
      const cls = await fixtureClass("heap-values.ts", "HeapValues");
      createIn(t.store, cls);
      const self = selfOf(t.store, cls);
      self.mutate();
      const report = checkHeap(self);
      expect(report.ok, report.violations.join("\n")).to.equal(true);
      expect(report.liveBlocks).to.equal(t.store.heap.liveBlocks());
      expect(JSON.parse(JSON.stringify(report))).to.deep.equal(report);
    });

    it("should refuse anything that is not the `this` of a persistent object", () => {
      expect(() => checkHeap({})).to.throw(TypeError, /checkHeap\(self\): pass `this`/);
    });
  });
});

