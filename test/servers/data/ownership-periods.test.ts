/**
 * Tests of OwnershipPeriods (servers/data/ownership-periods.ts): a page rebuilt from its
 * durable image and the periods kept takes each owner's changed words in order, never over
 * a newer committed word, and nothing of a server whose periods were dropped; drops by stamp;
 * the bound that makes a page fall back on the conservative revert.
 */
import { expect } from "chai";
import { PAGE_SIZE } from "../../../ra-kernel/ids.js";
import { WORDS_PER_PAGE } from "../../../ra-kernel/page-log.js";
import { MAX_PERIODS, OwnershipPeriods } from "../../../servers/data/ownership-periods.js";

/** A page of zeros with these u32 words set ([byte offset, value]). */
function pageWith(...words: [number, number][]): Uint8Array {
  const out = new Uint8Array(PAGE_SIZE);
  for (const [at, value] of words) new DataView(out.buffer).setUint32(at, value, true);
  return out;
}

/** Durable stamps with these words' stamps set ([byte offset, stamp]). */
function stampsWith(...words: [number, number][]): Float64Array {
  const out = new Float64Array(WORDS_PER_PAGE);
  for (const [at, stamp] of words) out[at >> 2] = stamp;
  return out;
}

describe("OwnershipPeriods", () => {
  it("should rebuild nothing when no period is kept: the durable image is the coherent one", () => {
    expect(new OwnershipPeriods().rebuild(pageWith([0, 1]), null)).to.equal(null);
  });

  it("should take the words each owner changed, in order, on top of the durable image", () => {
    const p = new OwnershipPeriods();
    p.record("cs1", null, pageWith([0, 1], [8, 9]), 0, 1);
    p.record("cs2", pageWith([0, 1], [8, 9]), pageWith([0, 2], [4, 2], [8, 9]), 1, 3);
    const durable = pageWith([8, 9], [12, 7]); // word 12 committed by someone else after both periods
    expect(p.rebuild(durable, stampsWith([12, 4]))).to.deep.equal(pageWith([0, 2], [4, 2], [8, 9], [12, 7]));
    expect(durable, "the durable image is not changed").to.deep.equal(pageWith([8, 9], [12, 7]));
  });

  it("should leave out a dropped server's words, keeping another's written on top of them", () => {
    const p = new OwnershipPeriods();
    p.record("cs1", null, pageWith([0, 1], [4, 1]), 0, 2);
    p.record("cs2", pageWith([0, 1], [4, 1]), pageWith([0, 1], [4, 5]), 2, 4);
    p.drop("cs1");
    expect(p.rebuild(new Uint8Array(PAGE_SIZE), null), "cs2 overwrote word 4, cs1's word 0 is gone").to.deep.equal(pageWith([4, 5]));
    expect([...p.holders()]).to.deep.equal(["cs2"]);
  });

  it("should not take a word back over a newer committed write of it", () => {
    const p = new OwnershipPeriods();
    p.record("cs1", null, pageWith([0, 1], [4, 1]), 0, 2);
    const durable = pageWith([0, 3]);
    expect(p.rebuild(durable, stampsWith([0, 5])), "word 0 was committed at stamp 5, after the period").to.deep.equal(pageWith([0, 3], [4, 1]));
    expect(p.rebuild(durable, stampsWith([0, 2])), "committed within the period: the period's last value").to.deep.equal(pageWith([0, 1], [4, 1]));
  });

  it("should take a word its owner set back to the value it was granted, over a change of it committed during the period", () => {
    // Granted at stamp 1 with word 0 = 0; the owner wrote 9 (stamp 2, committed) then 0 (stamp 3, not committed).
    const p = new OwnershipPeriods();
    p.record("cs1", pageWith([4, 1]), pageWith([4, 1]), 1, 3);
    const durable = pageWith([0, 9], [4, 1]);
    expect(p.rebuild(durable, stampsWith([0, 2])), "the period's 0 is newer than the durable 9").to.deep.equal(pageWith([4, 1]));
    expect(p.rebuild(durable, stampsWith([0, 1])), "committed before the period: the period never wrote it").to.deep.equal(durable);
    expect(p.rebuild(durable, stampsWith([0, 4])), "committed after the period").to.deep.equal(durable);
  });

  it("should compare a period with no image granted with the durable image now", () => {
    const p = new OwnershipPeriods();
    p.record("cs1", null, pageWith([0, 1], [4, 1]), 0, 2);
    // cs1 committed word 0 meanwhile: the durable image has it, the rebuild keeps it either way.
    expect(p.rebuild(pageWith([0, 1]), stampsWith([0, 1]))).to.deep.equal(pageWith([0, 1], [4, 1]));
  });

  it("should drop a server's periods up to a stamp only", () => {
    const p = new OwnershipPeriods();
    p.record("cs1", null, pageWith([0, 1]), 0, 2);
    p.record("cs2", pageWith([0, 1]), pageWith([0, 1], [4, 2]), 2, 3);
    p.record("cs1", pageWith([0, 1], [4, 2]), pageWith([0, 1], [4, 2], [8, 3]), 3, 5);
    p.drop("cs1", 4);
    expect(p.size).to.equal(2);
    expect(p.rebuild(new Uint8Array(PAGE_SIZE), null), "cs1's first period (committed) is gone, its second kept").to.deep.equal(pageWith([4, 2], [8, 3]));
  });

  it("should give up keeping periods past the bound, until cleared", () => {
    const p = new OwnershipPeriods();
    for (let i = 0; i <= MAX_PERIODS; i++) p.record(`cs${i % 3}`, null, pageWith([0, i]), i, i + 1);
    expect(p.lost).to.equal(true);
    expect(p.size).to.equal(0);
    p.record("cs1", null, pageWith([0, 1]), 999, 1000);
    expect(p.size, "nothing is kept once lost").to.equal(0);
    p.clear();
    expect(p.lost).to.equal(false);
  });
});
