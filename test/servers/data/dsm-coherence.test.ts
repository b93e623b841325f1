/**
 * The DSM end to end: a real data server (DataServer + PageHome over an InMemorySegmentStore)
 * and two to four real DsmClients, each a compute server on its own in-memory connection
 * (DsmHarness). Grants, recalls and commits cross the transport as messages, so they interleave
 * as they do between processes. What must hold: sequential consistency (every read sees the
 * latest write, committed or only recalled), a single writer at a time (no lost update),
 * readers invalidated by a writer re-read its bytes, and the store takes committed segments
 * only. Crash consistency (false sharing, fencing, reverts) is in dsm-commit.test.ts.
 */
import { expect } from "chai";
import { PagesLostError } from "../../../ra-kernel/errors.js";
import { PAGE_SIZE, type SysName } from "../../../ra-kernel/ids.js";
import { PageState } from "../../../ra-kernel/page-state.js";
import { isPending } from "../../support/deferred.js";
import { DsmHarness, type DsmNode } from "../../support/dsm-harness.js";
import { expectRejection } from "../../support/expect-rejection.js";

/** A page whose every byte is `fill`. */
function pageOf(fill: number): Uint8Array {
  return new Uint8Array(PAGE_SIZE).fill(fill);
}

/** The 32-bit counter at the start of a page. */
const counterOf = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
function withCounter(bytes: Uint8Array, n: number): Uint8Array {
  const out = bytes.slice();
  new DataView(out.buffer).setUint32(0, n, true);
  return out;
}

describe("DSM coherence (PageHome + DsmClients)", () => {
  let h: DsmHarness;
  let nodes: DsmNode[];
  let seg: SysName;

  async function start(count: number, leaseMs?: number): Promise<void> {
    h = await DsmHarness.start({ leaseMs });
    nodes = [];
    for (let i = 1; i <= count; i++) nodes.push(await h.node(`cs${i}`));
    seg = await h.newSegment(nodes[0]);
  }

  afterEach(() => h?.close());

  it("should let every read see the latest write as servers take turns writing one page", async () => {
    await start(3);
    for (let i = 0; i < 9; i++) {
      const writer = nodes[i % 3];
      await writer.update(seg, 0, (old) => {
        expect(old[0], `write ${i} sees write ${i - 1}`).to.equal(i);
        return pageOf(i + 1);
      });
      if (i % 2 === 0) await writer.commit(); // else: only recalled, not committed yet
      for (const reader of nodes) expect((await reader.read(seg, 0))[0], `read after write ${i} at ${reader.id}`).to.equal(i + 1);
    }
    expect(h.stored(seg, 0), "write 8 was committed").to.deep.equal(pageOf(9));
    for (const n of nodes) await n.commit();
    expect(h.stored(seg, 0), "older segments committed late do not undo newer words").to.deep.equal(pageOf(9));
    const upgrades = nodes.reduce((sum, n) => sum + n.dsm.counters.total.upgrades, 0);
    expect(upgrades, "a reader whose copy is current upgrades without the bytes").to.be.greaterThan(0);
  });

  it("should pass ownership back and forth, each writer seeing the other's last write", async () => {
    await start(2);
    const [a, b] = nodes;
    for (let i = 0; i < 10; i++) {
      const writer = i % 2 === 0 ? a : b;
      await writer.update(seg, 0, (old) => withCounter(old, counterOf(old) + 1));
      expect(h.home.directory.peek({ segment: seg, page: 0 })!.owner).to.equal(writer.id);
      expect(writer.state(seg, 0)).to.equal(PageState.WRITE);
      expect((i % 2 === 0 ? b : a).state(seg, 0), "the other lost its copy").to.equal(PageState.INVALID);
    }
    expect(a.recalls.filter((r) => r.req.action === "invalidate" && r.bytes !== null)).to.have.length(5);
    expect(b.recalls.filter((r) => r.req.action === "invalidate" && r.bytes !== null)).to.have.length(4);
    expect(counterOf(h.stored(seg, 0)), "nothing committed yet").to.equal(0);
    await Promise.all(nodes.map((n) => n.commit()));
    expect(counterOf(h.stored(seg, 0))).to.equal(10);
  });

  it("should invalidate every reader on a write, and give them the new bytes when they read again", async () => {
    await start(4);
    const [w, ...readers] = nodes;
    await w.write(seg, 0, pageOf(1));
    await w.commit();
    for (const r of readers) expect((await r.read(seg, 0))[0]).to.equal(1);
    await w.write(seg, 0, pageOf(2));
    for (const r of readers) {
      expect(r.state(seg, 0), `${r.id} was invalidated`).to.equal(PageState.INVALID);
      expect(r.recalls.map((x) => x.req.action)).to.deep.equal(["invalidate"]);
    }
    await w.commit();
    for (const r of readers) expect((await r.read(seg, 0))[0]).to.equal(2);
    expect(h.stored(seg, 0)).to.deep.equal(pageOf(2));
  });

  it("should store a writer's words when it commits after its page was recalled, not when recalled", async () => {
    await start(2);
    const [a, b] = nodes;
    await a.write(seg, 0, pageOf(7));
    expect((await b.read(seg, 0))[0]).to.equal(7); // a was downgraded: its bytes went home
    expect(a.state(seg, 0)).to.equal(PageState.READ);
    expect(a.recalls.map((r) => [r.req.action, r.dirty])).to.deep.equal([["downgrade", true]]);
    expect(h.stored(seg, 0)[0], "recalled bytes are not committed").to.equal(0);
    await a.commit();
    expect(h.stored(seg, 0)).to.deep.equal(pageOf(7));
    expect(h.home.directory.peek({ segment: seg, page: 0 })!.dirty.size, "a committed its last writer of the page").to.equal(0);
  });

  it("should lose no increment when servers write one page at the same time", async () => {
    await start(3);
    const rounds = 15;
    await Promise.all(
      nodes.map(async (n) => {
        for (let i = 0; i < rounds; i++) {
          await n.update(seg, 0, (old) => withCounter(old, counterOf(old) + 1));
          await n.commit();
        }
      }),
    );
    expect(counterOf(h.stored(seg, 0))).to.equal(3 * rounds);
    for (const n of nodes) expect(counterOf(await n.read(seg, 0))).to.equal(3 * rounds);
  });

  it("should serve the committed page once a silent writer's lease ran out, and fail that writer's commit", async () => {
    await start(2, 100);
    const [a, b] = nodes;
    await a.write(seg, 0, pageOf(1));
    await a.commit();
    a.begin();
    await a.write(seg, 0, pageOf(2));
    await a.disconnect();
    const read = b.read(seg, 0);
    expect(await isPending(read), "the home waits for a's lease").to.equal(true);
    expect((await read)[0], "a's uncommitted write is lost").to.equal(1);
    const err = await expectRejection(a.commit(), PagesLostError);
    expect(err.server).to.equal(h.serverId);
    expect(err.message).to.contain("NOT applied");
    expect(h.stored(seg, 0)).to.deep.equal(pageOf(1));
  });
});
