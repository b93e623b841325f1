/**
 * Tests of LoadGossip (servers/compute/load-gossip.ts) with fake connections: reports built
 * from the server's snapshot and merged into its own table, pushed to every other member
 * and to subscribers until their connection closes, members learnt from the registry, and
 * a member whose connection is refused marked dead.
 */
import { expect } from "chai";
import type { ServerId } from "../../../ra-kernel/ids.js";
import { LoadGossip } from "../../../servers/compute/load-gossip.js";
import { LoadTable } from "../../../servers/placement/load-table.js";
import { IDLE_LOAD, type LoadReport } from "../../../servers/placement/load-report.js";
import type { ServerDirectory } from "../../../servers/host/server-directory.js";
import type { PeerCache } from "../../../servers/transport/peer-cache.js";
import type { Peer } from "../../../servers/transport/transport.js";
import { ServerUnreachableError } from "../../../servers/transport/errors.js";
import { until } from "../../support/until.js";

/** A connection that records the reports pushed on it. */
class FakePeer {
  closed = false;
  reports: LoadReport[] = [];
  private listeners: Array<(r: string) => void> = [];

  constructor(readonly remoteId: string) {}

  async request(kind: string, body: { report: LoadReport }): Promise<unknown> {
    if (kind === "compute.load") this.reports.push(body.report);
    return {};
  }

  onClose(l: (r: string) => void): void {
    this.listeners.push(l);
  }

  close(): void {
    this.closed = true;
    for (const l of this.listeners) l("closed");
  }
}

describe("LoadGossip", () => {
  let table: LoadTable;
  let peers: Map<string, FakePeer>;
  let refused: Set<string>;
  let gossip: LoadGossip;

  beforeEach(() => {
    table = new LoadTable({ reportIntervalMs: 20 });
    peers = new Map([["a2", new FakePeer("cs2")], ["a3", new FakePeer("cs3")]]);
    refused = new Set();
    const peerCache = {
      get: async (address: string) => {
        if (refused.has(address)) throw new ServerUnreachableError("refused", { peer: address, address });
        return peers.get(address)!;
      },
    } as unknown as PeerCache;
    const servers = { list: async () => [{ id: "cs2", address: "a2", role: "compute" }, { id: "cs1", address: "a1", role: "compute" }] } as unknown as ServerDirectory;
    gossip = new LoadGossip({
      id: "cs1" as ServerId, address: "a1", table, peers: peerCache, servers,
      snapshot: () => ({ load: { ...IDLE_LOAD, running: 1 }, warm: [] }),
    });
  });

  afterEach(() => gossip.stop());

  it("should build reports from the snapshot, numbered, and merge them into its own table", () => {
    const r1 = gossip.report();
    const r2 = gossip.report();
    expect(r1).to.include({ server: "cs1", address: "a1" });
    expect(r2.seq).to.equal(r1.seq + 1);
    expect(table.candidates().find((c) => c.id === "cs1")!.load!.running).to.equal(1);
  });

  it("should push its report to the members the registry and reports name, itself excepted", async () => {
    table.noteMember("cs3" as ServerId, "a3");
    gossip.start();
    await until(() => peers.get("a2")!.reports.length > 0 && peers.get("a3")!.reports.length > 0, 5000, "reports pushed");
    expect(peers.get("a2")!.reports[0].members.map((m) => m.id)).to.not.include("cs1");
  });

  it("should push to a subscriber until its connection closes", async () => {
    const ws = new FakePeer("ws-1");
    const first = gossip.subscribe(ws as unknown as Peer);
    expect(first.server).to.equal("cs1");
    gossip.start();
    await until(() => ws.reports.length > 0, 5000, "report pushed to the subscriber");
    ws.close();
    const n = ws.reports.length;
    const later = peers.get("a2")!.reports.length + 3;
    await until(() => peers.get("a2")!.reports.length > later, 5000, "three more rounds");
    expect(ws.reports.length).to.equal(n);
  });

  it("should mark a member dead when its connection is refused", async () => {
    refused.add("a3");
    table.noteMember("cs3" as ServerId, "a3");
    gossip.start();
    await until(() => table.isDead("cs3" as ServerId), 5000, "cs3 marked dead");
  });
});
