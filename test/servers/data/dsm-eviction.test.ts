/**
 * Evicting pages from a compute server's page cache, end to end: a real data server
 * (PageHome) and real DsmClients on in-memory connections (DsmHarness). What must hold: an
 * evicted read copy is simply gone (faulted in again on the next access); an owned page's
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
    expect([entry(0).owner, [...entry(0).copyset]], "the home owns it again").to.deep.equal([null, []]);
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

  it("should never evict a page holding writes not committed yet", async () => {
    await a.writeU32(seg, 0, 8, 7);
    expect(a.dsm.evictable(a.frames(seg), 0)).to.equal(false);
    expect(await a.dsm.evict(a.frames(seg), 0)).to.equal(false);
    expect(a.state(seg, 0)).to.equal(PageState.WRITE);
    await a.commit();
    expect(a.dsm.evictable(a.frames(seg), 0)).to.equal(true);
  });

  it("should forget a read copy without a message and fetch it again on the next access", async () => {
    await a.writeU32(seg, 1, 0, 5);
    await a.commit();
    expect(u32(await b.read(seg, 1), 0)).to.equal(5);
    expect(await b.dsm.evict(b.frames(seg), 1)).to.equal(true);
    expect(b.frames(seg).slotOf(1)).to.equal(0);
    await a.writeU32(seg, 1, 0, 6); // the home's invalidation finds nothing at b
    await a.commit();
    expect(u32(await b.read(seg, 1), 0)).to.equal(6);
    expect(reverted()).to.equal(0);
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
