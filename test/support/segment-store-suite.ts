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
import {
  BadPageSizeError,
  PageOutOfRangeError,
  SegmentNotFoundError,
} from "../../servers/data/errors.js";
import type { SegmentStore } from "../../servers/data/segment-store.js";
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
    const decision = (id: string, outcome: "commit" | "abort", decidedAt = 1000) =>
      ({ id: asAtomicId(id), outcome, proposer: "cs1" as ServerId, decidedAt, acknowledged: false });

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
  });

  describe("identity", () => {
    it("should report its server and an epoch of at least 1", () => {
      expect(store.serverId).to.equal(HOME);
      expect(store.epoch).to.be.at.least(1);
    });
  });
}
