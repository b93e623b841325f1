/**
 * Tests of ComputePicker (shell/client/compute-picker.ts): location hints, unknown and
 * missing servers, the registry as a source of members (and placement going on when it
 * cannot be read), reports pushed to the workstation, and dead servers avoided.
 * The registry is a fake ServerDirectory whose list the test changes; connections are fake.
 */
import { expect } from "chai";
import type { ServerId, ServerRole } from "../../../ra-kernel/ids.js";
import { newSysName } from "../../../ra-kernel/ids.js";
import type { ServerDirectory } from "../../../servers/host/server-directory.js";
import type { ServerInfo } from "../../../servers/name/protocol.js";
import type { PeerCache } from "../../../servers/transport/peer-cache.js";
import type { Peer } from "../../../servers/transport/transport.js";
import { BadRequestError, ServerUnreachableError } from "../../../servers/transport/errors.js";
import { ComputePicker } from "../../../shell/client/compute-picker.js";
import { UnknownServerError } from "../../../shell/client/errors.js";
import { expectRejection } from "../../support/expect-rejection.js";
import { NotDeliveredError } from "../../../servers/placement/errors.js";
import { IDLE_LOAD, type LoadReport } from "../../../servers/placement/load-report.js";

function server(id: string, port: number): ServerInfo {
  return { id: id as ServerId, role: "compute", address: `127.0.0.1:${port}`, httpAddress: `127.0.0.1:${port}`, pid: 1000 + port };
}

/** The methods ComputePicker uses. */
class FakeDirectory {
  servers: ServerInfo[] = [];
  calls: Array<ServerRole | undefined> = [];
  forgotten: string[] = [];
  down = false;

  async list(role?: ServerRole): Promise<ServerInfo[]> {
    this.calls.push(role);
    if (this.down) throw new ServerUnreachableError("name server down", { peer: "ns1", address: "" });
    return [...this.servers];
  }

  /** Registered servers the registry sees down (leases run out), listed by `registry` only. */
  downServers: ServerInfo[] = [];

  async registry(): Promise<{ servers: (ServerInfo & { state: string; stateReason: string })[] }> {
    const up = this.servers.map((s) => ({ ...s, state: "up", stateReason: "lease running" }));
    return { servers: [...up, ...this.downServers.map((s) => ({ ...s, state: "down", stateReason: "lease ran out 0.5 s ago" }))] };
  }

  forget(id: string): void {
    this.forgotten.push(id);
  }
}

/** Connections that open (or are refused, for addresses in `refused`); subscriptions get no answer. */
class FakePeers {
  refused = new Set<string>();
  subscriptions: string[] = [];

  async get(address: string): Promise<Peer> {
    if (this.refused.has(address)) throw new ServerUnreachableError(`cannot reach ${address}: refused`, { peer: address, address });
    return {
      remoteId: address, address, closed: false,
      request: async (kind: string) => { this.subscriptions.push(`${kind} ${address}`); return new Promise(() => undefined); },
      setHandler() {}, onClose() {}, close: async () => undefined,
    } as unknown as Peer;
  }
}

function report(id: string, port: number, extra: Partial<LoadReport> = {}): LoadReport {
  return { server: id as ServerId, address: `127.0.0.1:${port}`, incarnation: 1, seq: 1, load: IDLE_LOAD, warm: [], members: [], ...extra };
}

