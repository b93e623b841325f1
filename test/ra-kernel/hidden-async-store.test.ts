import { expect } from "chai";
import { HiddenAsyncStore } from "../../ra-kernel/hidden-async-store.js";

describe("HiddenAsyncStore", () => {
  it("should give its value to the code run with it, across awaits, and none after", async () => {
    const store = new HiddenAsyncStore<{ n: number }>();
    const value = { n: 1 };
    const seen = await store.run(value, async () => {
      const before = store.get();
      await Promise.resolve();
      const inner = store.run({ n: 2 }, () => store.get()?.n);
      return [before, store.get(), inner];
    });
    expect(seen).to.deep.equal([value, value, 2]);
    expect(store.get()).to.equal(undefined);
  });

  it("should leave on promises only empty frozen tokens, and read nothing under another store", async () => {
    const store = new HiddenAsyncStore<string>(), other = new HiddenAsyncStore<string>();
    let promise!: Promise<void>;
    store.run("secret", () => {
      promise = Promise.resolve();
    });
    const onPromise = Object.getOwnPropertySymbols(promise).map((k) => (promise as unknown as Record<symbol, unknown>)[k]).filter((v) => typeof v === "object" && v !== null);
    expect(onPromise.length).to.be.greaterThan(0);
    for (const token of onPromise) {
      expect(Object.isFrozen(token)).to.equal(true);
      expect(Reflect.ownKeys(token as object)).to.deep.equal([]);
    }
    // A continuation run under another store sees none of this one.
    const seen = await other.run("mine", async () => {
      await null;
      return [other.get(), store.get()];
    });
    expect(seen).to.deep.equal(["mine", undefined]);
  });
});
