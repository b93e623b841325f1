/**
 * The decision log of atomic threads' two-phase commit (servers/data/atomic-decisions.ts) in
 * a real data server: a decision answered is durable — a `kill -9` right after the answer
 * and a restart keep it — and two proposals racing on two connections settle on one outcome
 * for both, whichever comes first; after the restart a late proposal still gets it.
 */
import { expect } from "chai";
import { LamportClock } from "../../ra-kernel/lamport-clock.js";
import type { DecisionRecord } from "../../servers/data/atomic-decisions.js";
import { SocketIoTransport } from "../../servers/transport/socket-io-transport.js";
import type { Peer } from "../../servers/transport/transport.js";
import { TestCluster } from "../support/test-cluster.js";

describe("atomic decisions at a real data server", function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  const peers: Peer[] = [];

  before(async () => {
    cluster = await TestCluster.start({ compute: 1 });
  });

  afterEach(async () => {
    await Promise.all(peers.splice(0).map((p) => p.close()));
  });

  after(async () => {
    await cluster?.stop();
  });

  async function peerTo(id: string, localId: string): Promise<Peer> {
    const peer = await new SocketIoTransport(new LamportClock(), localId).connect(cluster.address(id), { token: cluster.token, localId });
    peers.push(peer);
    return peer;
  }

  const decide = (peer: Peer, id: string, outcome: "commit" | "abort") => peer.request<DecisionRecord>("data.atomic.decide", { id, outcome });

  it("should keep every decision it answered across a kill -9 right after the answers, and settle racing proposals on one outcome", async () => {
    const coordinator = await peerTo("ds1", "coordinator");
    const inquirer = await peerTo("ds1", "inquirer");
    const ids = Array.from({ length: 40 }, (_, i) => `t:it:${Date.now()}-${i}`);
    // Each id gets a commit and a presumed abort at once, from two connections.
    const answers = await Promise.all(ids.map(async (id, i) => {
      const proposals = i % 2 === 0
        ? [decide(coordinator, id, "commit"), decide(inquirer, id, "abort")]
        : [decide(inquirer, id, "abort"), decide(coordinator, id, "commit")];
      const [first, second] = await Promise.all(proposals);
      expect(first, id).to.deep.equal(second);
      expect(first.proposer, id).to.equal(first.outcome === "commit" ? "coordinator" : "inquirer");
      return first;
    }));
    await cluster.kill("ds1"); // at once: nothing more is sent to it
    await cluster.repair();

    const late = await peerTo("ds1", "late");
    for (const before of answers) {
      const { decision } = await late.request<{ decision: DecisionRecord | null }>("data.atomic.outcome", { id: before.id });
      expect(decision, before.id).to.deep.equal(before);
      const other = before.outcome === "commit" ? "abort" : "commit";
      expect((await decide(late, before.id, other)).outcome, before.id).to.equal(before.outcome);
    }
  });
});
