import { expect } from "chai";
import { privateSlot } from "../../ra-kernel/private-slot.js";

describe("privateSlot", () => {
  it("should keep a value on an object that only its own slot reads", () => {
    const a = privateSlot<string>(), b = privateSlot<string>();
    const target = {};
    a.set(target, "secret");
    expect(a.get(target)).to.equal("secret");
    expect(b.get(target), "another slot").to.equal(undefined);
    expect(Reflect.ownKeys(target), "nothing to see on it").to.deep.equal([]);
    expect(a.get({})).to.equal(undefined);
    expect(a.get(42)).to.equal(undefined);
    expect(a.get(null)).to.equal(undefined);
  });

  it("should put the value on a Proxy and read it back without running any trap", () => {
    const slot = privateSlot<number>();
    const traps: string[] = [];
    const handler = new Proxy({}, { get: (_t, trap) => { traps.push(String(trap)); return undefined; } });
    const proxy = new Proxy({}, handler);
    slot.set(proxy, 7);
    expect(slot.get(proxy)).to.equal(7);
    expect(traps).to.deep.equal([]);
  });
});
