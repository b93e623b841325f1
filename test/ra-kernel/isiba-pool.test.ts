import { expect } from "chai";
import { IsibaPool, type RunSpec } from "../../ra-kernel/isiba-pool.js";
import { newSysName, newThreadId, asServerId, type SysName } from "../../ra-kernel/ids.js";
import { MemoryPager } from "../support/memory-pager.js";
import { compileExample } from "../support/compiled-examples.js";
import type { CompiledClass } from "../../objects/class-compiler.js";

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

  function spec(op: "create" | "call", entry: string, args: unknown[]): RunSpec {
    return {
      op, object, entry, args,
      klass: { key: `${rect.name}@1`, name: rect.name, code: rect.code },
      data: pager.segment(data as SysName, 16),
      heap: pager.segment(heap as SysName),
      thread: { id: newThreadId("test"), depth: 0 },
    };
  }

  async function runAndWriteBack(op: "create" | "call", entry: string, args: unknown[]): Promise<unknown> {
    const out = await pool.run(spec(op, entry, args));
    pager.writeBack(out.dirty);
    return out.value;
  }

  it("should run a constructor and entries with fields in faulted-in pages", async () => {
    await runAndWriteBack("create", "constructor", []);
    await runAndWriteBack("call", "size", [5, 10]);
    expect(await runAndWriteBack("call", "area", [])).to.equal(50);
    expect(pager.faults).to.be.greaterThan(0);
  });

  it("should report the pages an invocation wrote and none for a read-only one", async () => {
    await runAndWriteBack("create", "constructor", []);
    const write = await pool.run(spec("call", "size", [2, 3]));
    expect(write.dirty.map((d) => d.segment)).to.include(data);
    const read = await pool.run(spec("call", "area", []));
    expect(read.dirty).to.deep.equal([]);
  });

  it("should see only written-back state after its caches are dropped", async () => {
    await runAndWriteBack("create", "constructor", []);
    await runAndWriteBack("call", "size", [7, 6]);
    await pool.close();
    pager.dropCaches();
    pool = new IsibaPool(1, pager.fault, "cs-test");
    expect(await runAndWriteBack("call", "area", [])).to.equal(42);
  });

  it("should reject an unknown entry with a named error", async () => {
    await runAndWriteBack("create", "constructor", []);
    try {
      await pool.run(spec("call", "perimeter", []));
      expect.fail("should have thrown");
    } catch (err) {
      expect((err as Error).name).to.equal("UnknownEntryError");
      expect((err as Error).message).to.contain("perimeter");
    }
  });

  it("should carry an exception thrown by object code with its class name and message", async () => {
    await runAndWriteBack("create", "constructor", []);
    try {
      await pool.run(spec("call", "size", [Symbol.for("x") as unknown as number, 1]));
      expect.fail("should have thrown");
    } catch (err) {
      expect((err as Error).message).to.match(/could not be cloned|symbol/i);
    }
  });
});
