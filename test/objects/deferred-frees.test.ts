import { expect } from "chai";
import { DeferredFrees, runDeferringFrees } from "../../objects/deferred-frees.js";
import { instanceProxy } from "../../objects/instance-proxy.js";
import { toPlain } from "../../objects/to-plain.js";
import { newStore, type TestStore } from "../support/object-memory.js";

type Fields = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe("DeferredFrees", () => {
  let t: TestStore;
  let o: Fields;
  let base: number;

  beforeEach(() => {
    t = newStore();
    o = instanceProxy<Fields>(t.store, Object.prototype);
    o.byKey = new Map();
    o.items = [];
    o.q = [];
    base = t.store.heap.liveBlocks();
  });

  /** Runs `body` as the isiba runs an entry: result made plain, then the queued frees run. */
  async function invoke(body: () => unknown): Promise<unknown> {
    const frees = new DeferredFrees();
    try {
      return toPlain(await runDeferringFrees(frees, async () => body()));
    } finally {
      frees.flush();
    }
  }

  it("should keep a Map value readable after its delete, for the rest of the invocation", async () => {
    o.byKey.set("k", { name: "ana", tags: ["a", "b"], inner: new Map([["x", [1]]]) });
    let kept: Fields = {};
    const result = await invoke(async () => {
      const m = o.byKey.get("k");
      o.byKey.delete("k");
      await Promise.resolve();
      kept = m;
      expect(m.tags[1]).to.equal("b");
      return m;
    });
    expect(result).to.deep.equal({ name: "ana", tags: ["a", "b"], inner: new Map([["x", [1]]]) });
    expect(t.store.heap.liveBlocks()).to.equal(base);
    expect(() => kept.name).to.throw(/no longer exists/);
  });

  it("should keep an element readable after the array is truncated, for the rest of the invocation", async () => {
    o.items = [{ id: 1, body: [1, 2] }, { id: 2 }];
    const result = await invoke(() => {
      const item = o.items[0];
      o.items.length = 0;
      return item;
    });
    expect(result).to.deep.equal({ id: 1, body: [1, 2] });
    expect(o.items.length).to.equal(0);
    expect(t.store.heap.liveBlocks()).to.equal(base + 1); // the new empty array's header
    o.items = [];
    expect(t.store.heap.liveBlocks()).to.equal(base);
  });

  it("should drain a queue of nested messages by shift, Mailbox-like", async () => {
    const sent = Array.from({ length: 50 }, (_, i) => ({ from: `s${i % 3}`, seq: i, body: { words: ["w", i], at: new Date(i) } }));
    for (const m of sent) o.q.push(m);
    const result = await invoke(() => {
      const out: unknown[] = [];
      while (o.q.length) out.push(o.q.shift());
      return out;
    });
    expect(result).to.deep.equal(sent);
    expect(o.q.length).to.equal(0);
    expect(t.store.heap.liveBlocks()).to.equal(base + 1); // the (empty) queue keeps its cells block
    o.q = [];
    expect(t.store.heap.liveBlocks()).to.equal(base);
  });

  it("should keep an overwritten field's old view readable until the end", async () => {
    o.cfg = { limits: [1, 2] };
    const result = await invoke(() => {
      const old = o.cfg;
      o.cfg = { limits: [] };
      return old.limits;
    });
    expect(result).to.deep.equal([1, 2]);
  });

  it("should still free what an invocation removed when it throws", async () => {
    o.byKey.set("a", [{ deep: 1 }]);
    o.items = [[1], [2]];
    const blocks = t.store.heap.liveBlocks();
    let caught: unknown;
    await invoke(async () => {
      o.byKey.delete("a");
      o.items.length = 0;
      await Promise.resolve();
      expect(t.store.heap.liveBlocks(), "nothing freed yet, the key's string neither").to.equal(blocks);
      throw new Error("entry failed");
    }).catch((err: unknown) => (caught = err));
    expect((caught as Error).message).to.equal("entry failed");
    o.items = [];
    expect(t.store.heap.liveBlocks()).to.equal(base);
  });

  it("should keep each invocation's queue apart when several are in progress", async () => {
    o.byKey.set("a", { a: 1 });
    o.byKey.set("b", { b: 2 });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = invoke(async () => {
      const b = o.byKey.get("b");
      o.byKey.delete("b");
      await gate;
      return b;
    });
    const fast = await invoke(() => {
      const a = o.byKey.get("a");
      o.byKey.delete("a");
      return a;
    });
    expect(fast).to.deep.equal({ a: 1 });
    release();
    expect(await slow, "not freed by the other invocation's end").to.deep.equal({ b: 2 });
    expect(t.store.heap.liveBlocks()).to.equal(base);
  });

  it("should drop the queue of an invocation whose commit was not applied: nothing freed, later frees run at once", async () => {
    o.items = [[1], [2]];
    const blocks = t.store.heap.liveBlocks();
    const frees = new DeferredFrees();
    await runDeferringFrees(frees, async () => {
      o.items.length = 0;
    });
    expect(frees.size).to.be.greaterThan(0);
    frees.drop();
    expect(frees.size).to.equal(0);
    expect(t.store.heap.liveBlocks(), "its detaching never happened durably: the blocks leak, never freed twice").to.equal(blocks);
    let ran = 0;
    frees.defer(() => ran++);
    expect(ran).to.equal(1);
  });

  it("should free at once outside an invocation, and after the queue was flushed", () => {
    o.items = [[1]];
    const view = o.items[0];
    o.items.length = 0;
    expect(() => view[0]).to.throw(/no longer exists/);
    const frees = new DeferredFrees();
    let ran = 0;
    frees.defer(() => ran++);
    expect(frees.size).to.equal(1);
    frees.flush();
    frees.defer(() => ran++);
    expect(ran).to.equal(2);
    expect(frees.size).to.equal(0);
  });
});
