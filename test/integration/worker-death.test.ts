/**
 * An isiba worker that dies (here: its entry exhausts the worker's bounded heap) is a crash of
 * the invocations it ran (DESIGN §7a): their uncommitted writes are lost — not left in the
 * compute server's copies of the pages for other invocations to read and build on — their
 * locks are given back, and the server carries on with a new worker. Real processes, a small
 * worker heap (test/fixtures/hog.ts).
 */
import { expect } from "chai";
import * as path from "node:path";
import { TestCluster } from "../support/test-cluster.js";
import { REPO_ROOT } from "../support/compiled-examples.js";
import type { Cluster } from "../../shell/client/cluster.js";
import type { Hog } from "../fixtures/hog.js";

const HOG = path.join(REPO_ROOT, "test/fixtures/hog.ts");

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected the call to fail");
}

describe("Isiba worker death (integration, real processes)", function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  let client: Cluster;

  before(async () => {
    cluster = await TestCluster.start({ compute: 2, workers: 1, workerHeapMb: 48 });
    client = await cluster.connect();
    await client.load(HOG);
  });

  after(async () => {
    await cluster?.stop();
  });

  it("should fail the invocation, keep the server, and drop its uncommitted writes from the server's copies", async () => {
    const h = await client.create<Hog>("Hog", "Hog1");
    expect(await h.at("cs1").bump()).to.equal(1);
    const err = await failure(h.at("cs1").hog());
    expect(err.name).to.equal("ResourceLimitError");
    expect(err.message).to.match(/ran out of its 48 MiB JavaScript heap \(--max-invocation-memory\).*NOT applied/);
    expect(await h.at("cs1").get(), "cs1's copy must not keep the dead worker's +100").to.equal(1);
    expect(await h.at("cs2").get()).to.equal(1);
    expect(await h.at("cs1").bump()).to.equal(2);
    expect(await h.at("cs1").check()).to.equal(true);
  });

  it("should give its lock back only after its writes were dropped", async () => {
    const h = await client.create<Hog>("Hog", "Hog2");
    expect(await h.at("cs1").bumpLocked()).to.equal(1);
    const hogging = failure(h.at("cs1").hogLocked());
    expect((await hogging).name).to.equal("ResourceLimitError");
    expect(await h.at("cs2").bumpLocked(), "the next holder counts from the committed value").to.equal(2);
    expect(await h.at("cs1").bumpLocked()).to.equal(3);
  });

  it("should run again, on a new worker, a frame that worker never began: only the one that ran out of heap fails", async () => {
    const [h, other] = [await client.create<Hog>("Hog", "Hog4"), await client.create<Hog>("Hog", "Hog5")];
    expect(await other.at("cs1").bump()).to.equal(1);
    const reruns = await cluster.metric("cs1", "isiba_reruns_total");
    let x = "";
    const hogging = failure(client.invoke(h.sysname, "hogAfter", [1500], { at: "cs1", onThread: (t) => (x = t) }));
    while (!(await client.threads(x)).frames.some((f) => /^running/.test(f.state ?? ""))) await new Promise((resolve) => setTimeout(resolve, 20));
    const queued = other.at("cs1").bump(); // behind the hog in cs1's only worker
    expect((await hogging).name).to.equal("ResourceLimitError");
    expect(await queued, "the frame the worker never began ran again and returned").to.equal(2);
    expect(await cluster.metric("cs1", "isiba_reruns_total")).to.equal(reruns + 1);
    expect(await other.at("cs2").check()).to.equal(true);
    expect(await h.at("cs2").get(), "the hog's writes are not applied").to.equal(0);
  });

  it("should have made durable exactly the committed writes", async () => {
    const h = await client.create<Hog>("Hog", "Hog3");
    await h.at("cs1").bump();
    await failure(h.at("cs1").hog());
    await h.at("cs2").bump();
    await Promise.all([cluster.kill("cs1"), cluster.kill("cs2"), cluster.kill("ds1")]);
    await cluster.repair();
    expect(await h.at("cs1").get()).to.equal(2);
    expect(await h.at("cs2").check()).to.equal(true);
  });
});
