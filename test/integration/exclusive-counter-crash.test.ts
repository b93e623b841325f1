/**
 * The exclusive fast path under kill -9 (issue 11): client loops increment one Counter
 * (`increment` is an exclusive entry: its monitor is cached by the compute server that ran it
 * last, and given back with the last commit when held at the home) from two compute servers at
 * once, while the test kills -9 a compute server, then the data server, at random moments, and
 * repairs the cluster each time. What must hold, on the counter's own state after the repair:
 *   - no acknowledged increment is lost: the count is at least the number acknowledged, and at
 *     least every value a reply showed (a reply never shows an increment that is not durable);
 *   - no increment applied twice or invented: the count is at most acknowledged + the calls
 *     that failed with an unknown outcome; every acknowledged value is distinct;
 *   - `increments` (a second field written by the same entry) equals `count`: no half-applied
 *     invocation.
 */
import { expect } from "chai";
import * as path from "node:path";
import { TestCluster } from "../support/test-cluster.js";
import { REPO_ROOT } from "../support/compiled-examples.js";
import { connect, type Cluster } from "../../shell/client/cluster.js";
import type { SysName } from "../../ra-kernel/ids.js";
import type { Counter } from "../../objects/examples/counter.js";
import type { Remote } from "../../shell/client/remote.js";

const COUNTER = path.join(REPO_ROOT, "objects/examples/counter.ts");
const LOOPS = 6;
/** Error classes that say the increment was certainly not applied. */
const NOT_APPLIED = new Set(["PagesLostError", "LockWaitCancelledError", "LeaseRevokedError"]);

interface Tally {
  acked: number[];
  /** Failed calls whose outcome is unknown (may or may not have applied). */
  unknown: number;
  notApplied: number;
}

describe("Exclusive counter under kill -9 (integration, real processes)", function () {
  this.timeout(180_000);
  let cluster: TestCluster;
  const clients: Cluster[] = [];

  before(async () => {
    cluster = await TestCluster.start({ compute: 2 });
  });

  after(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await cluster?.stop();
  });

  async function client(): Promise<Cluster> {
    const c = await connect({ dir: cluster.dir, timeoutMs: 15_000 });
    clients.push(c);
    return c;
  }

  /** LOOPS loops incrementing `name` (half pinned to cs1, half to cs2) until `stop` says so. */
  async function hammer(sysname: SysName, stop: () => boolean, tally: Tally): Promise<void> {
    const loops = Array.from({ length: LOOPS }, async (_, i) => {
      const c = await client();
      const counter = c.ref<Counter>(sysname).at(i % 2 === 0 ? "cs1" : "cs2") as Remote<Counter>;
      while (!stop()) {
        try {
          tally.acked.push(await counter.increment());
        } catch (err) {
          if (NOT_APPLIED.has((err as Error).name)) tally.notApplied++;
          else tally.unknown++;
          await new Promise((r) => setTimeout(r, 50)); // the cluster is being repaired
        }
      }
    });
    await Promise.all(loops);
  }

  async function killAndRepair(id: string, afterAcks: number, tally: Tally): Promise<void> {
    const target = tally.acked.length + afterAcks;
    while (tally.acked.length < target) await new Promise((r) => setTimeout(r, 5));
    await cluster.kill(id);
    await cluster.repair();
  }

  it("should lose no acknowledged increment and show none that is not durable, across kills of a compute and the data server", async () => {
    const setup = await client();
    await setup.load(COUNTER);
    const name = `Hot-${Date.now()}`;
    const { sysname } = await setup.create<Counter>("Counter", name);
    const tally: Tally = { acked: [], unknown: 0, notApplied: 0 };
    let done = false;
    const running = hammer(sysname, () => done, tally);
    await killAndRepair("cs1", 150 + Math.floor(Math.random() * 150), tally);
    await killAndRepair("ds1", 150 + Math.floor(Math.random() * 150), tally);
    const target = tally.acked.length + 150;
    while (tally.acked.length < target) await new Promise((r) => setTimeout(r, 5));
    done = true;
    await running;

    const after = await client();
    const state = (await after.ref<Counter>(sysname).stats()) as { count: number; increments: number };
    const acked = tally.acked.length;
    const summary = `count ${state.count}, increments ${state.increments}, acked ${acked}, unknown ${tally.unknown}, not applied ${tally.notApplied}`;
    console.log(`      ${summary}`);
    expect(new Set(tally.acked).size, `every acknowledged value distinct (${summary})`).to.equal(acked);
    expect(state.count, `no acknowledged increment lost (${summary})`).to.be.at.least(acked);
    expect(state.count, `no reply showed a count that is not durable (${summary})`).to.be.at.least(Math.max(...tally.acked));
    expect(state.count, `nothing applied that was not asked for (${summary})`).to.be.at.most(acked + tally.unknown);
    expect(state.increments, `no half-applied invocation (${summary})`).to.equal(state.count);
  });
});
