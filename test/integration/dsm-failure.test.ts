/**
 * DSM under crashes, on a real cluster (test/fixtures/crash-register.ts):
 * - kill -9 of a compute server that owns a page it wrote in an invocation still running:
 *   the write is lost (it was never committed), the caller gets an error naming the
 *   server, the other compute server reads the last committed value and can write, and the
 *   restarted server (`clouds up` repairs the cluster) serves current data;
 * - kill -9 of the data server during a workload of writes on cs1 and reads on cs2: the
 *   invocations lost meanwhile fail with errors naming it, no returned write is lost, no
 *   read is older than the last returned write, and after the restart every compute server
 *   sees new writes (no stale page survives the home's new epoch).
 */
import { expect } from "chai";
import * as path from "node:path";
import { TestCluster } from "../support/test-cluster.js";
import { REPO_ROOT } from "../support/compiled-examples.js";
import type { Cluster } from "../../shell/client/cluster.js";
import type { Remote } from "../../shell/client/remote.js";
import type { CrashRegister } from "../fixtures/crash-register.js";

const CRASH_REGISTER = path.join(REPO_ROOT, "test/fixtures/crash-register.ts");
/** How long the doomed invocation spins if nobody kills its server. */
const HANG_LIMIT_MS = 60_000;
/** Bound of a poll for a condition that has no event. */
const POLL_LIMIT_MS = 15_000;

type Settled<T> = { ok: true; value: T } | { ok: false; error: Error };

function settle<T>(p: Promise<T>): Promise<Settled<T>> {
  return p.then((value) => ({ ok: true as const, value }), (error: Error) => ({ ok: false as const, error }));
}

