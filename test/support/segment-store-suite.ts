/**
 * The behaviour every SegmentStore must show, as one mocha suite run against each
 * implementation (test/servers/data/*-segment-store.test.ts).
 *
 * Usage, inside a describe():
 *   segmentStoreBehaviour(async () => ({ store, dispose: async () => { ... } }));
 * The suite opens a fresh store before each test and disposes it after each (also when the
 * test failed). The builders of segment-store-fixtures.ts are re-exported for the
 * implementation-specific tests.
 */
import { expect } from "chai";
import { asAtomicId, newSysName, type ServerId } from "../../ra-kernel/ids.js";
import { EVERY_ATTEMPT, type AtomicOutcome, type DecisionRecord } from "../../servers/data/atomic-decisions.js";
import {
  BadPageSizeError,
  PageOutOfRangeError,
  SegmentNotFoundError,
} from "../../servers/data/errors.js";
import type { PreparedRecord, SegmentStore } from "../../servers/data/segment-store.js";
import { HOME, newClass, newObject, pageOf, type ObjectFixture } from "./segment-store-fixtures.js";

export { HOME, newClass, newObject, pageOf, type ObjectFixture } from "./segment-store-fixtures.js";

export interface StoreFixture {
  store: SegmentStore;
  /** Closes the store and removes what it left (files). Must not throw if already closed. */
  dispose(): Promise<void>;
}

/** The error a promise rejects with; fails the test if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected the promise to reject");
}

/** The error a function throws; fails the test if it returns. */
export function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected the call to throw");
}

