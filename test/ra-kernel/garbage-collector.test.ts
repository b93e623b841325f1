import { expect } from "chai";
import { runInNewContext } from "node:vm";
import { GarbageCollector } from "../../ra-kernel/garbage-collector.js";

describe("GarbageCollector", () => {
  it("should ask for a collection once every `every` tables released", async () => {
    const gc = new GarbageCollector(10);
    gc.released(4);
    gc.released(5);
    expect(gc.collections).to.equal(0);
    gc.released(1);
    expect(gc.collections).to.equal(1);
    gc.released(25);
    expect(gc.collections).to.equal(2);
    await new Promise((resolve) => setImmediate(resolve)); // the collection runs, and nothing breaks
  });

  it("should leave no `gc` in contexts made afterwards (object code's)", () => {
    new GarbageCollector(1);
    expect(runInNewContext("typeof gc")).to.equal("undefined");
  });
});