/** Polls `probe` until it returns true, at most POLL_LIMIT_MS. */
async function eventually(probe: () => Promise<boolean>): Promise<boolean> {
  const end = Date.now() + POLL_LIMIT_MS;
  while (Date.now() < end) {
    if (await probe()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

/** Distinct messages with how many times each occurred, e.g. "3x get at cs2: ...". */
function tally(messages: string[]): string[] {
  const counts = new Map<string, number>();
  for (const m of messages) counts.set(m, (counts.get(m) ?? 0) + 1);
  return [...counts].map(([m, n]) => `${n}x ${m}`);
}

function messageOf(err: unknown): string {
  return `${(err as Error).name}: ${(err as Error).message}`;
}

describe("DSM when a compute server dies holding a dirty page (integration, real processes)", function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  let client: Cluster;
  let reg: Remote<CrashRegister>;
  let doomed: Promise<Settled<string>>;

  before(async () => {
    cluster = await TestCluster.start({ compute: 2 });
    client = await cluster.connect();
    await client.load(CRASH_REGISTER);
    reg = await client.create<CrashRegister>("CrashRegister", "Crash");
    const fields = await reg.layout();
    const page = (f: string) => (32 + 32 * fields.indexOf(f)) >> 12;
    expect([page("value"), page("marker")]).to.deep.equal([0, 1]);
    expect(await reg.at("cs1").set(7)).to.equal(7);
  });

  after(async () => {
    await cluster?.stop();
  });

  it("should show cs1 the doomed invocation's write of another page while it still runs on cs2", async () => {
    doomed = settle(reg.at("cs2").writeThenHang(99, HANG_LIMIT_MS));
    const seen = await eventually(async () => (await reg.at("cs1").readMarker()) === 99);
    expect(seen, `cs1 never read marker = 99 within ${POLL_LIMIT_MS} ms\ncs2 log:\n${cluster.logs("cs2")}`).to.equal(true);
  });

  it("should fail the killed invocation with an error that names cs2", async () => {
    await cluster.kill("cs2");
    const outcome = await doomed;
    expect(outcome.ok, JSON.stringify(outcome)).to.equal(false);
    const message = messageOf((outcome as { error: Error }).error);
    console.log(`      the caller got: ${message}`);
    expect(message).to.match(/\bcs2\b/);
  });

  it("should serve the last committed value at cs1, not cs2's uncommitted write", async () => {
    expect(await reg.at("cs1").get()).to.equal(7);
  });

  it("should let cs1 write after the crash", async () => {
    expect(await reg.at("cs1").set(8)).to.equal(8);
    expect(await reg.at("cs1").get()).to.equal(8);
  });

  it("should serve current data at cs2 once clouds up restarted it", async () => {
    const r = await cluster.repair();
    expect(r.stdout).to.match(/^\s+cs2\s.*\(restarted/m);
    const fresh = await (await cluster.connect()).bind<CrashRegister>("Crash");
    expect(await fresh.at("cs2").get()).to.equal(8);
    expect(await fresh.at("cs2").set(9)).to.equal(9);
    expect(await fresh.at("cs1").get()).to.equal(9);
  });
});

describe("DSM when the data server restarts during a workload (integration, real processes)", function () {
  this.timeout(180_000);
  let cluster: TestCluster;
  let reg: Remote<CrashRegister>;

  /** What the workload saw: acknowledged writes, stale reads, errors. */
  const seen = { lastAck: 0, acks: [] as number[], stale: [] as string[], errors: [] as string[] };

  /** One step: increment at cs1, then read at cs2. True if both succeeded. */
  async function step(): Promise<boolean> {
    let ok = true;
    try {
      const v = await reg.at("cs1").increment();
      if (v <= seen.lastAck) seen.stale.push(`increment at cs1 returned ${v} after a write of ${seen.lastAck} had returned`);
      seen.lastAck = Math.max(seen.lastAck, v);
      seen.acks.push(v);
    } catch (err) {
      seen.errors.push(`increment at cs1: ${messageOf(err)}`);
      ok = false;
    }
    const floor = seen.lastAck;
    try {
      const r = await reg.at("cs2").get();
      if (r < floor) seen.stale.push(`cs2 read ${r} after a write of ${floor} had returned`);
    } catch (err) {
      seen.errors.push(`get at cs2: ${messageOf(err)}`);
      ok = false;
    }
    return ok;
  }

  before(async () => {
    cluster = await TestCluster.start({ compute: 2 });
    const client = await cluster.connect();
    await client.load(CRASH_REGISTER);
    reg = await client.create<CrashRegister>("CrashRegister", "Workload");
  });

  after(async () => {
    await cluster?.stop();
  });

  it("should lose no returned write and serve no stale page across a kill -9 and restart of ds1", async () => {
    for (let i = 0; i < 10; i++) expect(await step(), seen.errors.join("\n")).to.equal(true);
    await cluster.kill("ds1");
    const repaired = settle(cluster.repair());
    let repairDone = false;
    void repaired.then(() => (repairDone = true));
    while (!repairDone) await step();
    const repair = await repaired;
    expect(repair.ok, repair.ok ? "" : repair.error.message).to.equal(true);
    const errorsWhileDown = seen.errors.splice(0);

    let inARow = 0;
    for (let i = 0; i < 40 && inARow < 10; i++) inARow = (await step()) ? inARow + 1 : 0;
    const errorsAfter = seen.errors.splice(0);
    console.log(`      ${seen.acks.length} writes returned; ${errorsWhileDown.length} invocations failed while ds1 was down, ${errorsAfter.length} after it was back`);
    for (const e of tally([...errorsWhileDown, ...errorsAfter])) console.log(`        ${e}`);

    expect(seen.stale, "reads or writes older than a returned write").to.deep.equal([]);
    expect(inARow, `no 10 clean steps in a row after the restart:\n${tally(errorsAfter).join("\n")}\nds1 log:\n${cluster.logs("ds1")}`).to.equal(10);

    const written = await reg.at("cs1").increment();
    expect(await reg.at("cs1").get(), "read at cs1").to.equal(written);
    expect(await reg.at("cs2").get(), "read at cs2").to.equal(written);
    expect(await reg.at("cs2").set(written + 100)).to.equal(written + 100);
    expect(await reg.at("cs1").get(), "read at cs1 of cs2's write").to.equal(written + 100);
    expect(tally(errorsWhileDown.filter((e) => !/\bds1\b/.test(e))), "errors that do not name ds1").to.deep.equal([]);
  });
});
