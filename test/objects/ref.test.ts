import { expect } from "chai";
import { asServerId, newSysName } from "../../ra-kernel/ids.js";
import { instanceProxy } from "../../objects/instance-proxy.js";
import { makeRef } from "../../objects/ref.js";
import { newStore } from "../support/object-memory.js";
import { RecordingContext } from "../support/recording-context.js";

type Fields = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe("Ref", () => {
  it("should pass views read from fields as copies (arguments are values)", async () => {
    const o = instanceProxy<Fields>(newStore().store, Object.prototype);
    o.raw = new Uint8Array([1, 2]);
    o.when = new Date(5);
    o.items = [1, { a: [2] }];
    o.byName = new Map([["k", new Set([3])]]);
    const ctx = new RecordingContext(() => ({ value: "ok", server: "cs1" }));
    const peer = makeRef<{ take(...args: unknown[]): string }>(newSysName(asServerId("ds1")), ctx);
    expect(await peer.take(o.raw, o.when, o.items, o.byName)).to.equal("ok");
    o.raw[0] = 9;
    expect((ctx.calls[0].args as { args: unknown[] }).args).to.deep.equal([
      new Uint8Array([1, 2]), new Date(5), [1, { a: [2] }], new Map([["k", new Set([3])]]),
    ]);
  });
});
