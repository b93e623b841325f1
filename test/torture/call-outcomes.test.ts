import { expect } from "chai";
import { outcomeOf } from "./call-outcomes.js";

describe("CallOutcomes", () => {
  it("should read errors that say the writes are gone, or were never sent, as lost", () => {
    expect(outcomeOf("PagesLostError", "the writes of this invocation to 2 page(s) ... were lost", "ds1")).to.equal("lost");
    expect(outcomeOf("StaleEpochError", "epoch over", "ds2")).to.equal("lost");
    expect(outcomeOf("ServerUnreachableError", "cannot reach 127.0.0.1:1: websocket error: connect ECONNREFUSED 127.0.0.1:1")).to.equal("lost");
  });

  it("should read a connection lost during the call, or a refusal relayed by a server, as unknown", () => {
    expect(outcomeOf("ServerUnreachableError", "compute.invoke: connection to cs2 at 127.0.0.1:1 closed (transport close)")).to.equal("unknown");
    expect(outcomeOf("ServerUnreachableError", "cannot reach 127.0.0.1:1: connect ECONNREFUSED", "cs1")).to.equal("unknown");
    expect(outcomeOf("RequestTimeoutError", "no reply", undefined)).to.equal("unknown");
  });

  it("should read errors only a torn object raises in the Ledger's entries as corrupt", () => {
    expect(outcomeOf("Error", "heap corruption: double free of block at 82560", "cs1")).to.equal("corrupt");
    expect(outcomeOf("StaleViewError", "this persistent array no longer exists", "cs2")).to.equal("corrupt");
    expect(outcomeOf("Error", "corrupt object memory: unknown value tag 77 at 12 of sys:ds1:x", "cs3")).to.equal("corrupt");
    expect(outcomeOf("TypeError", "Cannot read properties of undefined (reading 'length')", "cs1")).to.equal("corrupt");
  });
});
