/**
 * Placement at every invocation (integration, real processes; issue 10, DESIGN §8):
 * failover of unhinted invocations after a compute server's kill -9, a hot object with an
 * exclusive entry kept on one server (its pages do not ping-pong: no recalls), and a nested
 * invocation placed by a compute server's policy on another server, with its reason in the
 * server's decision log. Fixtures: objects/examples/counter.ts, test/fixtures/relay.ts.
 */
import { expect } from "chai";
import * as path from "node:path";
import { TestCluster } from "../support/test-cluster.js";
import { REPO_ROOT } from "../support/compiled-examples.js";
import { until } from "../support/until.js";
import type { Cluster } from "../../shell/client/cluster.js";
import type { Remote } from "../../shell/client/remote.js";
import type { Counter } from "../../objects/examples/counter.js";
import type { Relay } from "../fixtures/relay.js";
import { ComputeClient, type ComputeStatus } from "../../servers/compute/protocol.js";
import type { PeerCache } from "../../servers/transport/peer-cache.js";
import { deferred } from "../support/deferred.js";

const COUNTER = path.join(REPO_ROOT, "objects/examples/counter.ts");
const RELAY = path.join(REPO_ROOT, "test/fixtures/relay.ts");

/** A compute server's compute.status, asked over the client's own connections. */
async function computeStatus(client: Cluster, id: string): Promise<ComputeStatus> {
  const address = (await client.serverList()).find((s) => s.id === id)!.address;
  const peers = (client as unknown as { peers: PeerCache }).peers;
  return new ComputeClient(await peers.get(address)).call("compute.status", {});
}

/** Recalls and invalidations the compute servers received so far. */
async function pageTraffic(client: Cluster, ids: string[]): Promise<number> {
  let n = 0;
  for (const id of ids) {
    const { counters } = await computeStatus(client, id);
    n += (counters.recallsReceived ?? 0) + (counters.invalidationsReceived ?? 0);
  }
  return n;
}

describe("Placement (integration, real processes)", function () {
  this.timeout(180_000);

  describe("failover", () => {
    let cluster: TestCluster;

    before(async () => {
      cluster = await TestCluster.start({ compute: 3 });
    });

    after(async () => {
      await cluster?.stop();
    });

    it("should fail no unhinted invocation because of a killed compute server after the first detection", async () => {
      const client = await cluster.connect();
      await client.load(COUNTER);
      const counters: Remote<Counter>[] = [];
      // Created on each server in turn: reads go where each is warm, so cs2 serves some of them.
      for (let i = 0; i < 6; i++) counters.push(await client.create<Counter>("Counter", `Failover${i}`, [], { at: `cs${(i % 3) + 1}` }));
      const warmedUp = deferred<void>();
      let killed = false;
      let firstFailure = Infinity;
      let okAfterKill = 0;
      let clock = 0;
      const failedAfterDetection: string[] = [];
      let ok = 0;
      const loop = async (i: number): Promise<void> => {
        // Bounded: if calls keep failing, the assertion below shows why (an endless loop of
        // fast failures would grow this array until the runner dies).
        while (okAfterKill < 300 && failedAfterDetection.length < 100) {
          const started = ++clock;
          try {
            await counters[(i + clock) % counters.length].read();
            ok++;
            if (killed) okAfterKill++;
            if (ok === 200) warmedUp.resolve();
          } catch (err) {
            if (started > firstFailure) failedAfterDetection.push((err as Error).message);
            firstFailure = Math.min(firstFailure, clock);
          }
        }
      };
      const loops = Promise.all([0, 1, 2, 3, 4, 5].map(loop));
      await warmedUp.promise;
      expect(client.placementLog(undefined, 1000).filter((d) => d.entry === "read").map((d) => d.server)).to.include("cs2");
      await cluster.kill("cs2");
      killed = true;
      await loops;
      expect(failedAfterDetection, failedAfterDetection.slice(0, 3).join("\n")).to.deep.equal([]);
      expect(client.placementView().find((s) => s.id === "cs2")).to.include({ dead: true });
      expect(await Promise.all(counters.map((c) => c.read()))).to.deep.equal([0, 0, 0, 0, 0, 0]);
    });
  });

  describe("hot exclusive object and nested placement", () => {
    let cluster: TestCluster;
    let client: Cluster;

    before(async () => {
      cluster = await TestCluster.start({ compute: 3 });
      client = await cluster.connect();
      await client.load(COUNTER);
      await client.load(RELAY);
    });

    after(async () => {
      await cluster?.stop();
    });

    it("should keep a hot counter with an exclusive entry on one server: no recalls, every increment counted", async () => {
      const counter = await client.create<Counter>("Counter", "HotCounter");
      const second = await cluster.connect();
      const viaSecond = second.ref<Counter>(counter.sysname);
      // The second workstation has not called it yet: it learns where it is warm from reports.
      await until(() => second.placementView().some((s) => s.warmObjects > 0), 5000, "a report of the counter's working set at the second workstation");
      const before = await pageTraffic(client, ["cs1", "cs2", "cs3"]);
      await Promise.all(Array.from({ length: 16 }, async (_, i) => {
        for (let n = 0; n < 20; n++) await (i % 2 ? viaSecond : counter).increment();
      }));
      expect(await counter.read()).to.equal(320);
      expect((await pageTraffic(client, ["cs1", "cs2", "cs3"])) - before).to.be.at.most(2);
      const decisions = [...client.placementLog(undefined, 1000), ...second.placementLog(undefined, 1000)].filter((d) => d.entry === "increment");
      expect(decisions).to.have.length(320);
      expect(new Set(decisions.map((d) => d.server)).size, JSON.stringify(decisions.slice(0, 3))).to.equal(1);
      expect(new Set(decisions.map((d) => d.reason))).to.deep.equal(new Set(["warm"]));
    });

    it("should place a nested invocation where its target is warm, the reason in the caller's server's log", async () => {
      const a = await client.create<Relay>("Relay", "PlacedA", ["A"], { at: "cs1" });
      const b = await client.create<Relay>("Relay", "PlacedB", ["B"], { at: "cs3" }); // B's pages: owned at cs3
      const created = Date.now();
      await until(async () => {
        const status = await computeStatus(client, "cs1");
        const cs3 = status.placement!.servers.find((s) => s.id === "cs3");
        return cs3 !== undefined && cs3.loadAgeMs !== null && cs3.loadAgeMs < Date.now() - created;
      }, 10_000, "cs1 hearing from cs3 after B was created");
      const hop = await a.at("cs1").callRef(b);
      expect(hop).to.include({ label: "B", depth: 1 });
      const thread = client.placementLog(undefined, 1)[0].thread;
      expect(hop.thread).to.equal(thread);
      const { server, decisions } = await client.serverDecisions("cs1", thread);
      expect(server).to.equal("cs1");
      expect(decisions).to.have.length(1);
      expect(decisions[0]).to.include({ thread, depth: 1, entry: "whoami", object: b.sysname, server: "cs3", reason: "warm", by: "cs1" });
      expect(decisions[0].detail).to.contain("warm on cs3");
    });
  });
});
