/**
 * Tests of AtomicUnits (ra-kernel/atomic-units.ts): units by atomic id and by the isibas of
 * their frames, frames' segments gathered in order, the first broken reason kept, a wound
 * told once (and to a wait for a monitor), and ended units forgotten.
 */
import { expect } from "chai";
import { asAtomicId, asServerId, newSysName } from "../../ra-kernel/ids.js";
import { AtomicUnits } from "../../ra-kernel/atomic-units.js";
import { isPending } from "../support/deferred.js";

const T = asAtomicId("t:ws1:01J0000000000000000000000C");

describe("AtomicUnits", () => {
  it("should gather its frames' segments in order, keep the first broken reason, and know its isibas", () => {
    const units = new AtomicUnits();
    const unit = units.begin({ id: T, since: 5 }, 7);
    const obj = newSysName(asServerId("ds1")), seg = newSysName(asServerId("ds1"));
    units.bindIsiba(3, unit);
    unit.addFrame(3, obj, [{ segment: seg, pages: [{ page: 0, log: new Uint8Array(8) }] }]);
    unit.addFrame(-1, undefined, [{ segment: seg, pages: [{ page: 1, log: new Uint8Array(8) }] }], "page 1 was lost");
    unit.addFrame(4, obj, [], "later reason");
    expect(unit.logs.map((l) => l.pages[0].page)).to.deep.equal([0, 1]);
    expect(unit.frames).to.deep.equal([{ isiba: 3, object: obj }, { isiba: 4, object: obj }]);
    expect(unit.broken).to.equal("page 1 was lost");
    expect(units.unitOfIsiba(3)).to.equal(unit);
    units.unbindIsiba(3);
    expect(units.unitOfIsiba(3)).to.equal(undefined);
    expect(() => units.begin({ id: T, since: 6 }, 8)).to.throw(/already running/);
    units.end(unit);
    expect(units.get(T)).to.equal(undefined);
    expect(units.size).to.equal(0);
  });

  it("should tell a wound once, to whoever waits for it, and ignore one for a unit not running here", async () => {
    const units = new AtomicUnits();
    const unit = units.begin({ id: T, since: 5 }, 7);
    expect(await isPending(unit.woundedSignal)).to.equal(true);
    expect(units.wound(T, "an older atomic thread waits for it")).to.equal(true);
    expect(units.wound(T, "a second reason")).to.equal(true);
    expect(await unit.woundedSignal).to.equal("an older atomic thread waits for it");
    expect(unit.wounded).to.equal("an older atomic thread waits for it");
    units.end(unit);
    expect(units.wound(T, "too late")).to.equal(false);
  });
});
