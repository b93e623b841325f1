/**
 * Tests of PageHome.settleHolder (data.holder.settle): what a home answers about a server a
 * caller lost while a call of its may have been running there — alive (it answered a ping
 * sent after the question), taken back (its uncommitted words reverted out of the pages,
 * once its lease ran out), or unknown (it never held anything here).
 */
import { expect } from "chai";
import type { ServerId, SysName } from "../../../ra-kernel/ids.js";
import { InMemorySegmentStore } from "../../../servers/data/in-memory-segment-store.js";
import { PageHome } from "../../../servers/data/page-home.js";
import type { Peer } from "../../../servers/transport/transport.js";
import { newObject, pageOf } from "../../support/segment-store-fixtures.js";

const ds1 = "ds1" as ServerId;
const LEASE_MS = 80;

/** A compute server's connection as the home sees it: answers pings (or not) and recalls with `bytes`, dirty. */
class HolderPeer implements Peer {
  readonly asked: string[] = [];
  answers = true;
  /** Recall answers wait for this (a slow holder). */
  hold: Promise<void> | null = null;
  /** Called when a recall arrives (before it waits for `hold`). */
  onRecall: () => void = () => undefined;
  bytes: Uint8Array | null = null;
  closed = false;
  constructor(readonly remoteId: string, readonly address = `mem:${remoteId}`) {}
  async request<T>(kind: string): Promise<T> {
    this.asked.push(kind);
    if (!this.answers) throw new Error("connection closed");
    if (kind === "compute.ping") return {} as T;
    this.onRecall();
    await this.hold;
    return { held: true, bytes: this.bytes, stamp: 5, dirty: true } as T;
  }
  setHandler(): void {}
  onClose(): void {}
  async close(): Promise<void> {}
}

describe("PageHome.settleHolder", () => {
  let store: InMemorySegmentStore;
  let home: PageHome;
  let peers: Map<string, HolderPeer>;
  let seg: SysName;

  beforeEach(async () => {
    store = new InMemorySegmentStore({ serverId: ds1, epoch: 1 });
    const o = newObject(4);
    await store.createObject(o.desc, o.segments);
    seg = o.desc.segments.data;
    peers = new Map(["cs1", "cs2"].map((id) => [id, new HolderPeer(id)]));
    home = new PageHome(store, ds1, (h) => peers.get(h), { leaseMs: LEASE_MS, recallTimeoutMs: 50 });
  });
  afterEach(() => store.close());

  it("should answer unknown for a server that never held anything here, asking it nothing", async () => {
    expect(await home.settleHolder("cs9")).to.equal("unknown");
  });

  it("should answer alive once the server answered a ping, taking nothing back", async () => {
    await home.fault({ segment: seg, page: 0, mode: "write", have: 0 }, "cs1");
    expect(await home.settleHolder("cs1")).to.equal("alive");
    expect(peers.get("cs1")!.asked).to.deep.equal(["compute.ping"]);
    expect(home.directory.peek({ segment: seg, page: 0 })!.owner).to.equal("cs1");
  });

  it("should take a gone server's uncommitted words out of the pages it left dirty before answering", async () => {
    await home.fault({ segment: seg, page: 0, mode: "write", have: 0 }, "cs1");
    // cs2 reads the page: cs1 gives back bytes holding writes it has not committed.
    peers.get("cs1")!.bytes = pageOf(7);
    expect((await home.fault({ segment: seg, page: 0, mode: "read", have: 0 }, "cs2")).bytes).to.deep.equal(pageOf(7));
    peers.delete("cs1"); // its connection closed: it died
    expect(await home.settleHolder("cs1")).to.equal("taken back");
    const e = home.directory.peek({ segment: seg, page: 0 })!;
    expect(e.dirty.has("cs1"), "cs1 is no longer dirty").to.equal(false);
    expect(peers.get("cs2")!.asked, "cs2 dropped the copy holding cs1's words").to.include("compute.recall");
    expect((await home.fault({ segment: seg, page: 0, mode: "read", have: 0 }, "cs2")).bytes, "the durable image again: never written").to.equal(null);
  });

  it("should answer alive for a repaired server only once what its dead process left is reverted", async () => {
    home.holderConnected("cs1");
    await home.fault({ segment: seg, page: 0, mode: "write", have: 0 }, "cs1");
    peers.get("cs1")!.bytes = pageOf(7);
    await home.fault({ segment: seg, page: 0, mode: "read", have: 0 }, "cs2");
    let release!: () => void;
    const cs2 = peers.get("cs2")!;
    cs2.hold = new Promise((resolve) => (release = resolve));
    const refreshing = new Promise<void>((resolve) => (cs2.onRecall = resolve));
    home.holderConnected("cs1"); // the repaired process: what the dead one held is taken back (a revert starts)
    let answered = false;
    const settled = home.settleHolder("cs1").then((outcome) => ((answered = true), outcome));
    await refreshing;
    await new Promise((resolve) => setImmediate(resolve)); // the ping's answer is in by now
    expect(answered, "answered while the revert still waits for cs2").to.equal(false);
    release();
    expect(await settled).to.equal("alive");
    expect(home.directory.peek({ segment: seg, page: 0 })!.dirty.has("cs1")).to.equal(false);
    expect(peers.get("cs2")!.asked, "cs2's copy holding the dead process's words was dropped before the answer").to.include("compute.recall");
  });

  it("should take back a server that is connected but does not answer", async () => {
    await home.fault({ segment: seg, page: 1, mode: "write", have: 0 }, "cs1");
    peers.get("cs1")!.answers = false;
    expect(await home.settleHolder("cs1")).to.equal("taken back");
    expect(home.directory.peek({ segment: seg, page: 1 })?.owner ?? null).to.equal(null);
  });
});
