/**
 * Tests of IsibaPool (ra-kernel/isiba-pool.ts) with real workers over a MemoryPager: entries
 * run in faulted-in pages, each run hands back its last commit segment's writes (a WriteLog
 * in wire form, also on failure), only committed words survive a fresh cache, and the blocks
 * an invocation detached are freed only once `afterCommit` says its commit was applied, as a
 * segment of their own.
 */
import { expect } from "chai";
import { IsibaPool, type RunFailure, type RunSpec } from "../../ra-kernel/isiba-pool.js";
import type { LostWrites } from "../../ra-kernel/isiba-pool-options.js";
import { newSysName, newThreadId, asServerId, PAGE_SIZE, type SysName } from "../../ra-kernel/ids.js";
import { KernelSyscalls } from "../../ra-kernel/kernel-syscalls.js";
import { LockManager } from "../../ra-kernel/lock-manager.js";
import { applyPageLog, WORDS_PER_PAGE } from "../../ra-kernel/page-log.js";
import type { SegmentLog } from "../../ra-kernel/write-log.js";
import { MemoryPager } from "../support/memory-pager.js";
import { compileExample } from "../support/compiled-examples.js";
import { TableLockLink } from "../support/table-lock-link.js";
import type { CompiledClass } from "../../objects/class-compiler.js";

/** The pages a segment log names, per memory segment. */
function pagesOf(logs: SegmentLog[]): Map<SysName, number[]> {
  return new Map(logs.map((l) => [l.segment, l.pages.map((p) => p.page)]));
}

