/**
 * Tests of PageDirectory (servers/data/page-directory.ts): entries created from the store's
 * version on first use, holders dropped from every page, segments forgotten, and the
 * PageInfo view of `pages NAME`. (PageHome, which changes entries, has its own tests.)
 */
import { expect } from "chai";
import { newSysName, type ServerId } from "../../../ra-kernel/ids.js";
import { ownDirty, ownDoom, ownFenced, PageDirectory, pageKey, type PageRef } from "../../../servers/data/page-directory.js";
import { OwnershipPeriods } from "../../../servers/data/ownership-periods.js";

const ds1 = "ds1" as ServerId;

describe("PageDirectory", () => {
  let dir: PageDirectory;
  const seg = newSysName(ds1);
  const seg2 = newSysName(ds1);
  const p0: PageRef = { segment: seg, page: 0 };
  const p1: PageRef = { segment: seg, page: 1 };
  const q0: PageRef = { segment: seg2, page: 0 };

  beforeEach(() => {
    dir = new PageDirectory();
  });

  /** The entry of `ref`, as a page never written (stored version 0) would start. */
  const entry = (ref: PageRef, stored = 0) => dir.entry(ref, () => stored);

  it("should key pages by segment and page number", () => {
    expect(pageKey(seg, 3)).to.equal(`${seg}#3`);
  });

  it("should start empty", () => {
    expect(dir.size).to.equal(0);
    expect(dir.peek(p0)).to.equal(undefined);
    expect(dir.info([seg])).to.deep.equal([]);
  });

  it("should create an entry the first time a page is served, one version above the store's", () => {
    let asked = 0;
    const e = dir.entry(p0, () => {
      asked++;
      return 4;
    });
    expect(e).to.deep.equal({
      version: 5, owner: null, copyset: new Set(), storedVersion: 4, pending: null,
      stamp: 0, dirty: new Map(), periods: new OwnershipPeriods(), twin: null, twinStamp: 0, doom: new Set(), fenced: new Map(), tainted: false, reverting: null, durable: null, durableStamps: null, doneBy: null, doneAt: 0, unsynced: 0, synced: null,
    });
    expect(entry(p0, 99), "the same entry, the store not asked again").to.equal(e);
    expect(asked).to.equal(1);
    expect(entry(p1).version, "above 0 even for a page never written").to.equal(1);
    expect(dir.size).to.equal(2);
    expect(dir.peek(p0)).to.equal(e);
  });

  it("should start entries with shared empty dirty, doom and fenced that refuse changes, and give one its own on first add", () => {
    const [a, b] = [entry(p0), entry(p1)];
    expect(a.dirty).to.equal(b.dirty);
    expect(() => a.dirty.set("cs1", 1)).to.throw(/read-only/);
    expect(() => a.doom.add("cs1")).to.throw(/read-only/);
    expect(() => a.fenced.set("cs1", 1)).to.throw(/read-only/);
    ownDirty(a).set("cs1", 3);
    ownDoom(a).add("cs2");
    ownFenced(a).set("cs2", Infinity);
    expect([a.dirty.get("cs1"), a.doom.has("cs2"), a.fenced.get("cs2")]).to.deep.equal([3, true, Infinity]);
    expect([b.dirty.size, b.doom.size, b.fenced.size], "the other entry's are still empty").to.deep.equal([0, 0, 0]);
    expect(ownDirty(a)).to.equal(a.dirty);
  });

  it("should drop a holder from every copyset and ownership, counting the pages it held", () => {
    entry(p0).copyset = new Set(["cs1", "cs2"]);
    Object.assign(entry(p1), { owner: "cs2", copyset: new Set(["cs2"]) });
    entry(q0).copyset = new Set(["cs1"]);
    expect(dir.heldBy("cs2")).to.equal(2);
    expect(dir.dropHolder("cs2")).to.deep.equal({ held: 2, tainted: [p1] });
    expect([...dir.peek(p0)!.copyset]).to.deep.equal(["cs1"]);
    expect(dir.peek(p1)).to.include({ owner: null });
    expect(dir.peek(p1)!.copyset.size).to.equal(0);
    expect(dir.heldBy("cs2")).to.equal(0);
    expect(dir.heldBy("cs1")).to.equal(2);
    expect(dir.dropHolder("cs9")).to.deep.equal({ held: 0, tainted: [] });
  });

  it("should taint the pages a dropped holder owned or was dirty in, and only those", () => {
    Object.assign(entry(p0), { copyset: new Set(["cs1", "cs2"]), dirty: new Set(["cs2"]) });
    Object.assign(entry(p1), { owner: "cs2", copyset: new Set(["cs2"]) });
    Object.assign(entry(q0), { copyset: new Set(["cs2"]), dirty: new Set(["cs1"]) });
    const dropped = dir.dropHolder("cs2");
    expect(dropped.held).to.equal(3);
    expect(dropped.tainted).to.have.deep.members([p0, p1]);
    expect(dir.peek(p0)).to.include({ tainted: true });
    expect(dir.peek(p0)!.dirty.size, "no longer dirty: its writes are to be reverted").to.equal(0);
    expect(dir.peek(p1)).to.include({ tainted: true, owner: null });
    expect(dir.peek(q0), "a mere reader's page keeps its image").to.include({ tainted: false });
    expect([...dir.peek(q0)!.dirty.keys()]).to.deep.equal(["cs1"]);
  });

  it("should take away the dirty mark of a dropped holder that owned the page too", () => {
    Object.assign(entry(p0), { owner: "cs2", copyset: new Set(["cs2"]), dirty: new Map([["cs2", 7], ["cs1", 5]]) });
    expect(dir.dropHolder("cs2").tainted).to.deep.equal([p0]);
    expect([...dir.peek(p0)!.dirty.keys()], "its mark would never clear: the page never settles, and its next drop reverts again").to.deep.equal(["cs1"]);
    expect(dir.peek(p0)).to.include({ tainted: true, owner: null });
  });

  it("should keep a dropped holder's pending bytes and versions", () => {
    const e = entry(p0);
    Object.assign(e, { version: 7, owner: "cs1", copyset: new Set(["cs1"]), pending: new Uint8Array([1]) });
    dir.dropHolder("cs1");
    expect(e.version).to.equal(7);
    expect(e.pending).to.deep.equal(new Uint8Array([1]));
  });

  it("should forget every page of one segment and no other's", () => {
    entry(p0);
    entry(p1);
    entry({ segment: seg, page: 10 });
    entry(q0);
    dir.forgetSegment(seg);
    expect(dir.peek(p0)).to.equal(undefined);
    expect(dir.peek({ segment: seg, page: 10 })).to.equal(undefined);
    expect(dir.peek(q0)).not.to.equal(undefined);
    expect(dir.size).to.equal(1);
  });

  it("should name the first page that breaks an invariant, by its key", () => {
    entry(p0);
    expect(dir.check()).to.equal(null);
    Object.assign(entry(q0), { owner: "cs1", copyset: new Set(["cs1", "cs2"]) });
    expect(dir.check()).to.equal(`${pageKey(seg2, 0)}: owner cs1 is not alone in its copyset {cs1, cs2}`);
  });

  it("should not confuse page 1 with page 10", () => {
    entry({ segment: seg, page: 10 }).copyset.add("cs1");
    expect(dir.peek(p1)).to.equal(undefined);
    expect(entry(p1).copyset.size).to.equal(0);
  });

  it("should describe the pages of the asked segments, in the order asked, then by page", () => {
    Object.assign(entry({ segment: seg, page: 10 }, 2), { owner: "cs2", copyset: new Set(["cs2"]) });
    entry(p0, 1).copyset = new Set(["cs3", "cs1"]);
    entry(q0);
    entry({ segment: newSysName(ds1), page: 0 });
    expect(dir.info([seg2, seg])).to.deep.equal([
      { segment: seg2, page: 0, version: 1, owner: null, copyset: [], storedVersion: 0 },
      { segment: seg, page: 0, version: 2, owner: null, copyset: ["cs1", "cs3"], storedVersion: 1 },
      { segment: seg, page: 10, version: 3, owner: "cs2", copyset: ["cs2"], storedVersion: 2 },
    ]);
    expect(dir.info([])).to.deep.equal([]);
  });

  describe("prune", () => {
    it("should forget an entry nobody holds and nothing is pending in, and the segment with its last page", () => {
      entry(p0);
      entry(p1);
      expect(dir.prune(p0), "p1 is left in the segment").to.equal(false);
      expect([dir.peek(p0), dir.size, dir.pruned]).to.deep.equal([undefined, 1, 1]);
      expect(dir.prune(p1), "the segment's last page").to.equal(true);
      expect([dir.size, dir.info([seg])]).to.deep.equal([0, []]);
    });

    it("should keep every entry that holds anything the store does not", () => {
      const keepers: Array<(e: ReturnType<typeof entry>) => void> = [
        (e) => { e.owner = "cs1"; e.copyset.add("cs1"); },
        (e) => e.copyset.add("cs2"),
        (e) => (e.pending = new Uint8Array(8)),
        (e) => ownDirty(e).set("cs1", 3),
        (e) => e.periods.record("cs1", null, new Uint8Array(8), 0, 1),
        (e) => (e.twin = new Uint8Array(8)),
        (e) => ownDoom(e).add("cs1"),
        (e) => ownFenced(e).set("cs1", Infinity),
        (e) => (e.tainted = true),
        (e) => (e.reverting = Promise.resolve()),
        (e) => (e.durable = new Uint8Array(8)),
      ];
      keepers.forEach((keep, i) => {
        const ref: PageRef = { segment: seg2, page: i };
        keep(entry(ref));
        expect(dir.prune(ref), `keeper ${i}`).to.equal(false);
        expect(dir.peek(ref), `keeper ${i}`).to.not.equal(undefined);
      });
    });

    it("should start a page served again above every version and stamp it ever had", () => {
      const e = entry(p0, 4);
      e.version = 9;
      e.stamp = 17;
      dir.prune(p0);
      const again = entry(p0, 4);
      expect([again.version, again.stamp, again.storedVersion]).to.deep.equal([10, 17, 4]);
      expect(entry(q0, 20).version, "a page stored further on starts above its store's version").to.equal(21);
    });
  });
});
