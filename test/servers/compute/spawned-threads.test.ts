/**
 * Tests of SpawnedThreads (servers/compute/spawned-threads.ts): a spawned thread's end is
 * joined for its value or its error, once; an id never spawned here is refused clearly.
 */
import { expect } from "chai";
import { SpawnedThreads, UnknownThreadError } from "../../../servers/compute/spawned-threads.js";
import { expectRejection } from "../../support/expect-rejection.js";

describe("SpawnedThreads", () => {
  it("should join a thread for its value once, then forget it", async () => {
    const spawned = new SpawnedThreads();
    spawned.track("t:ws1:a", Promise.resolve(42));
    expect(await spawned.join("t:ws1:a")).to.equal(42);
    const err = await expectRejection(spawned.join("t:ws1:a"), UnknownThreadError);
    expect(err.message).to.include("no thread t:ws1:a was spawned on this compute server");
    expect(spawned.counts).to.deep.equal({ spawned: 1, joined: 1 });
  });

  it("should pass a spawned thread's error on to its join", async () => {
    const spawned = new SpawnedThreads();
    const failed = Promise.reject(new Error("the child threw"));
    spawned.track("t:ws1:b", failed);
    const err = await spawned.join("t:ws1:b").then(() => null, (e: Error) => e);
    expect(err?.message).to.equal("the child threw");
  });
});
