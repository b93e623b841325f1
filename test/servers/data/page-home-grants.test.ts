/**
 * Tests of the grants PageHome (servers/data/page-home.ts) makes without a fault of their
 * own: the following pages of a write run (`data.page.fault` with `count`: granted only where
 * no recall or invalidation is needed, recalled and committed like any owned page later),
 * the first pages of a new object granted to its creator (`grantCreated`), and the protocol
 * checks of both new fields. Holders are fake peers that answer recalls as the test says.
 */
import { expect } from "chai";
import type { RecallRequest } from "../../../ra-kernel/home-link.js";
import type { PageNo, ServerId, SysName } from "../../../ra-kernel/ids.js";
import { PageLog } from "../../../ra-kernel/page-log.js";
import { InMemorySegmentStore } from "../../../servers/data/in-memory-segment-store.js";
import { PageHome } from "../../../servers/data/page-home.js";
import { pageKey } from "../../../servers/data/page-directory.js";
import type { PageLocks } from "../../../servers/data/page-locks.js";
import { decodeDataRequest, MAX_FAULT_PAGES, type PageGrant } from "../../../servers/data/protocol.js";
import { BadRequestError } from "../../../servers/transport/errors.js";
import type { Peer } from "../../../servers/transport/transport.js";
import { newObject, pageOf } from "../../support/segment-store-fixtures.js";

const ds1 = "ds1" as ServerId;

/** A compute server's connection as the home sees it: records recalls, answers with `bytes` (and `stamp`). */
class HolderPeer implements Peer {
  readonly recalls: RecallRequest[] = [];
  bytes: Uint8Array | null = null;
  stamp = 0;
  closed = false;
  constructor(readonly remoteId: string, readonly address = `mem:${remoteId}`) {}
  async request<T>(kind: string, body: unknown): Promise<T> {
    if (kind !== "compute.recall") throw new Error(`unexpected ${kind}`);
    this.recalls.push(structuredClone(body) as RecallRequest);
    return { held: true, bytes: this.bytes, stamp: this.stamp, dirty: false } as T;
  }
  setHandler(): void {}
  onClose(): void {}
  async close(): Promise<void> {}
}

