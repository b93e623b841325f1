/**
 * Tests of WaitingAccesses (ra-kernel/waiting-accesses.ts): `none` waits while an access of
 * the key waits, for every hold of it, and not for other keys; a release counts once.
 */
import { expect } from "chai";
import { WaitingAccesses } from "../../ra-kernel/waiting-accesses.js";
import { isPending } from "../support/deferred.js";

describe("WaitingAccesses", () => {
  it("should hold back `none` of a key until every access of it was served, and no other key", async () => {
    const w = new WaitingAccesses<string>();
    const first = w.hold("a"), second = w.hold("a");
    const none = w.none("a");
    expect(await isPending(none)).to.equal(true);
    expect(await isPending(w.none("b")), "another key").to.equal(false);
    first();
    first(); // counted once
    expect(await isPending(none)).to.equal(true);
    second();
    expect(await isPending(none)).to.equal(false);
    expect(w.size).to.equal(0);
  });

  it("should answer at once when nothing waits, and wait again for an access that comes later", async () => {
    const w = new WaitingAccesses<string>();
    await w.none("a");
    const later = w.hold("a");
    const none = w.none("a");
    expect(await isPending(none)).to.equal(true);
    later();
    await none;
  });
});
