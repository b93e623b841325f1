/**
 * Evicting pages from a compute server's page cache, end to end: a real data server
 * (PageHome) and real DsmClients on in-memory connections (DsmHarness). What must hold: an
 * evicted read copy is gone (faulted in again on the next access) and told to the home, which
 * forgets pages nobody holds — but never takes a copy fetched again for the dropped one; an owned page's
 * bytes go home first (data.page.release), so nothing of it is lost and no revert is ever
 * needed; a page holding writes not committed yet is never evicted; the frames go back to
 * the pool.
 */
import { expect } from "chai";
import { PAGE_SIZE, type SysName } from "../../../ra-kernel/ids.js";
import { PageState } from "../../../ra-kernel/page-state.js";
import { DsmHarness, type DsmNode } from "../../support/dsm-harness.js";
import { deferred } from "../../support/deferred.js";

function u32(bytes: Uint8Array, at: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset).getUint32(at, true);
}

describe("DSM eviction (DsmClient.evict + PageHome.release)", () => {
  let h: DsmHarness;
  let a: DsmNode;
  let b: DsmNode;
  let seg: SysName;

  beforeEach(async () => {
    h = await DsmHarness.start();
    [a, b] = [await h.node("cs1"), await h.node("cs2")];
    seg = await h.newSegment(a);
  });

  afterEach(() => h?.close());

  const entry = (page: number) => h.home.directory.peek({ segment: seg, page })!;


  /**
   * a owns page 0 with committed words 41 (at 8) and 43 (at 12) and evicts it; the home's
   * release is held at `when` ("before" it takes the page, "after"), a dies there, then the
   * release goes on. Whatever the order, nothing committed is lost and the directory holds.
   */
  async function dieDuringRelease(when: "before" | "after"): Promise<void> {
    await a.writeU32(seg, 0, 8, 41);
    await a.writeU32(seg, 0, 12, 43);
    await a.commit();
    const arrived = deferred<void>();
    const gate = deferred<void>();
    const real = h.home.release.bind(h.home);
    h.home.release = async (req, holder) => {
      arrived.resolve();
      if (when === "before") await gate.promise;
      const r = await real(req, holder);
      if (when === "after") await gate.promise;
      return r;
    };
    const evicting = a.dsm.evict(a.frames(seg), 0);
    await arrived.promise;
    const gone = h.dropped("cs1");
    await a.disconnect();
    await gone;
    gate.resolve();
    await evicting.catch(() => false);
    const page = await b.read(seg, 0);
    expect([u32(page, 8), u32(page, 12)], "b reads every committed word").to.deep.equal([41, 43]);
    expect([u32(h.stored(seg, 0), 8), u32(h.stored(seg, 0), 12)]).to.deep.equal([41, 43]);
    expect(h.home.directory.check()).to.equal(null);
    await b.writeU32(seg, 0, 16, 7);
    await b.commit();
    expect(u32(h.stored(seg, 0), 16), "the page goes on being used").to.equal(7);
  }

  it("should lose nothing when the evicting server dies before the home took its release", () => dieDuringRelease("before"));

  it("should lose nothing when the evicting server dies after the home took its release", () => dieDuringRelease("after"));
  const reverted = () => h.home.counters.total.pagesReverted;

  it("should give an owned, committed page's bytes home and free its frame", async () => {
    await a.writeU32(seg, 0, 8, 41);
    await a.commit();
    const used = a.dsm.pool.used;
    expect(entry(0).owner).to.equal("cs1");
    expect(await a.dsm.evict(a.frames(seg), 0)).to.equal(true);
    expect([a.state(seg, 0), a.frames(seg).slotOf(0), a.dsm.pool.used]).to.deep.equal([PageState.INVALID, 0, used - 1]);
    expect(h.home.directory.peek({ segment: seg, page: 0 }), "the home owns it again, and forgot it: nobody holds it").to.equal(undefined);
    expect(u32(await b.read(seg, 0), 8), "another server reads what was written").to.equal(41);
    await a.writeU32(seg, 0, 8, 42);
    await a.commit();
    expect(u32(await b.read(seg, 0), 8)).to.equal(42);
    expect(reverted(), "a released page is never taken for lost").to.equal(0);
  });

  it("should give home the coherent image, with another server's words not committed yet kept for it", async () => {
    await a.writeU32(seg, 0, 8, 1);
    await a.commit();
    await b.writeU32(seg, 0, 12, 2); // b's word, not committed; the page moves to b
    await a.writeU32(seg, 0, 16, 3); // back to a: its copy holds b's uncommitted word
    await a.commit();
    expect(await a.dsm.evict(a.frames(seg), 0)).to.equal(true);
    await b.commit();
    const page = await b.read(seg, 0);
    expect([u32(page, 8), u32(page, 12), u32(page, 16)]).to.deep.equal([1, 2, 3]);
    expect(u32(h.stored(seg, 0), 12), "b's commit is durable").to.equal(2);
    expect(reverted()).to.equal(0);
  });

  it("should forget a released page once the other server's words in it are committed", async () => {
    await a.writeU32(seg, 7, 8, 1);
    await a.commit();
    await b.writeU32(seg, 7, 12, 2);
    await a.writeU32(seg, 7, 16, 3);
    await a.commit();
    expect(await a.dsm.evict(a.frames(seg), 7)).to.equal(true);
    expect(entry(7).pending, "b's word is in the coherent image only").to.not.equal(null);
    await b.commit();
    expect(h.home.directory.peek({ segment: seg, page: 7 }), "nobody holds it, nothing is pending: forgotten").to.equal(undefined);
    const stored = h.stored(seg, 7);
    expect([u32(stored, 8), u32(stored, 12), u32(stored, 16)]).to.deep.equal([1, 2, 3]);
    expect(u32(await a.read(seg, 7), 12)).to.equal(2);
  });

  it("should never evict a page holding writes not committed yet", async () => {
    await a.writeU32(seg, 0, 8, 7);
    expect(a.dsm.evictable(a.frames(seg), 0)).to.equal(false);
    expect(await a.dsm.evict(a.frames(seg), 0)).to.equal(false);
    expect(a.state(seg, 0)).to.equal(PageState.WRITE);
    await a.commit();
    expect(a.dsm.evictable(a.frames(seg), 0)).to.equal(true);
  });

  it("should drop a read copy, tell the home, and fetch it again on the next access", async () => {
    await a.writeU32(seg, 1, 0, 5);
    await a.commit();
    expect(u32(await b.read(seg, 1), 0)).to.equal(5);
    expect(await b.dsm.evict(b.frames(seg), 1)).to.equal(true);
    expect(b.frames(seg).slotOf(1)).to.equal(0);
    await b.dsm.dropNotices.drained();
    expect([...entry(1).copyset], "b left the copyset").to.deep.equal(["cs1"]);
    await a.writeU32(seg, 1, 0, 6);
    await a.commit();
    expect(u32(await b.read(seg, 1), 0)).to.equal(6);
    expect(reverted()).to.equal(0);
  });

  it("should let the home forget a page once its last reader dropped it, and serve it again above its old version", async () => {
    await a.writeU32(seg, 1, 0, 5);
    await a.commit();
    expect(await a.dsm.evict(a.frames(seg), 1)).to.equal(true); // released: a page nobody holds
    expect(u32(await b.read(seg, 1), 0)).to.equal(5);
    const version = entry(1).version;
    expect(await b.dsm.evict(b.frames(seg), 1)).to.equal(true);
    await b.dsm.dropNotices.drained();
    expect(h.home.directory.peek({ segment: seg, page: 1 }), "forgotten").to.equal(undefined);
    expect(u32(await a.read(seg, 1), 0), "served again from the store").to.equal(5);
    expect(entry(1).version).to.be.above(version);
    expect(h.home.directory.check()).to.equal(null);
  });

  /** b holds a read copy of page 4 (a wrote 5 there); `refetch` happens between b's eviction and a's next write. */
  async function writerAfterRefetch(refetch: () => Promise<void>): Promise<void> {
    await a.writeU32(seg, 4, 0, 5);
    await a.commit();
    expect(u32(await b.read(seg, 4), 0)).to.equal(5);
    expect(await b.dsm.evict(b.frames(seg), 4)).to.equal(true);
    await refetch();
    expect(b.state(seg, 4), "b holds a copy again").to.equal(PageState.READ);
    const invalidated = b.recalled("invalidate");
    await a.writeU32(seg, 4, 0, 6);
    await a.commit();
    await invalidated;
    expect(b.state(seg, 4), "a's write took b's new copy").to.equal(PageState.INVALID);
    expect(u32(await b.read(seg, 4), 0)).to.equal(6);
    expect(h.home.directory.check()).to.equal(null);
  }

  it("should cancel the notice of a copy fetched again before it left (the writer still invalidates it)", () =>
    writerAfterRefetch(async () => {
      expect(u32(await b.read(seg, 4), 0)).to.equal(5);
      await b.dsm.dropNotices.drained();
      expect(entry(4).copyset.has("cs2"), "the home still counts b in").to.equal(true);
    }));

  it("should fetch a copy again only after the home took the notice on its way (the writer still invalidates it)", () =>
    writerAfterRefetch(async () => {
      const gate = deferred<void>();
      const real = h.home.dropCopies.bind(h.home);
      h.home.dropCopies = async (req, holder) => {
        await gate.promise;
        return real(req, holder);
      };
      b.dsm.dropNotices.flush();
      const reading = b.read(seg, 4);
      await new Promise<void>((resolve) => setImmediate(resolve));
      gate.resolve();
      expect(u32(await reading, 0)).to.equal(5);
      expect(entry(4).copyset.has("cs2"), "the home counts b in again").to.equal(true);
    }));

  it("should ignore a notice of a copy whose version moved on, of another epoch, or from the page's owner", async () => {
    await a.writeU32(seg, 5, 0, 1);
    await a.commit();
    await b.read(seg, 5);
    await a.writeU32(seg, 6, 0, 1);
    await a.commit();
    const [v5, v6] = [entry(5).version, entry(6).version];
    const drop = (page: number, version: number, holder: string, epoch = h.home.epoch) =>
      h.home.dropCopies({ epoch, pages: [{ segment: seg, page, version }] }, holder).then((r) => r.dropped);
    expect(await drop(5, v5 - 1, "cs2"), "an older version").to.equal(0);
    expect(await drop(5, v5, "cs2", h.home.epoch + 1), "another epoch").to.equal(0);
    expect(await drop(6, v6, "cs1"), "the owner's").to.equal(0);
    expect([entry(5).copyset.has("cs2"), entry(6).owner]).to.deep.equal([true, "cs1"]);
    expect(await drop(5, v5, "cs2"), "the current reader's").to.equal(1);
    expect(entry(5).copyset.has("cs2")).to.equal(false);
  });

  it("should keep the page when the home will not take it back, mapped as before", async () => {
    await a.writeU32(seg, 2, 0, 9);
    await a.commit();
    h.home.release = async () => ({ released: false }); // say a revert closure bars the object
    expect(await a.dsm.evict(a.frames(seg), 2)).to.equal(false);
    expect(a.state(seg, 2)).to.equal(PageState.WRITE);
    expect(u32(a.frames(seg).copyPage(2), 0)).to.equal(9);
    expect(entry(2).owner).to.equal("cs1");
  });

  it("should refuse a release of a copy that is not the holder's current one", async () => {
    await a.writeU32(seg, 3, 0, 1);
    await a.commit();
    const version = entry(3).version;
    const bytes = new Uint8Array(PAGE_SIZE);
    const stale = await h.home.release({ epoch: h.home.epoch, segment: seg, page: 3, version: version - 1, bytes, stamp: 0 }, "cs1");
    const notHeld = await h.home.release({ epoch: h.home.epoch, segment: seg, page: 3, version, bytes, stamp: 0 }, "cs2");
    const oldEpoch = await h.home.release({ epoch: h.home.epoch + 1, segment: seg, page: 3, version, bytes, stamp: 0 }, "cs1");
    expect([stale.released, notHeld.released, oldEpoch.released]).to.deep.equal([false, false, false]);
    expect(entry(3).owner).to.equal("cs1");
  });
});
