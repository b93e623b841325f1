/**
 * Tests of Placer and openPeer (servers/placement/placer.ts) over a LoadTable and fake
 * connections: decisions recorded per thread, failover when a call was not delivered
 * (and only then), hinted calls kept where they were sent (or sent once more to a
 * repaired server's new address), and the errors when nothing is reachable.
 */
import { expect } from "chai";
import { newSysName, type ServerId } from "../../../ra-kernel/ids.js";
import { Placer, openPeer } from "../../../servers/placement/placer.js";
import { LoadTable } from "../../../servers/placement/load-table.js";
import { DecisionLog } from "../../../servers/placement/decision-log.js";
import { WorkingSetPlacement } from "../../../servers/placement/working-set-placement.js";
import { NotDeliveredError } from "../../../servers/placement/errors.js";
import { ServerUnreachableError } from "../../../servers/transport/errors.js";
import type { PeerCache } from "../../../servers/transport/peer-cache.js";
import type { Peer } from "../../../servers/transport/transport.js";
import { expectRejection } from "../../support/expect-rejection.js";

const cs1 = "cs1" as ServerId;
const cs2 = "cs2" as ServerId;
const object = newSysName("ds1" as ServerId);

describe("Placer", () => {
  let table: LoadTable;
  let log: DecisionLog;
  let dead: string[];
  let placer: Placer;
  let registry: Map<ServerId, string>;

  beforeEach(() => {
    table = new LoadTable();
    log = new DecisionLog();
    dead = [];
    registry = new Map([[cs1, "a1"], [cs2, "a2"]]);
    placer = new Placer({
      by: "ws", table, policy: new WorkingSetPlacement(), log, onDead: (id) => dead.push(id),
      refresh: async () => { for (const [id, a] of registry) table.noteMember(id, a); },
    });
    table.noteMember(cs1, "a1");
    table.noteMember(cs2, "a2");
  });

  it("should record each decision under its thread, with its reason", async () => {
    table.noteReply(cs2, "a2", { running: 0, waiting: 0, queued: 0, workers: 2, lagMs: 0, cpu: 0, cachedPages: 1 }, { object, pages: 3 });
    expect(await placer.run({ thread: "t:1", depth: 0, object, entry: "e" }, async (server) => server)).to.equal("cs2");
    expect(log.of("t:1")).to.have.length(1);
    expect(log.of("t:1")[0]).to.include({ server: "cs2", reason: "warm", object, entry: "e", by: "ws" });
  });

  it("should place an undelivered call elsewhere, mark the server dead and list it as avoided", async () => {
    table.noteReply(cs1, "a1", { running: 0, waiting: 0, queued: 0, workers: 2, lagMs: 0, cpu: 0, cachedPages: 1 }, { object, pages: 3 });
    const value = await placer.run({ thread: "t:2", depth: 0, object, entry: "e" }, async (server, address) => {
      if (server === cs1) throw new NotDeliveredError(server, address, new Error("refused"));
      return server;
    });
    expect(value).to.equal("cs2");
    expect(dead).to.deep.equal(["cs1"]);
    expect(table.isDead(cs1)).to.equal(true);
    expect(log.of("t:2").map((r) => [r.server, r.avoided])).to.deep.equal([["cs1", undefined], ["cs2", ["cs1"]]]);
    expect(log.failovers).to.equal(1);
  });

  it("should not move a call that may have started: its error is thrown and the server marked dead", async () => {
    const lost = new ServerUnreachableError("connection to cs1 closed", { peer: "cs1", address: "a1" });
    const err = await expectRejection(placer.run({ thread: "t:3", depth: 0, entry: "e", hint: cs1 }, async () => { throw lost; }), ServerUnreachableError);
    expect(err).to.equal(lost);
    expect(table.isDead(cs1)).to.equal(true);
  });

  it("should have the calls after one lost with its server carry that server until one of them returns", async () => {
    const lost = new ServerUnreachableError("connection to cs1 closed", { peer: "cs1", address: "a1" });
    const carried: string[][] = [];
    await expectRejection(placer.run({ thread: "t:8", depth: 0, entry: "e", hint: cs1 }, async (_s, _a, _d, after) => {
      carried.push(after);
      throw lost;
    }), ServerUnreachableError);
    await expectRejection(placer.run({ thread: "t:9", depth: 0, entry: "e", hint: cs2 }, async (_s, _a, _d, after) => {
      carried.push(after);
      throw new Error("the entry threw");
    }), Error);
    expect(await placer.run({ thread: "t:10", depth: 0, entry: "e", hint: cs2 }, async (_s, _a, _d, after) => (carried.push(after), "ok"))).to.equal("ok");
    await placer.run({ thread: "t:11", depth: 0, entry: "e", hint: cs2 }, async (_s, _a, _d, after) => carried.push(after));
    expect(carried).to.deep.equal([[], ["cs1"], ["cs1"], []]);
  });

  it("should leave a server alone when the call failed for another reason", async () => {
    await expectRejection(placer.run({ thread: "t:4", depth: 0, entry: "e", hint: cs1 }, async () => { throw new Error("boom"); }), Error);
    expect(table.isDead(cs1)).to.equal(false);
  });

  it("should fail with ServerUnreachableError naming them when no server can be reached", async () => {
    const err = await expectRejection(placer.run({ thread: "t:5", depth: 0, entry: "e" }, async (server, address) => {
      throw new NotDeliveredError(server, address, new Error("refused"));
    }), ServerUnreachableError);
    expect(err.message).to.contain("no compute server is reachable").and.to.contain("cs1").and.to.contain("cs2");
  });

  it("should try a hinted server once more at the new address the registry gives it", async () => {
    const tried: string[] = [];
    const value = await placer.run({ thread: "t:6", depth: 0, entry: "e", hint: cs1 }, async (server, address) => {
      tried.push(address);
      if (address === "a1") {
        registry.set(cs1, "a1-new");
        throw new NotDeliveredError(server, address, new Error("refused"));
      }
      return address;
    });
    expect(value).to.equal("a1-new");
    expect(tried).to.deep.equal(["a1", "a1-new"]);
  });

  it("should fail a hinted call whose server is still at the same address", async () => {
    const err = await expectRejection(placer.run({ thread: "t:7", depth: 0, entry: "e", hint: cs1 }, async (server, address) => {
      throw new NotDeliveredError(server, address, new Error("refused"));
    }), ServerUnreachableError);
    expect(err.message).to.contain("compute server cs1 at a1 is unreachable");
  });
});

describe("openPeer", () => {
  function peers(results: Array<Peer | Error>): PeerCache {
    return { get: async () => { const r = results.shift()!; if (r instanceof Error) throw r; return r; } } as unknown as PeerCache;
  }
  const open = { closed: false } as Peer;
  const closed = { closed: true } as Peer;

  it("should give the open peer", async () => {
    expect(await openPeer(peers([open]), cs1, "a1")).to.equal(open);
  });

  it("should call a refused connection not delivered", async () => {
    const err = await expectRejection(openPeer(peers([new ServerUnreachableError("refused", { peer: "a1", address: "a1" })]), cs1, "a1"), NotDeliveredError);
    expect(err.server).to.equal("cs1");
  });

  it("should ask again for a peer found closed, and call it not delivered if it stays closed", async () => {
    expect(await openPeer(peers([closed, open]), cs1, "a1")).to.equal(open);
    await expectRejection(openPeer(peers([closed, closed]), cs1, "a1"), NotDeliveredError);
  });

  it("should let other errors through (e.g. a refused token)", async () => {
    const err = new Error("auth");
    expect(await expectRejection(openPeer(peers([err]), cs1, "a1"), Error)).to.equal(err);
  });
});