describe("IsibaPool", () => {
  let pager: MemoryPager;
  let pool: IsibaPool;
  let rect: CompiledClass;
  const object = newSysName(asServerId("ds1"));
  const data = newSysName(asServerId("ds1"));
  const heap = newSysName(asServerId("ds1"));

  before(async () => {
    rect = (await compileExample("objects/examples/rectangle.ts"))[0];
  });

  beforeEach(() => {
    pager = new MemoryPager();
    pool = new IsibaPool(2, pager.fault, "cs-test");
  });

  afterEach(async () => {
    await pool.close();
  });

  function spec(op: "create" | "call", entry: string, args: unknown[], klass = rect): RunSpec {
    return {
      op, object, entry, args,
      klass: { key: `${klass.name}@1`, name: klass.name, code: klass.code },
      data: pager.segment(data as SysName, 16),
      heap: pager.segment(heap as SysName),
      thread: { id: newThreadId("test"), depth: 0 },
      since: 0,
    };
  }

  /** One invocation as the UserObjectManager runs it: commit its segment, then its frees'. */
  async function runAndCommit(op: "create" | "call", entry: string, args: unknown[], klass = rect): Promise<unknown> {
    const out = await pool.run(spec(op, entry, args, klass));
    pager.commit(out.log);
    pager.commit(await pool.afterCommit(out.isiba, true));
    return out.value;
  }

  it("should run a constructor and entries with fields in faulted-in pages", async () => {
    await runAndCommit("create", "constructor", []);
    await runAndCommit("call", "size", [5, 10]);
    expect(await runAndCommit("call", "area", [])).to.equal(50);
    expect(pager.faults).to.be.greaterThan(0);
  });

  it("should hand back the words an invocation wrote, and nothing for a read-only one", async () => {
    await runAndCommit("create", "constructor", []);
    const write = await pool.run(spec("call", "size", [2, 3]));
    expect([...pagesOf(write.log).keys()]).to.include(data);
    for (const l of write.log) {
      for (const p of l.pages) {
        const words = new DataView(p.log.buffer, p.log.byteOffset).getUint32(0, true);
        expect(words, "a PageLog of the words written, not the page").to.be.greaterThan(0).and.lessThan(WORDS_PER_PAGE);
      }
    }
    expect(pager.segment(data).writersOf(pagesOf(write.log).get(data)![0]), "counted as written until committed").to.equal(1);
    pager.commit(write.log);
    expect(pager.segment(data).writersOf(pagesOf(write.log).get(data)![0])).to.equal(0);
    const read = await pool.run(spec("call", "area", []));
    expect(read.log).to.deep.equal([]);
  });

  it("should stamp each write above the last, so a later segment's words win", async () => {
    await runAndCommit("create", "constructor", []);
    const first = await pool.run(spec("call", "size", [1, 1]));
    const second = await pool.run(spec("call", "size", [4, 5]));
    // Committed out of order: the newer words still win, word by word.
    pager.commit(second.log);
    pager.commit(first.log);
    await pool.close();
    pager.dropCaches();
    pool = new IsibaPool(1, pager.fault, "cs-test");
    expect(await runAndCommit("call", "area", [])).to.equal(20);
    const maxStamp = (logs: SegmentLog[]) =>
      Math.max(...logs.flatMap((l) => l.pages.map((p) => applyPageLog(p.log, new Uint8Array(PAGE_SIZE), new Float64Array(WORDS_PER_PAGE)))));
    expect(maxStamp(second.log)).to.be.greaterThan(maxStamp(first.log));
  });

  it("should see only committed state after its caches are dropped", async () => {
    await runAndCommit("create", "constructor", []);
    await runAndCommit("call", "size", [7, 6]);
    await pool.run(spec("call", "size", [100, 100])); // never committed
    await pool.close();
    pager.dropCaches();
    pool = new IsibaPool(1, pager.fault, "cs-test");
    expect(await runAndCommit("call", "area", [])).to.equal(42);
  });

  it("should reject an unknown entry with a named error, naming the isiba and an empty segment", async () => {
    await runAndCommit("create", "constructor", []);
    try {
      await pool.run(spec("call", "perimeter", []));
      expect.fail("should have thrown");
    } catch (err) {
      expect((err as Error).name).to.equal("UnknownEntryError");
      expect((err as Error).message).to.contain("perimeter");
      expect((err as unknown as RunFailure).log).to.deep.equal([]);
      expect((err as unknown as RunFailure).isiba).to.be.a("number");
    }
  });

  it("should carry an exception thrown by object code with its class name and message", async () => {
    await runAndCommit("create", "constructor", []);
    try {
      await pool.run(spec("call", "size", [Symbol.for("x") as unknown as number, 1]));
      expect.fail("should have thrown");
    } catch (err) {
      expect((err as Error).message).to.match(/could not be cloned|symbol/i);
    }
  });

  it("should answer afterCommit for an isiba it does not know with no segment", async () => {
    expect(await pool.afterCommit(12345, true)).to.deep.equal([]);
  });

  describe("deferred frees", () => {
    let mailbox: CompiledClass;

    before(async () => {
      mailbox = (await compileExample("objects/examples/mailbox.ts")).find((c) => c.name === "Mailbox")!;
    });

    beforeEach(async () => {
      await pool.close();
      const syscalls = new KernelSyscalls(new LockManager(new TableLockLink()));
      syscalls.committer = {
        commitPoint: async (_isiba, since, segment) => {
          await pager.commit(segment);
          return since;
        },
      };
      pool = new IsibaPool(1, pager.fault, "cs-test", syscalls.handle);
      await runAndCommit("create", "constructor", [], mailbox);
      for (const msg of [{ n: 1 }, { n: 2 }, { n: 3 }]) await runAndCommit("call", "send", [msg], mailbox);
    });

    /** The heap's live block count in this server's frames. */
    const liveBlocks = () => new DataView(pager.segment(heap).copyPage(0).buffer).getUint32(12, true);

    it("should wait for afterCommit only for an invocation that detached blocks", async () => {
      const quiet = await pool.run(spec("call", "size", [], mailbox));
      pager.commit(quiet.log);
      expect(pool.awaitingFrees, "size detached nothing: no committed/freed round trip").to.equal(0);
      const out = await pool.run(spec("call", "drain", [], mailbox));
      pager.commit(out.log);
      expect(pool.awaitingFrees).to.equal(1);
      pager.commit(await pool.afterCommit(out.isiba, true));
      expect(pool.awaitingFrees).to.equal(0);
    });

    it("should free what an invocation detached only once its commit was applied, as a segment of its own", async () => {
      const before = liveBlocks();
      const out = await pool.run(spec("call", "drain", [], mailbox));
      expect(out.value).to.deep.equal([{ n: 1 }, { n: 2 }, { n: 3 }]);
      pager.commit(out.log);
      expect(liveBlocks(), "nothing freed before the commit is answered").to.equal(before);
      const frees = await pool.afterCommit(out.isiba, true);
      expect(liveBlocks()).to.be.lessThan(before);
      expect(pagesOf(frees).get(heap), "the allocator's page is in the frees' segment").to.include(0);
      pager.commit(frees);
      expect(await runAndCommit("call", "size", [], mailbox)).to.equal(0);
      expect(await pool.afterCommit(out.isiba, true), "once only").to.deep.equal([]);
    });

    it("should drop the frees of an invocation whose commit was not applied", async () => {
      const before = liveBlocks();
      const out = await pool.run(spec("call", "drain", [], mailbox));
      expect(await pool.afterCommit(out.isiba, false)).to.deep.equal([]);
      expect(liveBlocks(), "the blocks leak: never freed twice").to.equal(before);
    });
  });

  describe("a worker that dies", () => {
    let hog: CompiledClass;
    let lost: LostWrites[];

    before(async () => {
      hog = (await compileExample("test/fixtures/hog.ts"))[0];
    });

    beforeEach(async () => {
      await pool.close();
      lost = [];
      pool = new IsibaPool(1, pager.fault, "cs-test", undefined, {
        workerHeapMb: 32,
        onWritesLost: async (l) => {
          lost.push(l);
          for (const { frames, page } of l.pages) frames.writersDone([page]);
        },
      });
      await runAndCommit("create", "constructor", [], hog);
      await runAndCommit("call", "bump", [], hog);
    });

    it("should fail its isibas, report the pages their segments wrote, and go on with a new worker", async () => {
      const err = await pool.run(spec("call", "hog", [], hog)).then(() => null, (e: Error & RunFailure) => e);
      expect(err?.name).to.equal("ResourceLimitError");
      expect(err?.message).to.match(/ran out of its 32 MiB JavaScript heap \(--max-invocation-memory\)/);
      expect(err?.log, "its segment died with it").to.deep.equal([]);
      expect(lost).to.have.length(1);
      const written = lost[0].pages.map((p) => `${p.frames.sysname === data ? "data" : "heap"}#${p.page}`);
      expect(written).to.include("data#0");
      expect(lost[0].overflowed).to.equal(false);
      const frames = pager.segment(data as SysName, 16);
      expect(frames.writersOf(0), "every count it held was handed over").to.equal(0);
      expect(await runAndCommit("call", "get", [], hog), "its +100 is in the copy: the kernel must drop it").to.equal(101);
      expect(await runAndCommit("call", "bump", [], hog)).to.equal(102);
    });

    it("should report nothing for a worker whose segments had all been handed over", async () => {
      await runAndCommit("call", "get", [], hog);
      await pool.close();
      expect(lost).to.deep.equal([]);
    });
  });
});
