/**
 * Commit segments end to end (DESIGN §7a): a real data server (DataServer + PageHome over an
 * InMemorySegmentStore) and real DsmClients on in-memory connections (DsmHarness), each node
 * writing words as an isiba does (logged, stamped) and committing its segment. What must
 * hold: the store takes whole committed segments only — under false sharing, whatever order
 * commits arrive in, when a writer's lease term is over, when a writer dies with uncommitted
 * writes in a page others wrote too (only its words are taken out), when it dies between its
 * commit and the reply, and when its page is recalled while its commit is on its way.
 */
import { expect } from "chai";
import { CommitOutcomeUnknownError, PagesLostError } from "../../../ra-kernel/errors.js";
import { PAGE_SIZE, type PageNo, type SysName } from "../../../ra-kernel/ids.js";
import { PageState } from "../../../ra-kernel/page-state.js";
import type { CommitRequest } from "../../../servers/data/page-home.js";
import type { CommitOutcome } from "../../../servers/data/protocol.js";
import { deferred } from "../../support/deferred.js";
import { DsmHarness, type DsmNode } from "../../support/dsm-harness.js";
import { expectRejection } from "../../support/expect-rejection.js";

/** The u32 words at these byte offsets of a page. */
function words(bytes: Uint8Array, ...at: number[]): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  return at.map((a) => view.getUint32(a, true));
}