export function segmentStoreBehaviour(open: () => Promise<StoreFixture>): void {
  let fixture: StoreFixture | undefined;
  let store: SegmentStore;

  beforeEach(async () => {
    fixture = await open();
    store = fixture.store;
  });

  afterEach(async () => {
    await fixture?.dispose();
    fixture = undefined;
  });

  async function created(maxPages = 16): Promise<ObjectFixture> {
    const obj = newObject(maxPages);
    await store.createObject(obj.desc, obj.segments);
    return obj;
  }

  describe("objects", () => {
    it("should create an object and return its descriptor and segments", async () => {
      const { desc, segments } = await created();
      expect(store.getObject(desc.sysname)).to.deep.equal(desc);
      for (const seg of segments) expect(store.getSegment(seg.sysname)).to.deep.equal(seg);
      expect(store.listObjects()).to.deep.equal([desc]);
    });

    it("should raise an object's class version and never lower it", async () => {
      const { desc } = await created();
      expect(await store.upgradeObject(desc.sysname, desc.classVersion + 2)).to.deep.equal({ ...desc, classVersion: desc.classVersion + 2 });
      expect(await store.upgradeObject(desc.sysname, desc.classVersion + 1)).to.deep.equal({ ...desc, classVersion: desc.classVersion + 2 });
      expect(store.getObject(desc.sysname)?.classVersion).to.equal(desc.classVersion + 2);
      expect(await store.upgradeObject(newSysName(HOME), 2)).to.equal(null);
    });

    it("should return null for an unknown object or segment", () => {
      expect(store.getObject(newSysName(HOME))).to.equal(null);
      expect(store.getSegment(newSysName(HOME))).to.equal(null);
    });

    it("should list objects in creation order", async () => {
      const a = newObject();
      const b = newObject();
      b.desc.createdAt = a.desc.createdAt + 1;
      await store.createObject(b.desc, b.segments);
      await store.createObject(a.desc, a.segments);
      expect(store.listObjects().map((d) => d.sysname)).to.deep.equal([a.desc.sysname, b.desc.sysname]);
    });

    it("should refuse to create an object twice", async () => {
      const { desc, segments } = await created();
      await rejection(store.createObject(desc, segments));
      expect(store.listObjects()).to.have.length(1);
    });

    it("should refuse segments that are not the object's", async () => {
      const { desc, segments } = newObject();
      const stranger = { ...segments[0], object: newSysName(HOME) };
      await rejection(store.createObject(desc, [stranger, segments[1], segments[2]]));
      await rejection(store.createObject(desc, segments.slice(1)));
      await rejection(store.createObject(desc, [...segments, { ...segments[0], sysname: newSysName(HOME) }]));
      expect(store.getObject(desc.sysname)).to.equal(null);
    });

    it("should not hand out its own state", async () => {
      const { desc } = await created();
      const copy = store.getObject(desc.sysname)!;
      copy.className = "Changed";
      copy.segments.data = newSysName(HOME);
      expect(store.getObject(desc.sysname)).to.deep.equal(desc);
    });

    it("should delete an object with its segments and pages", async () => {
      const { desc, segments } = await created();
      const other = await created();
      await store.commitPages([{ segment: desc.segments.data, page: 0, bytes: pageOf(1) }]);
      await store.commitPages([{ segment: other.desc.segments.data, page: 0, bytes: pageOf(2) }]);
      expect(await store.deleteObject(desc.sysname)).to.equal(true);
      expect(store.getObject(desc.sysname)).to.equal(null);
      for (const seg of segments) expect(store.getSegment(seg.sysname)).to.equal(null);
      expect(thrown(() => store.readPage(desc.segments.data, 0))).to.be.instanceOf(SegmentNotFoundError);
      expect(store.readPage(other.desc.segments.data, 0).bytes).to.deep.equal(pageOf(2));
      expect(store.listObjects().map((d) => d.sysname)).to.deep.equal([other.desc.sysname]);
    });

    it("should create and delete an object whose volatile segment has no row", async () => {
      const { desc, segments } = newObject();
      await store.createObject(desc, segments.slice(0, 2));
      expect(store.getObject(desc.sysname)).to.deep.equal(desc);
      expect(store.getSegment(desc.segments.volatile)).to.equal(null);
      expect(store.getSegment(desc.segments.heap)).to.deep.equal(segments[1]);
      expect(await store.deleteObject(desc.sysname)).to.equal(true);
      expect(store.getSegment(desc.segments.heap)).to.equal(null);
    });

    it("should count objects as they are created and deleted", async () => {
      expect(store.countObjects()).to.equal(0);
      const a = await created();
      await created();
      expect(store.countObjects()).to.equal(2);
      await store.deleteObject(a.desc.sysname);
      await store.deleteObject(a.desc.sysname);
      expect(store.countObjects()).to.equal(1);
    });

    it("should return false when deleting an unknown object", async () => {
      expect(await store.deleteObject(newSysName(HOME))).to.equal(false);
    });

    it("should let a deleted object's sysname be created again with fresh pages", async () => {
      const { desc, segments } = await created();
      await store.commitPages([{ segment: desc.segments.heap, page: 1, bytes: pageOf(3) }]);
      await store.deleteObject(desc.sysname);
      await store.createObject(desc, segments);
      expect(store.readPage(desc.segments.heap, 1)).to.deep.equal({ bytes: null, version: 0 });
    });
  });

  describe("pages", () => {
    it("should read a page never written as null bytes, version 0", async () => {
      const { desc } = await created();
      expect(store.readPage(desc.segments.data, 0)).to.deep.equal({ bytes: null, version: 0 });
      expect(store.readPage(desc.segments.data, 15)).to.deep.equal({ bytes: null, version: 0 });
    });

    it("should read back committed bytes with version 1", async () => {
      const { desc } = await created();
      const versions = await store.commitPages([
        { segment: desc.segments.data, page: 0, bytes: pageOf(10) },
        { segment: desc.segments.heap, page: 7, bytes: pageOf(20) },
      ]);
      expect(versions).to.deep.equal([1, 1]);
      const page = store.readPage(desc.segments.data, 0);
      expect(page.version).to.equal(1);
      expect(page.bytes).to.be.instanceOf(Uint8Array);
      expect(Buffer.from(page.bytes!).equals(Buffer.from(pageOf(10)))).to.equal(true);
      expect(Buffer.from(store.readPage(desc.segments.heap, 7).bytes!).equals(Buffer.from(pageOf(20)))).to.equal(true);
    });

    it("should increase a page's version at each commit, independently of other pages", async () => {
      const { desc } = await created();
      const seg = desc.segments.data;
      expect(await store.commitPages([{ segment: seg, page: 2, bytes: pageOf(1) }])).to.deep.equal([1]);
      expect(await store.commitPages([{ segment: seg, page: 2, bytes: pageOf(2) }])).to.deep.equal([2]);
      expect(await store.commitPages([{ segment: seg, page: 2, bytes: pageOf(3) }, { segment: seg, page: 3, bytes: pageOf(4) }]))
        .to.deep.equal([3, 1]);
      expect(store.readPage(seg, 2).version).to.equal(3);
      expect(store.readPage(seg, 2).bytes).to.deep.equal(pageOf(3));
    });

    it("should keep the last of two writes of one page in one call", async () => {
      const { desc } = await created();
      const seg = desc.segments.data;
      const versions = await store.commitPages([
        { segment: seg, page: 0, bytes: pageOf(1) },
        { segment: seg, page: 0, bytes: pageOf(2) },
      ]);
      expect(versions).to.deep.equal([1, 2]);
      expect(store.readPage(seg, 0)).to.deep.include({ version: 2 });
      expect(store.readPage(seg, 0).bytes).to.deep.equal(pageOf(2));
    });

    it("should return page bytes that are safe to keep and change", async () => {
      const { desc } = await created();
      await store.commitPages([{ segment: desc.segments.data, page: 0, bytes: pageOf(5) }]);
      const first = store.readPage(desc.segments.data, 0).bytes!;
      first.fill(0xee);
      expect(store.readPage(desc.segments.data, 0).bytes).to.deep.equal(pageOf(5));
    });

    it("should store the bytes as they were when commitPages was called", async () => {
      const { desc } = await created();
      const frame = pageOf(9);
      const commit = store.commitPages([{ segment: desc.segments.data, page: 0, bytes: frame }]);
      frame.fill(0);
      await commit;
      expect(store.readPage(desc.segments.data, 0).bytes).to.deep.equal(pageOf(9));
    });

    it("should resolve an empty commit with no versions", async () => {
      expect(await store.commitPages([])).to.deep.equal([]);
    });

    it("should throw SegmentNotFoundError when reading an unknown segment", () => {
      const missing = newSysName(HOME);
      const err = thrown(() => store.readPage(missing, 0));
      expect(err).to.be.instanceOf(SegmentNotFoundError);
      expect((err as SegmentNotFoundError).sysname).to.equal(missing);
    });

    it("should throw PageOutOfRangeError when reading outside the segment", async () => {
      const { desc } = await created(4);
      for (const page of [4, -1, 1.5, Number.NaN]) {
        const err = thrown(() => store.readPage(desc.segments.data, page));
        expect(err, `page ${page}`).to.be.instanceOf(PageOutOfRangeError);
        expect((err as PageOutOfRangeError).segment).to.equal(desc.segments.data);
      }
    });
  });

  describe("commit checks and atomicity", () => {
    it("should reject a page of the wrong size with BadPageSizeError and store nothing", async () => {
      const { desc } = await created();
      const err = await rejection(
        store.commitPages([
          { segment: desc.segments.data, page: 0, bytes: pageOf(1) },
          { segment: desc.segments.data, page: 1, bytes: new Uint8Array(100) },
        ]),
      );
      expect(err).to.be.instanceOf(BadPageSizeError);
      expect((err as BadPageSizeError).wireFields()).to.deep.equal({ segment: desc.segments.data, page: 1, size: 100 });
      expect(store.readPage(desc.segments.data, 0).version).to.equal(0);
    });

    it("should reject a write to an unknown segment and store none of that call's pages", async () => {
      const { desc } = await created();
      const missing = newSysName(HOME);
      const err = await rejection(
        store.commitPages([
          { segment: desc.segments.data, page: 0, bytes: pageOf(1) },
          { segment: missing, page: 0, bytes: pageOf(2) },
        ]),
      );
      expect(err).to.be.instanceOf(SegmentNotFoundError);
      expect((err as SegmentNotFoundError).sysname).to.equal(missing);
      expect(store.readPage(desc.segments.data, 0)).to.deep.equal({ bytes: null, version: 0 });
    });

    it("should reject a page out of range and store none of that call's pages", async () => {
      const { desc } = await created(2);
      const err = await rejection(
        store.commitPages([
          { segment: desc.segments.data, page: 1, bytes: pageOf(1) },
          { segment: desc.segments.data, page: 2, bytes: pageOf(2) },
        ]),
      );
      expect(err).to.be.instanceOf(PageOutOfRangeError);
      expect((err as PageOutOfRangeError).page).to.equal(2);
      expect(store.readPage(desc.segments.data, 1).version).to.equal(0);
    });

    it("should reject only the bad call of a batch and commit the others", async () => {
      const { desc } = await created();
      const good1 = store.commitPages([{ segment: desc.segments.data, page: 0, bytes: pageOf(1) }]);
      const bad = store.commitPages([
        { segment: desc.segments.data, page: 1, bytes: pageOf(2) },
        { segment: newSysName(HOME), page: 0, bytes: pageOf(3) },
      ]);
      const good2 = store.commitPages([{ segment: desc.segments.data, page: 0, bytes: pageOf(4) }]);
      expect(await rejection(bad)).to.be.instanceOf(SegmentNotFoundError);
      expect(await good1).to.deep.equal([1]);
      expect(await good2).to.deep.equal([2]);
      expect(store.readPage(desc.segments.data, 1).version).to.equal(0);
      expect(store.readPage(desc.segments.data, 0).bytes).to.deep.equal(pageOf(4));
    });
  });

  describe("group commit", () => {
    it("should land 50 concurrent commits from one tick in fewer transactions than calls", async () => {
      const { desc } = await created(64);
      const before = { ...store.stats };
      const commits = Array.from({ length: 50 }, (_, i) =>
        store.commitPages([{ segment: desc.segments.data, page: i, bytes: pageOf(i) }]),
      );
      const versions = await Promise.all(commits);
      expect(versions).to.deep.equal(Array.from({ length: 50 }, () => [1]));
      for (let i = 0; i < 50; i++) expect(store.readPage(desc.segments.data, i).bytes).to.deep.equal(pageOf(i));
      const transactions = store.stats.transactions - before.transactions;
      expect(transactions).to.be.within(1, 49);
      expect(store.stats.commitCalls - before.commitCalls).to.equal(50);
      expect(store.stats.pagesWritten - before.pagesWritten).to.equal(50);
    });

    it("should give concurrent writes of one page consecutive versions in call order", async () => {
      const { desc } = await created();
      const commits = [1, 2, 3].map((fill) => store.commitPages([{ segment: desc.segments.data, page: 0, bytes: pageOf(fill) }]));
      expect(await Promise.all(commits)).to.deep.equal([[1], [2], [3]]);
      expect(store.readPage(desc.segments.data, 0).bytes).to.deep.equal(pageOf(3));
    });

    it("should finish pending commits when closed", async () => {
      const { desc } = await created();
      const commit = store.commitPages([{ segment: desc.segments.data, page: 0, bytes: pageOf(1) }]);
      await store.close();
      expect(await commit).to.deep.equal([1]);
      expect(thrown(() => store.readPage(desc.segments.data, 0))).to.be.instanceOf(Error);
      await rejection(store.commitPages([{ segment: desc.segments.data, page: 0, bytes: pageOf(1) }]));
    });
  });

  describe("classes", () => {
    it("should return the latest version when none is asked, and the asked one otherwise", async () => {
      const v1 = newClass("Rectangle", 1);
      const v2 = newClass("Rectangle", 2);
      await store.putClass(v2);
      await store.putClass(v1);
      expect(store.getClass("Rectangle")).to.deep.equal(v2);
      expect(store.getClass("Rectangle", 1)).to.deep.equal(v1);
      expect(store.getClass("Rectangle", 3)).to.equal(null);
      expect(store.getClass("Circle")).to.equal(null);
    });

    it("should list the latest version of each class by name", async () => {
      const circle = newClass("Circle", 1);
      const rect1 = newClass("Rectangle", 1);
      const rect2 = newClass("Rectangle", 2);
      for (const rec of [rect1, circle, rect2]) await store.putClass(rec);
      expect(store.listClasses()).to.deep.equal([circle, rect2]);
    });

    it("should refuse to register a class version twice", async () => {
      const v1 = newClass("Rectangle", 1);
      await store.putClass(v1);
      await rejection(store.putClass({ ...newClass("Rectangle", 1), code: "other" }));
      expect(store.getClass("Rectangle", 1)).to.deep.equal(v1);
    });
  });

  describe("atomic threads' decisions", () => {
    const decision = (id: string, outcome: AtomicOutcome, decidedAt = 1000, attempt = 0): DecisionRecord =>
      ({ id: asAtomicId(id), outcome, proposer: "cs1" as ServerId, decidedAt, acknowledged: false, attempt });

    it("should keep the first decision of an id and answer it to every later one", async () => {
      expect(await store.putDecision(decision("t:a:1", "commit"))).to.deep.equal(decision("t:a:1", "commit"));
      expect(await store.putDecision({ ...decision("t:a:1", "abort", 2000), proposer: "cs2" as ServerId })).to.deep.equal(decision("t:a:1", "commit"));
      expect(store.getDecision(asAtomicId("t:a:1"))).to.deep.equal(decision("t:a:1", "commit"));
      expect(store.getDecision(asAtomicId("t:a:2"))).to.equal(null);
    });

    it("should settle two decisions of one id proposed at once on one of them, for both", async () => {
      const [a, b] = await Promise.all([store.putDecision(decision("t:b:1", "commit")), store.putDecision(decision("t:b:1", "abort"))]);
      expect(a).to.deep.equal(b);
      expect(store.getDecision(asAtomicId("t:b:1"))).to.deep.equal(a);
    });

    it("should keep a decision stored with committed pages in their transaction, acknowledged as given", async () => {
      const obj = newObject();
      await store.createObject(obj.desc, obj.segments);
      await store.commitPages([{ segment: obj.desc.segments.data, page: 0, bytes: pageOf(1) }], { ...decision("t:c:1", "commit"), acknowledged: true });
      expect(store.getDecision(asAtomicId("t:c:1"))).to.deep.equal({ ...decision("t:c:1", "commit"), acknowledged: true });
      expect(await store.forgetDecisions(2000), "acknowledged: it may go after its retention").to.equal(1);
    });

    it("should forget only acknowledged decisions older than asked", async () => {
      await store.putDecision(decision("old-acked", "commit", 1000));
      await store.putDecision(decision("old-open", "commit", 1000));
      await store.putDecision(decision("new-acked", "abort", 5000));
      expect(await store.acknowledgeDecision(asAtomicId("old-acked"))).to.equal(true);
      expect(await store.acknowledgeDecision(asAtomicId("new-acked"))).to.equal(true);
      expect(await store.acknowledgeDecision(asAtomicId("none"))).to.equal(false);
      expect(await store.forgetDecisions(3000)).to.equal(1);
      expect(store.getDecision(asAtomicId("old-acked"))).to.equal(null);
      expect(store.getDecision(asAtomicId("old-open"))).to.deep.include({ outcome: "commit", acknowledged: false });
      expect(store.getDecision(asAtomicId("new-acked"))).to.deep.include({ outcome: "abort", acknowledged: true });
    });

    it("should store a decision carried by a commit of no pages", async () => {
      expect(await store.commitPages([], decision("t:e:1", "commit"))).to.deep.equal([]);
      expect(store.getDecision(asAtomicId("t:e:1"))).to.deep.equal(decision("t:e:1", "commit"));
    });

    describe("attempts (a stored decision is replaced only by one that supersedes it)", () => {
      it("should replace an abort of an attempt, whole, by a decision of a later attempt", async () => {
        await store.putDecision({ ...decision("t:s:1", "abort", 1000, 0), proposer: "cs2" });
        expect(await store.acknowledgeDecision(asAtomicId("t:s:1"))).to.equal(true);
        const later = decision("t:s:1", "commit", 2000, 1);
        expect(await store.putDecision(later)).to.deep.equal(later);
        expect(store.getDecision(asAtomicId("t:s:1"))).to.deep.equal(later);
      });

      it("should keep a commit, whatever attempt is proposed after it", async () => {
        const commit = decision("t:s:2", "commit", 1000, 0);
        await store.putDecision(commit);
        expect(await store.putDecision(decision("t:s:2", "abort", 2000, 5))).to.deep.equal(commit);
        expect(await store.putDecision(decision("t:s:2", "commit", 3000, 6))).to.deep.equal(commit);
        expect(store.getDecision(asAtomicId("t:s:2"))).to.deep.equal(commit);
      });

      it("should keep an abort against a decision of an earlier or the same attempt, and let a later abort replace it", async () => {
        const abort = decision("t:s:3", "abort", 1000, 3);
        await store.putDecision(abort);
        expect(await store.putDecision(decision("t:s:3", "commit", 2000, 2))).to.deep.equal(abort);
        expect(await store.putDecision(decision("t:s:3", "commit", 2000, 3))).to.deep.equal(abort);
        const later = decision("t:s:3", "abort", 3000, 4);
        expect(await store.putDecision(later)).to.deep.equal(later);
      });

      it("should let an abort of every attempt stand against every decision after it", async () => {
        const abort = decision("t:s:4", "abort", 1000, EVERY_ATTEMPT);
        await store.putDecision(abort);
        for (const attempt of [0, 7, EVERY_ATTEMPT - 1, EVERY_ATTEMPT]) {
          expect(await store.putDecision(decision("t:s:4", "commit", 2000, attempt)), `attempt ${attempt}`).to.deep.equal(abort);
        }
        expect(store.getDecision(asAtomicId("t:s:4"))).to.deep.equal(abort);
      });

      it("should settle two decisions of different attempts proposed at once by the rule, whatever their order", async () => {
        const [a, b] = await Promise.all([store.putDecision(decision("t:s:5", "abort", 1000, 0)), store.putDecision(decision("t:s:5", "commit", 1000, 1))]);
        expect(b).to.deep.equal(decision("t:s:5", "commit", 1000, 1));
        expect(a.outcome, "answered before or after the commit replaced it").to.be.oneOf(["abort", "commit"]);
        const [c, d] = await Promise.all([store.putDecision(decision("t:s:6", "commit", 1000, 1)), store.putDecision(decision("t:s:6", "abort", 1000, 0))]);
        expect([c, d]).to.deep.equal([decision("t:s:6", "commit", 1000, 1), decision("t:s:6", "commit", 1000, 1)]);
      });

      it("should apply the rule to the decision committed with pages, and store the pages either way", async () => {
        const obj = await created();
        const seg = obj.desc.segments.data;
        await store.putDecision(decision("t:s:7", "abort", 1000, 0));
        await store.commitPages([{ segment: seg, page: 0, bytes: pageOf(1) }], decision("t:s:7", "commit", 2000, 1));
        expect(store.getDecision(asAtomicId("t:s:7"))).to.deep.equal(decision("t:s:7", "commit", 2000, 1));
        const abort = decision("t:s:8", "abort", 1000, EVERY_ATTEMPT);
        await store.putDecision(abort);
        expect(await store.commitPages([{ segment: seg, page: 0, bytes: pageOf(2) }], decision("t:s:8", "commit", 2000, 3))).to.deep.equal([2]);
        expect(store.getDecision(asAtomicId("t:s:8"))).to.deep.equal(abort);
      });
    });
  });

  describe("atomic threads prepared here", () => {
    let seq = 0;
    /** A prepared record of `pages` page logs: one without a stamp, one with an empty log. */
    const prepared = (id: string, preparedAt = 1000, attempt = 0, pages = 2): PreparedRecord => ({
      id: asAtomicId(id),
      attempt,
      writer: "cs1",
      logHome: "ds2" as ServerId,
      pages: Array.from({ length: pages }, (_, i) => ({
        segment: newSysName(HOME),
        page: i * 1000 + 3,
        log: i === 1 ? new Uint8Array(0) : Uint8Array.from([++seq & 0xff, i, 7, 7]),
        ...(i === 0 ? {} : { stamp: 1_700_000_000_000 + i + 0.5 }),
      })),
      preparedAt,
    });

    it("should list nothing before anything is prepared", () => {
      expect(store.listPrepared()).to.deep.equal([]);
    });

    it("should keep prepared records as given and list them oldest first, then by id", async () => {
      const [b, c, a, empty] = [prepared("t:p:b", 2000), prepared("t:p:c", 1000, 2, 3), prepared("t:p:a", 1000), prepared("t:p:e", 3000, 0, 0)];
      for (const r of [b, c, a, empty]) await store.putPrepared(r);
      expect(store.listPrepared()).to.deep.equal([a, c, b, empty]);
    });

    it("should replace the prepared record of an id by a later prepare of it", async () => {
      await store.putPrepared(prepared("t:p:1", 1000, 0, 2));
      const again = { ...prepared("t:p:1", 5000, 1, 1), writer: "cs2", logHome: "ds3" as ServerId };
      await store.putPrepared(again);
      expect(store.listPrepared()).to.deep.equal([again]);
    });

    it("should forget a prepared record, and answer false when there is none", async () => {
      const kept = prepared("t:p:kept");
      await store.putPrepared(prepared("t:p:2"));
      await store.putPrepared(kept);
      expect(await store.forgetPrepared(asAtomicId("t:p:2"))).to.equal(true);
      expect(await store.forgetPrepared(asAtomicId("t:p:2"))).to.equal(false);
      expect(await store.forgetPrepared(asAtomicId("t:p:none"))).to.equal(false);
      expect(store.listPrepared()).to.deep.equal([kept]);
    });

    it("should store the logs as they were when putPrepared was called, and hand out copies", async () => {
      const record = prepared("t:p:3");
      const expected = structuredClone(record);
      const put = store.putPrepared(record);
      record.pages[0].log.fill(0);
      await put;
      store.listPrepared()[0].pages[0].log.fill(0);
      expect(store.listPrepared()).to.deep.equal([expected]);
    });

    it("should refuse a record whose pages the blob cannot hold, and store nothing", async () => {
      const bad = prepared("t:p:4");
      bad.pages[1].page = -1;
      await rejection(store.putPrepared(bad));
      expect(store.listPrepared()).to.deep.equal([]);
    });

    it("should share a group commit among the prepares of one tick", async () => {
      const before = store.stats.transactions;
      await Promise.all(Array.from({ length: 10 }, (_, i) => store.putPrepared(prepared(`t:p:g${i}`))));
      expect(store.listPrepared()).to.have.length(10);
      expect(store.stats.transactions - before).to.be.within(1, 9);
    });

    it("should delete the finished record in the transaction of its pages", async () => {
      const { desc } = await created();
      const record = prepared("t:p:5");
      await store.putPrepared(record);
      await store.putPrepared(prepared("t:p:other"));
      const versions = await store.commitPages([{ segment: desc.segments.data, page: 1, bytes: pageOf(1) }], undefined, record.id);
      expect(versions).to.deep.equal([1]);
      expect(store.listPrepared().map((r) => r.id)).to.deep.equal(["t:p:other"]);
    });

    it("should delete the finished record of a commit of no pages, with its decision", async () => {
      await store.putPrepared(prepared("t:p:6"));
      const commit = { id: asAtomicId("t:p:6"), outcome: "commit" as const, proposer: "cs1", decidedAt: 1, acknowledged: false, attempt: 0 };
      expect(await store.commitPages([], commit, asAtomicId("t:p:6"))).to.deep.equal([]);
      expect(store.listPrepared()).to.deep.equal([]);
      expect(store.getDecision(asAtomicId("t:p:6"))).to.deep.equal(commit);
    });

    it("should leave the record, and store no decision, when the commit finishing it is refused", async () => {
      const { desc } = await created();
      const record = prepared("t:p:7");
      await store.putPrepared(record);
      const commit = { id: record.id, outcome: "commit" as const, proposer: "cs1", decidedAt: 1, acknowledged: false, attempt: 0 };
      const refused = store.commitPages(
        [{ segment: desc.segments.data, page: 0, bytes: pageOf(1) }, { segment: newSysName(HOME), page: 0, bytes: pageOf(2) }],
        commit,
        record.id,
      );
      expect(await rejection(refused)).to.be.instanceOf(SegmentNotFoundError);
      expect(store.listPrepared()).to.deep.equal([record]);
      expect(store.getDecision(record.id)).to.equal(null);
      expect(store.readPage(desc.segments.data, 0).version).to.equal(0);
    });

    it("should apply prepares, forgets and finishing commits of one tick in call order", async () => {
      const { desc } = await created();
      const write = [{ segment: desc.segments.data, page: 0, bytes: pageOf(1) }];
      const [x, y] = [prepared("t:p:x"), prepared("t:p:y")];
      await Promise.all([store.putPrepared(x), store.commitPages(write, undefined, x.id)]);
      await Promise.all([store.commitPages(write, undefined, y.id), store.putPrepared(y)]);
      const [forgot] = await Promise.all([store.forgetPrepared(y.id), store.putPrepared(x)]);
      expect(forgot).to.equal(true);
      expect(store.listPrepared()).to.deep.equal([x]);
    });
  });

  describe("identity", () => {
    it("should report its server and an epoch of at least 1", () => {
      expect(store.serverId).to.equal(HOME);
      expect(store.epoch).to.be.at.least(1);
    });
  });
}
