/**
 * ServerRegistry: leases over FakePeers, with a clock the tests move by hand.
 */
import { expect } from "chai";
import type { ServerId } from "../../../ra-kernel/ids.js";
import type { ServerInfo } from "../../../servers/name/protocol.js";
import { ServerRegistry, type ServerState } from "../../../servers/name/server-registry.js";
import { FakePeer } from "../../support/fake-peer.js";

const cs1: ServerInfo = { id: "cs1" as ServerId, role: "compute", address: "127.0.0.1:7002", httpAddress: "127.0.0.1:7002", pid: 12 };

describe("ServerRegistry", () => {
  let now: number;
  let registry: ServerRegistry;
  let transitions: Array<[string, ServerState]>;

  beforeEach(() => {
    now = 1_000_000;
    registry = new ServerRegistry({ selfId: "ns1", leaseMs: 1500, graceMs: 3000, now: () => now });
    transitions = [];
    registry.onTransition((id, state) => transitions.push([id, state]));
  });

  /** Time passing with the name server running: swept every 100 ms. */
  function advance(ms: number): void {
    for (let left = ms; left > 0; left -= 100) {
      now += Math.min(100, left);
      registry.sweep();
    }
  }

  it("should show a registered server up while its lease runs", () => {
    registry.register(cs1, new FakePeer("cs1"));
    now += 1500;
    expect(registry.stateOf("cs1")).to.deep.equal({ state: "up", reason: "lease running" });
    expect(transitions).to.deep.equal([["cs1", "up"]]);
  });

  it("should show a server down once its lease ran out, and report it on the next sweep", () => {
    registry.register(cs1, new FakePeer("cs1"));
    now += 1501;
    expect(registry.stateOf("cs1").state).to.equal("down");
    expect(registry.stateOf("cs1").reason).to.match(/^lease ran out/);
    now -= 1501;
    advance(1501);
    registry.sweep();
    expect(transitions).to.deep.equal([["cs1", "up"], ["cs1", "down"]]);
  });

  it("should keep a renewed lease running and bring back a server that was only slow", () => {
    const peer = new FakePeer("cs1");
    registry.register(cs1, peer);
    for (let i = 0; i < 10; i++) {
      advance(500);
      expect(registry.renew(cs1.id, cs1.address, peer)).to.equal(true);
    }
    expect(registry.stateOf("cs1").state).to.equal("up");
    advance(5000);
    expect(registry.renew(cs1.id, cs1.address, peer)).to.equal(true);
    expect(registry.stateOf("cs1").state).to.equal("up");
    expect(transitions).to.deep.equal([["cs1", "up"], ["cs1", "down"], ["cs1", "up"]]);
  });

  it("should show a server down at once when its connection closes", async () => {
    const peer = new FakePeer("cs1");
    registry.register(cs1, peer);
    await peer.close();
    expect(registry.stateOf("cs1")).to.deep.equal({ state: "down", reason: "its connection to the name server closed" });
    expect(transitions).to.deep.equal([["cs1", "up"], ["cs1", "down"]]);
  });

  it("should take a renewal over a new connection (a reconnect) and ignore the old one closing", async () => {
    const first = new FakePeer("cs1");
    const second = new FakePeer("cs1");
    registry.register(cs1, first);
    expect(registry.renew(cs1.id, cs1.address, second)).to.equal(true);
    await first.close();
    expect(registry.stateOf("cs1").state).to.equal("up");
    await second.close();
    expect(registry.stateOf("cs1").state).to.equal("down");
  });

  it("should refuse renewals it has no lease for, so the server registers again", () => {
    expect(registry.renew(cs1.id, cs1.address, new FakePeer("cs1"))).to.equal(false);
    registry.register(cs1, new FakePeer("cs1"));
    expect(registry.renew(cs1.id, "127.0.0.1:9999", new FakePeer("cs1")), "another address").to.equal(false);
  });

  it("should count servers it has no lease for up during the grace after a restart, then down", () => {
    expect(registry.stateOf("cs9").state).to.equal("up");
    now += 3001;
    expect(registry.stateOf("cs9")).to.deep.equal({ state: "down", reason: "not registered since the name server started" });
  });

  it("should always show the name server itself up", () => {
    now += 60_000;
    expect(registry.stateOf("ns1").state).to.equal("up");
  });

  it("should register a server whose connection already closed as down", async () => {
    const peer = new FakePeer("cs1");
    await peer.close();
    registry.register(cs1, peer);
    expect(registry.stateOf("cs1").state).to.equal("down");
  });

  it("should not hold against servers the time the name server itself stood still", () => {
    registry.register(cs1, new FakePeer("cs1"));
    now += 200;
    registry.sweep();
    now += 10_000;
    registry.sweep();
    expect(registry.stateOf("cs1").state, "right after the stall").to.equal("up");
    expect(transitions).to.deep.equal([["cs1", "up"]]);
    now += 1600;
    expect(registry.stateOf("cs1").state, "no renewal since").to.equal("down");
  });

  it("should count leases by state for /metrics", async () => {
    const peer = new FakePeer("cs2");
    registry.register(cs1, new FakePeer("cs1"));
    registry.register({ ...cs1, id: "cs2" as ServerId }, peer);
    await peer.close();
    expect(registry.figures()).to.deep.equal({ registry_servers_up: 1, registry_servers_down: 1 });
  });
});