describe("DSM commit segments (PageHome + DsmClients)", () => {
  let h: DsmHarness;
  let a: DsmNode;
  let b: DsmNode;
  let c: DsmNode;
  let seg: SysName;

  async function start(leaseMs?: number): Promise<void> {
    h = await DsmHarness.start({ leaseMs });
    [a, b, c] = [await h.node("cs1"), await h.node("cs2"), await h.node("cs3")];
    seg = await h.newSegment(a);
  }

  afterEach(() => h?.close());

  const entry = (page: PageNo) => h.home.directory.peek({ segment: seg, page })!;

  /** Wraps the home's commit (test seam: DataServer calls `home.commit` for data.page.commit). */
  function aroundCommit(around: (req: CommitRequest, writer: string, commit: () => Promise<CommitOutcome>) => Promise<CommitOutcome>): void {
    const real = h.home.commit.bind(h.home);
    h.home.commit = (req, writer) => around(req, writer, () => real(req, writer));
  }


  it("should store only the committing segment's words when the page holds another server's uncommitted writes (false sharing)", async () => {
    await start();
    await a.writeU32(seg, 0, 0, 11); // a's segment stays open
    await b.writeU32(seg, 0, 4, 22);
    expect(a.recalls.map((r) => [r.req.action, r.dirty])).to.deep.equal([["invalidate", true]]);
    expect(words(await c.read(seg, 0), 0, 4), "coherent: every write is seen").to.deep.equal([11, 22]);
    await b.commit();
    expect(words(h.stored(seg, 0), 0, 4), "b's word only: a's is not committed").to.deep.equal([0, 22]);
    await a.commit();
    expect(words(h.stored(seg, 0), 0, 4)).to.deep.equal([11, 22]);
    expect(entry(0).dirty.size).to.equal(0);
  });

  it("should keep the newest write of a word when an older segment commits after a newer one", async () => {
    await start();
    await a.writeU32(seg, 0, 0, 1);
    await b.writeU32(seg, 0, 0, 2);
    await b.commit();
    await a.commit();
    expect(words(h.stored(seg, 0), 0)).to.deep.equal([2]);
    expect(words(await c.read(seg, 0), 0)).to.deep.equal([2]);
  });

  it("should refuse a commit under a lease term that is over, apply none of it and revert the page", async () => {
    await start();
    await a.writeU32(seg, 0, 0, 5);
    await a.commit();
    a.stopRenewing(); // so a does not learn its new term before it commits
    await a.writeU32(seg, 0, 4, 6);
    h.home.leases.revoke("cs1");
    const err = await expectRejection(a.commit(), PagesLostError);
    expect(err.message).to.contain("NOT applied").and.to.contain("lease term 1");
    expect((await a.recalled("revert")).dirty, "a is told to drop its copy").to.equal(true);
    expect(a.state(seg, 0)).to.equal(PageState.INVALID);
    expect(words(h.stored(seg, 0), 0, 4)).to.deep.equal([5, 0]);
    expect(words(await b.read(seg, 0), 0, 4), "served from the durable image").to.deep.equal([5, 0]);
  });

  it("should take only the dead holder's words out of a page: copies dropped, the other writer's segment kept and committed", async () => {
    await start(100);
    await a.writeU32(seg, 0, 0, 1); // never committed: lost with a
    await b.writeU32(seg, 0, 4, 2); // in the same page, beside a's write, in flight
    expect(words(await c.read(seg, 0), 0, 4)).to.deep.equal([1, 2]);
    expect([...entry(0).dirty.keys()].sort()).to.deep.equal(["cs1", "cs2"]);
    await a.disconnect();
    const [toB, toC] = await Promise.all([b.recalled("refresh"), c.recalled("refresh")]);
    expect([toB.dirty, toC.dirty], "b has writes in the page, c none").to.deep.equal([true, false]);
    expect([b.state(seg, 0), c.state(seg, 0)]).to.deep.equal([PageState.INVALID, PageState.INVALID]);
    expect(words(await c.read(seg, 0), 0, 4), "a's word is gone, b's is kept").to.deep.equal([0, 2]);
    expect(words(await b.read(seg, 0), 0, 4), "b reads its own write again").to.deep.equal([0, 2]);
    await b.commit();
    expect(words(h.stored(seg, 0), 0, 4), "b's segment, whole; nothing of a's").to.deep.equal([0, 2]);
    expect(b.recalls.filter((r) => r.req.action === "revert"), "b was never told to abort").to.deep.equal([]);
    expect(entry(0)).to.include({ tainted: false });
    expect(entry(0).dirty.size).to.equal(0);
  });

  it("should keep a commit the home applied when its writer died before the reply, and serve it", async () => {
    await start(100);
    await a.writeU32(seg, 0, 0, 7);
    aroundCommit(async (_req, writer, commit) => {
      const out = await commit();
      if (writer === "cs1") await a.disconnect(); // a crashes: the reply never reaches it
      return out;
    });
    const outcome = await a.commit().then(() => null, (err: Error) => err);
    expect(outcome, "a cannot know its commit was applied").to.be.instanceOf(Error);
    expect(outcome).not.to.be.instanceOf(PagesLostError);
    expect(words(h.stored(seg, 0), 0)).to.deep.equal([7]);
    expect(words(await b.read(seg, 0), 0), "served once a's pages were taken back").to.deep.equal([7]);
    await b.writeU32(seg, 0, 4, 8);
    await b.commit();
    expect(words(h.stored(seg, 0), 0, 4)).to.deep.equal([7, 8]);
  });

  it("should report a commit whose connection closed before the reply as CommitOutcomeUnknownError", async () => {
    await start(100);
    await a.writeU32(seg, 0, 0, 7);
    aroundCommit(async (_req, writer, commit) => {
      const out = await commit();
      if (writer === "cs1") await a.disconnect();
      return out;
    });
    const err = await expectRejection(a.commit(), CommitOutcomeUnknownError);
    expect(err.message).to.contain("may or may not");
  });

  it("should let a recall of the page pass while its writer's commit is on its way, the writer dirty until it is applied, and its death then revert nothing", async () => {
    await start(100);
    await a.writeU32(seg, 0, 0, 5);
    const arrived = deferred<void>();
    const gate = deferred<void>();
    aroundCommit(async (_req, writer, commit) => {
      if (writer === "cs1") {
        arrived.resolve();
        await gate.promise;
      }
      return commit();
    });
    const committing = a.commit();
    await arrived.promise;
    expect(words(await b.read(seg, 0), 0), "b reads a's write before it is durable").to.deep.equal([5]);
    expect(a.recalls.map((r) => [r.req.action, r.dirty]), "its commit is on its way: it may still be refused").to.deep.equal([["downgrade", true]]);
    expect([...entry(0).dirty.keys()]).to.deep.equal(["cs1"]);
    gate.resolve();
    await committing;
    expect(words(h.stored(seg, 0), 0)).to.deep.equal([5]);
    expect(entry(0).dirty.size, "applied: nothing of a's is uncommitted any more").to.equal(0);
    const gone = h.dropped("cs1");
    await a.disconnect();
    await gone;
    expect(entry(0).tainted, "a had nothing uncommitted in the page").to.equal(false);
    expect(b.recalls.filter((r) => r.req.action === "revert")).to.deep.equal([]);
    expect(b.state(seg, 0), "b keeps its copy").to.equal(PageState.READ);
    expect(words(await b.read(seg, 0), 0)).to.deep.equal([5]);
  });
});