describe("ComputePicker", () => {
  let directory: FakeDirectory;
  let peers: FakePeers;
  let picker: ComputePicker;
  const cs1 = server("cs1", 7001);
  const cs2 = server("cs2", 7003);
  const cs3 = server("cs3", 7005);

  beforeEach(async () => {
    directory = new FakeDirectory();
    directory.servers = [cs1, cs2];
    peers = new FakePeers();
    picker = new ComputePicker({ directory: directory as unknown as ServerDirectory, peers: peers as unknown as PeerCache, workstation: "ws-test" });
    await picker.refresh();
  });

  afterEach(() => picker.close());

  it("should ask the registry for compute servers only, and subscribe to each", async () => {
    expect(directory.calls).to.deep.equal(["compute"]);
    expect(peers.subscriptions.sort()).to.deep.equal(["compute.subscribe 127.0.0.1:7001", "compute.subscribe 127.0.0.1:7003"]);
  });

  it("should pick the server a hint names", async () => {
    expect((await picker.pick("cs2")).server).to.equal("cs2");
    expect(await picker.pick("cs1")).to.deep.equal({ server: "cs1", address: cs1.address, reason: "hint" });
  });

  it("should refuse an unknown hint, listing the compute servers the registry has now", async () => {
    directory.servers = [cs1, cs2, cs3];
    const err = await expectRejection(picker.pick("cs9"), UnknownServerError);
    expect(err.serverId).to.equal("cs9");
    expect(err.message).to.contain("'cs9'").and.to.contain("cs1, cs2, cs3");
  });

  it("should say that a hinted server is down when the registry has it, with its lease run out", async () => {
    directory.servers = [cs1, cs3];
    directory.downServers = [cs2];
    const fresh = new ComputePicker({ directory: directory as unknown as ServerDirectory, peers: peers as unknown as PeerCache, workstation: "ws-3" });
    const err = await expectRejection(fresh.pick("cs2"), ServerUnreachableError);
    expect(err.message).to.contain("compute server cs2 is down (lease ran out").and.to.contain("clouds up");
  });

  it("should take a hinted server it did not know from the registry", async () => {
    directory.servers = [cs1, cs2, cs3];
    expect((await picker.pick("cs3")).address).to.equal(cs3.address);
  });

  it("should refuse to pick when no compute server is known", async () => {
    directory.servers = [];
    const empty = new ComputePicker({ directory: directory as unknown as ServerDirectory, peers: peers as unknown as PeerCache, workstation: "ws-2" });
    const err = await expectRejection(empty.pick(), ServerUnreachableError);
    expect(err.message).to.contain("no compute server");
  });

  it("should keep placing while the registry cannot be read", async () => {
    directory.down = true;
    await picker.refresh();
    for (let i = 0; i < 10; i++) expect(["cs1", "cs2"]).to.include((await picker.pick()).server);
  });

  it("should learn servers from pushed reports and their member lists", async () => {
    picker.onReport({ report: report("cs1", 7001, { members: [{ id: "cs3" as ServerId, address: cs3.address }] }) });
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) seen.add((await picker.pick()).server);
    expect([...seen].sort()).to.deep.equal(["cs1", "cs2", "cs3"]);
  });

  it("should refuse a malformed pushed report with BadRequestError", () => {
    expect(() => picker.onReport({ report: { ...report("cs1", 7001), seq: -1 } })).to.throw(BadRequestError, /seq/);
  });

  it("should send an object to the server where reports say it is warm", async () => {
    const object = newSysName("ds1" as ServerId);
    picker.onReport({ report: report("cs2", 7003, { warm: [{ object, pages: 3 }] }) });
    for (let i = 0; i < 20; i++) expect(await picker.pick(undefined, object)).to.include({ server: "cs2", reason: "warm" });
  });

  it("should place a call again elsewhere when its server cannot be reached, then leave that server out", async () => {
    const tried: string[] = [];
    for (let i = 0; i < 20; i++) {
      const value = await picker.run({ thread: `t:${i}`, depth: 0, entry: "e" }, async (server, address) => {
        tried.push(server);
        if (server === "cs1") throw new NotDeliveredError(server, address, new Error("refused"));
        return server;
      });
      expect(value).to.equal("cs2");
    }
    expect(tried.filter((s) => s === "cs1").length).to.be.at.most(1);
    if (tried.includes("cs1")) {
      expect(directory.forgotten).to.deep.equal(["cs1"]);
      expect(picker.decisions.failovers).to.equal(1);
    }
  });

  it("should not move a hinted call whose server cannot be reached", async () => {
    const err = await expectRejection(picker.run({ thread: "t:h", depth: 0, entry: "e", hint: "cs1" as ServerId }, async (server, address) => {
      throw new NotDeliveredError(server, address, new Error("refused"));
    }), ServerUnreachableError);
    expect(err.message).to.contain("compute server cs1").and.to.contain("unreachable");
  });
});