describe("PageHome grants without a fault", () => {
  let store: InMemorySegmentStore;
  let home: PageHome;
  let peers: Map<string, HolderPeer>;
  let seg: SysName;
  let heap: SysName;

  beforeEach(async () => {
    store = new InMemorySegmentStore({ serverId: ds1, epoch: 1 });
    const o = newObject(16);
    await store.createObject(o.desc, o.segments);
    seg = o.desc.segments.data;
    heap = o.desc.segments.heap;
    peers = new Map(["cs1", "cs2"].map((id) => [id, new HolderPeer(id)]));
    home = new PageHome(store, ds1, (h) => peers.get(h));
  });
  afterEach(() => store.close());

  const fault = (holder: string, page: PageNo, mode: "read" | "write", count?: number): Promise<PageGrant> =>
    home.fault({ segment: seg, page, mode, have: 0, count }, holder);
  const entry = (page: PageNo, segment = seg) => home.directory.peek({ segment, page })!;
  const holders = (page: PageNo, segment = seg) => ({ owner: entry(page, segment).owner, copyset: [...entry(page, segment).copyset].sort() });

  describe("write runs (count)", () => {
    it("should grant the following free pages writable in the same reply", async () => {
      const g = await fault("cs1", 2, "write", 4);
      expect(g).to.include({ bytes: null, same: false, version: 2 });
      expect(g.extra).to.deep.equal([3, 4, 5].map((page) => ({ page, version: 2, stamp: 0, bytes: null })));
      for (const page of [2, 3, 4, 5]) expect(holders(page)).to.deep.equal({ owner: "cs1", copyset: ["cs1"] });
      expect(home.directory.peek({ segment: seg, page: 6 }), "not asked for").to.equal(undefined);
      expect(home.counters.total).to.include({ writeFaults: 1, pagesPrefetched: 3 });
    });

    it("should send the stored bytes of a following page that was written before", async () => {
      await store.commitPages([{ segment: seg, page: 1, bytes: pageOf(4) }]);
      const g = await fault("cs1", 0, "write", 2);
      expect(g.extra).to.deep.equal([{ page: 1, version: 3, stamp: 0, bytes: pageOf(4) }]);
    });

    it("should skip pages that another server holds, owns, or that a request is waiting for", async () => {
      await fault("cs2", 4, "read");
      await fault("cs2", 6, "write");
      // A request for page 7 in progress (test seam: PageHome's page locks).
      let done!: () => void;
      const locks = (home as unknown as { locks: PageLocks }).locks;
      const busy = locks.withPages([pageKey(seg, 7)], () => new Promise<void>((resolve) => (done = resolve)));
      const g = await fault("cs1", 3, "write", 6);
      done();
      await busy;
      expect(g.extra!.map((x) => x.page)).to.deep.equal([5, 8]);
      expect(holders(4)).to.deep.equal({ owner: null, copyset: ["cs2"] });
      expect(holders(6)).to.deep.equal({ owner: "cs2", copyset: ["cs2"] });
      expect(peers.get("cs2")!.recalls, "no recall for a page it did not fault").to.deep.equal([]);
    });

    it("should stop at the end of the segment", async () => {
      const g = await fault("cs1", 14, "write", 8);
      expect(g.extra!.map((x) => x.page)).to.deep.equal([15]);
    });

    it("should ignore count on a read fault", async () => {
      const g = await fault("cs1", 0, "read", 8);
      expect(g.extra).to.equal(undefined);
      expect(home.directory.peek({ segment: seg, page: 1 })).to.equal(undefined);
    });

    it("should recall a page granted in a run from its owner when another server faults on it", async () => {
      const g = await fault("cs1", 0, "write", 2);
      peers.get("cs1")!.bytes = pageOf(9);
      const r = await fault("cs2", 1, "read");
      expect(peers.get("cs1")!.recalls).to.deep.equal([{ segment: seg, page: 1, version: g.extra![0].version, epoch: 1, action: "downgrade" }]);
      expect(r).to.include({ version: g.extra![0].version });
      expect(r.bytes).to.deep.equal(pageOf(9));
      expect(holders(1)).to.deep.equal({ owner: null, copyset: ["cs1", "cs2"] });
    });

    it("should commit the segment of a page granted in a run", async () => {
      await fault("cs1", 0, "write", 3);
      const reply = await home.commit({ epoch: 1, term: 1, abort: false, pages: [{ segment: seg, page: 2, log: PageLog.ofPage(pageOf(5), 1).encode(), left: 0 }] }, "cs1");
      expect(reply).to.deep.equal({ applied: true, epoch: 1 });
      expect(store.readPage(seg, 2).bytes).to.deep.equal(pageOf(5));
    });

    it("should not grant a following page that must be reverted first", async () => {
      // Page 5's coherent image holds writes that will never commit (no one holds it now).
      home.directory.entry({ segment: seg, page: 5 }, () => 0).tainted = true;
      const g = await fault("cs1", 4, "write", 3);
      expect(g.extra!.map((x) => x.page)).to.deep.equal([6]);
      expect(entry(5)).to.include({ owner: null, tainted: true });
    });

    it("should hand each following page's stamp on with it", async () => {
      home.directory.entry({ segment: seg, page: 1 }, () => 0).stamp = 9;
      const g = await fault("cs1", 0, "write", 2);
      expect(g.extra).to.deep.equal([{ page: 1, version: 2, stamp: 9, bytes: null }]);
    });
  });

  describe("grantCreated", () => {
    const pages = () => [{ segment: seg, page: 0 }, { segment: heap, page: 0 }, { segment: heap, page: 1 }];

    it("should make the creator the owner of the new object's first pages", async () => {
      const grants = await home.grantCreated(pages(), "cs1");
      expect(grants).to.deep.equal(pages().map((p) => ({ ...p, version: 2 })));
      expect(holders(0)).to.deep.equal({ owner: "cs1", copyset: ["cs1"] });
      expect(holders(1, heap)).to.deep.equal({ owner: "cs1", copyset: ["cs1"] });
      expect(home.counters.total.pagesGrantedAtCreation).to.equal(3);
    });

    it("should start the creator's period at stamp 0, below its first write, whatever stamp the entry starts at", async () => {
      (home.directory as unknown as { stampFloor: number }).stampFloor = 5000; // pages pruned before had high stamps
      await home.grantCreated(pages(), "cs1");
      expect(entry(0)).to.include({ stamp: 5000, twinStamp: 0 });
      expect(entry(1, heap)).to.include({ twinStamp: 0 });
    });

    it("should recall a granted page from the creator, then commit the creator's segment", async () => {
      await home.grantCreated(pages(), "cs1");
      peers.get("cs1")!.bytes = pageOf(3);
      const r = await fault("cs2", 0, "read");
      expect(peers.get("cs1")!.recalls.map((x) => [x.page, x.version, x.action])).to.deep.equal([[0, 2, "downgrade"]]);
      expect(r.bytes).to.deep.equal(pageOf(3));
      expect(store.readPage(seg, 0).bytes, "recalled bytes are not durable").to.equal(null);
      const reply = await home.commit({ epoch: 1, term: 1, abort: false, pages: [{ segment: seg, page: 0, log: PageLog.ofPage(pageOf(3), 1).encode(), left: 0 }] }, "cs1");
      expect(reply.applied).to.equal(true);
      expect(store.readPage(seg, 0).bytes).to.deep.equal(pageOf(3));
    });

    it("should refuse to grant a page somebody already holds", async () => {
      await fault("cs2", 0, "read");
      let error: unknown;
      await home.grantCreated(pages(), "cs1").catch((err) => (error = err));
      expect((error as Error).message).to.match(/already held/);
    });
  });

  describe("protocol", () => {
    const body = { segment: "", page: 0, mode: "write", have: 0 };

    it("should accept a fault count from 1 to MAX_FAULT_PAGES", () => {
      const segment = seg;
      expect(decodeDataRequest("data.page.fault", { ...body, segment, count: MAX_FAULT_PAGES })).to.include({ count: MAX_FAULT_PAGES });
      expect(decodeDataRequest("data.page.fault", { ...body, segment })).to.include({ count: undefined });
    });

    for (const count of [0, MAX_FAULT_PAGES + 1, 2.5, "4"]) {
      it(`should refuse a fault count of ${JSON.stringify(count)} with BadRequestError naming the field`, () => {
        let error: unknown;
        try {
          decodeDataRequest("data.page.fault", { ...body, segment: seg, count });
        } catch (err) {
          error = err;
        }
        expect(error).to.be.instanceOf(BadRequestError);
        expect((error as BadRequestError).message).to.include("count");
      });
    }

    it("should decode a settle of lost servers, and refuse one that names no server ids", () => {
      expect(decodeDataRequest("data.holder.settle", { holders: ["cs1", "cs2"] })).to.deep.equal({ kind: "data.holder.settle", holders: ["cs1", "cs2"] });
      for (const holders of [undefined, "cs1", [7], ["a b"], Array.from({ length: 65 }, (_, i) => `cs${i}`)]) {
        expect(() => decodeDataRequest("data.holder.settle", { holders }), JSON.stringify(holders)).to.throw(BadRequestError, /holders/);
      }
    });

    it("should refuse a creation `grant` that is not a boolean, naming the field", () => {
      let error: unknown;
      try {
        decodeDataRequest("data.object.create", { className: "Rectangle", classVersion: 1, grant: "yes" });
      } catch (err) {
        error = err;
      }
      expect(error).to.be.instanceOf(BadRequestError);
      expect((error as BadRequestError).message).to.include("grant");
    });
  });
});
