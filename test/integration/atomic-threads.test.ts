/**
 * Atomic threads (`@entry({ atomic: true })`, ra-kernel/atomic-units.ts) on a real cluster:
 * a transfer's debit and deposit commit together; a throw anywhere in the thread (the root,
 * or a nested frame after its own writes) leaves nothing of it in any object; transfers both
 * ways at once between two accounts neither deadlock nor lose money (wound-wait, retries);
 * a kill -9 of the compute server running a stream of transfers, or of their data server,
 * loses none acknowledged and applies none twice. Over two data servers (two-phase commit):
 * the same, with kills of the coordinator and of each data server.
 */
import { expect } from "chai";
import * as path from "node:path";
import { homeOf } from "../../ra-kernel/ids.js";
import { CloudsError } from "../../ra-kernel/clouds-error.js";
import { TestCluster } from "../support/test-cluster.js";
import { REPO_ROOT } from "../support/compiled-examples.js";
import { expectRejection } from "../support/expect-rejection.js";
import type { Cluster } from "../../shell/client/cluster.js";
import type { Remote } from "../../shell/client/remote.js";
import type { AtomicAccount } from "../fixtures/atomic-account.js";

const ACCOUNT = path.join(REPO_ROOT, "test/fixtures/atomic-account.ts");

type Account = Remote<AtomicAccount>;

/**
 * `n` transfers each way at once between `a` and `b` (`send` from a on cs1, and from b on
 * cs2): all must commit, none lost or applied twice.
 */
async function bothWays(a: Account, b: Account, opening: number, n: number, send: (from: Account, to: Account, amount: number, id: string, server: string) => Promise<unknown>): Promise<void> {
  await Promise.all([
    (async () => { for (let i = 0; i < n; i++) await send(a, b, 3, `ab${i}`, "cs1"); })(),
    (async () => { for (let i = 0; i < n; i++) await send(b, a, 2, `ba${i}`, "cs2"); })(),
  ]);
  const [sa, sb] = [await a.state(), await b.state()];
  expect(sa.balance + sb.balance).to.equal(2 * opening);
  expect(sa.balance).to.equal(opening - 3 * n + 2 * n);
  const tallied = tally([sa, sb]);
  for (let i = 0; i < n; i++) {
    expect([tallied.get(`-ab${i}`), tallied.get(`+ab${i}`), tallied.get(`-ba${i}`), tallied.get(`+ba${i}`)], `transfer ${i}`).to.deep.equal([1, 1, 1, 1]);
  }
}

/** Every id an account applied, by sign: `+id` deposits, `-id` debits. */
function tally(states: { applied: string[] }[]): Map<string, number> {
  const n = new Map<string, number>();
  for (const s of states) for (const a of s.applied) n.set(a, (n.get(a) ?? 0) + 1);
  return n;
}

describe("atomic threads (integration, real processes)", function () {
  this.timeout(180_000);
  let cluster: TestCluster;
  let client: Cluster;
  let made = 0;

  before(async () => {
    cluster = await TestCluster.start({ compute: 2 });
    client = await cluster.connect();
    await client.load(ACCOUNT);
  });

  after(async () => {
    await cluster?.stop();
  });

  const account = (opening: number, c: Cluster = client): Promise<Account> => c.create<AtomicAccount>("AtomicAccount", `acct${++made}`, [opening]);

  it("should commit a transfer's debit and deposit together", async () => {
    const a = await account(100), b = await account(0);
    expect(await a.transfer(b, 30, "t1")).to.equal(70);
    expect(await a.state()).to.deep.equal({ balance: 70, applied: ["-t1"] });
    expect(await b.state()).to.deep.equal({ balance: 30, applied: ["+t1"] });
  });

  it("should leave nothing of a thread whose root throws after a nested deposit, and pass its error on", async () => {
    const a = await account(100), b = await account(5);
    const err = await expectRejection(a.transferThenThrow(b, 30, "t2"), CloudsError);
    expect(err.message).to.equal("changed my mind about t2");
    expect(await a.state()).to.deep.equal({ balance: 100, applied: [] });
    expect(await b.state()).to.deep.equal({ balance: 5, applied: [] });
    expect(await a.transfer(b, 1, "t3")).to.equal(99); // the accounts' monitors were given back
  });

  it("should roll back the writes in three objects when a nested frame throws after writing", async () => {
    const a = await account(100), b = await account(1), c = await account(2);
    const err = await expectRejection(a.spreadThenFail(b, c, 10, "t4"), CloudsError);
    expect(err.message).to.equal("deposit t4 failed after it credited");
    const states = await Promise.all([a, b, c].map((x) => x.state()));
    expect(states).to.deep.equal([{ balance: 100, applied: [] }, { balance: 1, applied: [] }, { balance: 2, applied: [] }]);
  });

  it("should have an atomic entry invoked inside an atomic thread join it: a throw after it returned rolls it back too", async () => {
    const r = await account(0), a = await account(50), b = await account(0);
    const err = await expectRejection(r.relayThenThrow(a, b, 20, "t5"), CloudsError);
    expect(err.message).to.equal("relay t5 failed after the inner transfer returned");
    const states = await Promise.all([r, a, b].map((x) => x.state()));
    expect(states).to.deep.equal([{ balance: 0, applied: [] }, { balance: 50, applied: [] }, { balance: 0, applied: [] }]);
  });

  it("should never show a non-atomic reader, here or on another server, the writes of atomic threads before they commit", async () => {
    const a = await account(100), b = await account(5);
    let stop = false, aborted = 0, committed = 0;
    const failures: string[] = [];
    let ended: () => void = () => undefined;
    const writer = (async () => {
      for (let i = 0; !stop && failures.length === 0; i++) {
        // Every other one aborts after both writes; the others commit, one way then the other.
        if (i % 2 === 0) await a.at("cs1").transferThenThrow(b, 7, `w${i}`).catch(() => aborted++);
        else await (i % 4 === 1 ? a : b).at("cs1").transfer(i % 4 === 1 ? b : a, 1, `u${i}`).then(() => committed++, (e: Error) => failures.push(e.message));
        ended();
      }
      stop = true;
      ended();
    })();
    const seen = new Set<string>();
    // Each round of reads races the writer's current thread (a read wounds it: it runs again),
    // then waits for that thread to end, so the writers are not kept from ever committing.
    while (!stop && (aborted < 20 || committed < 20)) {
      const next = new Promise<void>((resolve) => (ended = resolve));
      for (const [name, acct, server] of [["a", a, "cs2"], ["b", b, "cs2"], ["a", a, "cs1"], ["b", b, "cs1"]] as const) {
        const st = await acct.at(server).state();
        if (st.applied.some((x) => x.startsWith("-w") || x.startsWith("+w"))) seen.add(`${name}@${server}: ${JSON.stringify(st)}`);
      }
      await next;
    }
    stop = true;
    await writer;
    expect([...seen], "a reader saw a write of a thread that aborted").to.deep.equal([]);
    expect(failures, "committing transfers that failed").to.deep.equal([]);
    expect(aborted, "threads that aborted").to.be.at.least(20);
    expect((await a.state()).balance + (await b.state()).balance).to.equal(105);
    console.log(`      ${aborted} aborted and ${committed} committed atomic threads ran under the readers`);
  });

  it("should run transfers both ways at once between two accounts without deadlock or lost money", async () => {
    const a = await account(1000), b = await account(1000);
    const other = await cluster.connect();
    const [a2, b2] = [other.ref<AtomicAccount>(a.sysname), other.ref<AtomicAccount>(b.sysname)];
    const N = 25;
    // From two workstations: b's transfers come through the other connection.
    await bothWays(a, b, 1000, N, (from, to, amount, id, server) => (from === a ? a : b2).at(server).transfer(from === a ? b : a2, amount, id));
    const commits = await Promise.all(["cs1", "cs2"].map((id) => cluster.metric(id, "atomic_commits_total")));
    const retries = await Promise.all(["cs1", "cs2"].map((id) => cluster.metric(id, "atomic_retries_total")));
    console.log(`      atomic commits ${commits.join("+")}, retries ${retries.join("+")}, wounds at ds1 ${await cluster.metric("ds1", "locks_wounds_total")}`);
    expect(commits.reduce((x, y) => x + y, 0)).to.be.at.least(2 * N);
  });

  for (const victim of ["cs2", "ds1"]) {
    it(`should lose no acknowledged transfer and apply none twice across a kill -9 of ${victim === "cs2" ? "the compute server running them" : "their data server"}`, async () => {
      const accounts = await Promise.all([account(500), account(500), account(500)]);
      await transfersAcrossKill(cluster, client, accounts, victim, "cs2");
    });
  }
});

/**
 * A stream of transfers around `accounts` (each started at 500) run on `server`, `victim`
 * killed -9 and repaired in the middle: money conserved, every acknowledged transfer applied
 * once on both sides, every failed one on both sides or neither, as Cluster.outcome says.
 */
async function transfersAcrossKill(cluster: TestCluster, client: Cluster, accounts: Account[], victim: string, server: string): Promise<void> {
  const acked: string[] = [];
  const failed: string[] = [];
  const threads = new Map<string, string>();
  // The coordinator's retries (when it is not the victim: a restart resets its counters).
  const retries = () => (victim === server ? Promise.resolve(0) : cluster.metric(server, "atomic_retries_total"));
  const retriesBefore = await retries();
  let stop = false;
  const stream = (async () => {
    for (let i = 0; !stop; i++) {
      const from = accounts[i % accounts.length], to = accounts[(i + 1) % accounts.length];
      const id = `k${i}`;
      try {
        await from.at(server).transfer(to, 1, id);
        acked.push(id);
      } catch (err) {
        failed.push(id);
        threads.set(id, (err as { threadId?: string }).threadId ?? "");
      }
    }
  })();
  while (acked.length < 20) await new Promise((resolve) => setImmediate(resolve));
  await cluster.kill(victim);
  await cluster.repair();
  const after = acked.length;
  while (acked.length < after + 10) await new Promise((resolve) => setImmediate(resolve));
  stop = true;
  await stream;
  const states = await Promise.all(accounts.map((x) => x.state()));
  expect(states.reduce((s, x) => s + x.balance, 0), "money conserved").to.equal(500 * accounts.length);
  const n = tally(states);
  for (const id of acked) expect([n.get(`-${id}`), n.get(`+${id}`)], `acknowledged ${id}`).to.deep.equal([1, 1]);
  for (const id of failed) expect(JSON.stringify([n.get(`-${id}`) ?? 0, n.get(`+${id}`) ?? 0]), `failed ${id}`).to.be.oneOf(["[0,0]", "[1,1]"]);
  // A kill fails the transfers it caught — or, a data server's, may only have them run again
  // (their pages were lost), unknown to their callers.
  const retried = (await retries()) - retriesBefore;
  expect(failed.length + retried, "the kill failed some transfers or had them run again").to.be.greaterThan(0);
  // The cluster says which way each failed one went, and it is the way the accounts went.
  const said: string[] = [];
  for (const id of failed) {
    expect(threads.get(id), `the error of ${id} names its thread`).to.match(/^t:/);
    said.push(await client.outcome(threads.get(id)!));
    expect(said[said.length - 1], `outcome of failed ${id}`).to.equal(n.get(`-${id}`) ? "committed" : "aborted");
  }
  console.log(`      ${acked.length} acknowledged; ${failed.length} failed, of which the cluster says ${said.filter((x) => x === "committed").length} committed; ${retried} run again`);
}

describe("atomic threads over two data servers (two-phase commit)", function () {
  this.timeout(240_000);
  let cluster: TestCluster;
  let client: Cluster;
  let made = 0;

  before(async () => {
    cluster = await TestCluster.start({ compute: 2, data: 2 });
    client = await cluster.connect();
    await client.load(ACCOUNT);
  });

  after(async () => {
    await cluster?.stop();
  });

  /** `n` accounts (opening balance each), alternating between the two data servers. */
  async function accountsOnBothHomes(n: number, opening: number): Promise<Account[]> {
    const byHome = new Map<string, Account[]>();
    for (let i = 0; [...byHome.values()].filter((l) => l.length >= Math.ceil(n / 2)).length < 2; i++) {
      if (i > 20 * n) throw new Error("objects were not spread over both data servers");
      const a = await client.create<AtomicAccount>("AtomicAccount", `two${++made}`, [opening]);
      const home = homeOf(a.sysname);
      byHome.set(home, [...(byHome.get(home) ?? []), a]);
    }
    const [x, y] = [...byHome.values()];
    return Array.from({ length: n }, (_, i) => (i % 2 === 0 ? x : y)[Math.floor(i / 2)]);
  }

  it("should commit a transfer between accounts on two data servers, both sides", async () => {
    const [a, b] = await accountsOnBothHomes(2, 100);
    expect(homeOf(a.sysname)).to.not.equal(homeOf(b.sysname));
    const before = (await cluster.metric("ds1", "atomic_parts_committed_total")) + (await cluster.metric("ds2", "atomic_parts_committed_total"));
    expect(await a.transfer(b, 30, "x1")).to.equal(70);
    expect(await a.state()).to.deep.equal({ balance: 70, applied: ["-x1"] });
    expect(await b.state()).to.deep.equal({ balance: 130, applied: ["+x1"] });
    const after = (await cluster.metric("ds1", "atomic_parts_committed_total")) + (await cluster.metric("ds2", "atomic_parts_committed_total"));
    expect(after - before, "parts prepared and committed at a participant").to.equal(1);
  });

  it("should roll back writes in three objects on two data servers when a nested frame throws, as seen from another compute server", async () => {
    const [a, b, c] = await accountsOnBothHomes(3, 10);
    const err = await expectRejection(a.at("cs1").spreadThenFail(b, c, 5, "x2"), CloudsError);
    expect(err.message).to.equal("deposit x2 failed after it credited");
    const states = await Promise.all([a, b, c].map((x) => x.at("cs2").state()));
    expect(states).to.deep.equal([{ balance: 10, applied: [] }, { balance: 10, applied: [] }, { balance: 10, applied: [] }]);
  });

  it("should run transfers both ways at once across the two data servers from two compute servers: all commit, none lost", async () => {
    const [a, b] = await accountsOnBothHomes(2, 1000);
    await bothWays(a, b, 1000, 20, (from, to, amount, id, server) => from.at(server).transfer(to, amount, id));
  });

  it("should commit a transfer whose deposit runs on another compute server (a branch of the thread), both sides", async () => {
    const [a, b] = await accountsOnBothHomes(2, 100);
    const branches = await cluster.metric("cs2", "atomic_branches_committed_total");
    expect(await a.at("cs1").transferVia(b, 30, "v1", "cs2")).to.equal(70);
    expect(await cluster.metric("cs2", "atomic_branches_committed_total"), "the deposit ran in a branch on cs2").to.equal(branches + 1);
    expect(await a.at("cs2").state()).to.deep.equal({ balance: 70, applied: ["-v1"] });
    expect(await b.at("cs1").state()).to.deep.equal({ balance: 130, applied: ["+v1"] });
    // The branch's monitors were given back: the next thread takes them at once.
    expect(await b.at("cs2").transferVia(a, 5, "v2", "cs1")).to.equal(125);
  });

  it("should roll back writes in three objects on two data servers and two compute servers when a nested frame on the other compute server throws", async () => {
    const [a, b, c] = await accountsOnBothHomes(3, 10);
    const err = await expectRejection(a.at("cs1").spreadViaThenFail(b, c, 5, "v3", "cs2"), CloudsError);
    expect(err.message).to.equal("deposit v3 failed after it credited");
    for (const server of ["cs1", "cs2"]) {
      const states = await Promise.all([a, b, c].map((x) => x.at(server).state()));
      expect(states, `as read on ${server}`).to.deep.equal([{ balance: 10, applied: [] }, { balance: 10, applied: [] }, { balance: 10, applied: [] }]);
    }
  });

  it("should run transfers with branches both ways at once, from two compute servers each sending its deposits to the other: all commit", async () => {
    const [a, b] = await accountsOnBothHomes(2, 1000);
    await bothWays(a, b, 1000, 15, (from, to, amount, id, server) => from.at(server).transferVia(to, amount, id, server === "cs1" ? "cs2" : "cs1"));
  });

  it("should apply nothing of a thread whose branch's compute server is killed -9 while the branch runs, and give its monitors back", async () => {
    const [a, b] = await accountsOnBothHomes(2, 100);
    const begun = await cluster.metric("cs1", "atomic_branches_begun_total");
    const call = a.at("cs2").transferViaSlowly(b, 7, "s1", "cs1", 5000).then(() => "acknowledged", (err: Error & { threadId?: string }) => err);
    while ((await cluster.metric("cs1", "atomic_branches_begun_total")) === begun) await new Promise((resolve) => setTimeout(resolve, 20));
    await cluster.kill("cs1");
    const result = await call;
    await cluster.repair();
    const [sa, sb] = [await a.at("cs2").state(), await b.at("cs2").state()];
    expect(sa.balance + sb.balance, "money conserved").to.equal(200);
    console.log(`      the transfer: ${typeof result === "string" ? result : `${result.name}: ${result.message}`}`);
    if (typeof result === "string") {
      expect([sa, sb]).to.deep.equal([{ balance: 93, applied: ["-s1"] }, { balance: 107, applied: ["+s1"] }]); // run again after the repair
    } else {
      expect([sa, sb], `failed (${result.message}): nothing applied`).to.deep.equal([{ balance: 100, applied: [] }, { balance: 100, applied: [] }]);
      expect(await client.outcome(result.threadId!)).to.equal("aborted");
    }
    // The dead branch's monitor of b came back with cs1's lease: b is free for the next thread.
    expect(await b.at("cs2").transfer(a, 1, "s2")).to.equal(result === "acknowledged" ? 106 : 99);
  });

  it("should show readers only committed states while transfers run across homes: the same sum to an atomic reader and to a non-atomic one holding a monitor, and never an aborted write to a plain one", async () => {
    const [a, b] = await accountsOnBothHomes(2, 500);
    let stop = false;
    let aborted = 0;
    const writers = Promise.all([
      (async () => { for (let i = 0; !stop; i++) await a.at("cs1").transferVia(b, 1 + (i % 3), `ra${i}`, "cs2"); })(),
      (async () => { for (let i = 0; !stop; i++) await b.at("cs2").transfer(a, 1 + (i % 2), `rb${i}`); })(),
      // These always abort after both writes (one with its deposit in a branch on cs2).
      (async () => {
        for (let i = 0; !stop; i++) {
          const attempt = i % 2 === 0 ? a.at("cs1").transferThenThrow(b, 50, `x${i}`) : b.at("cs1").spreadViaThenFail(a, a, 50, `x${i}`, "cs2");
          await attempt.then(() => { throw new Error(`x${i} committed`); }, (err: Error) => { if (/committed$/.test(err.message)) throw err; aborted++; });
        }
      })(),
    ]);
    const sums: number[] = [];
    const plainSums: number[] = [];
    const seen: string[] = [];
    for (let round = 0; round < 60 || aborted < 10; round++) {
      sums.push(await (round % 2 === 0 ? a.at("cs1").sumWith(b) : b.at("cs2").sumWith(a)));
      plainSums.push(await (round % 2 === 0 ? b.at("cs1").sumHolding(a) : a.at("cs2").sumHolding(b)));
      // A plain read holds no monitor: it may see one account's pages from two commits, but
      // never a write of a thread that aborted.
      for (const acct of [a, b]) {
        const st = await acct.at(round % 2 === 0 ? "cs2" : "cs1").state();
        if (st.applied.some((x) => /^[+-]x/.test(x))) seen.push(JSON.stringify(st));
      }
    }
    stop = true;
    await writers;
    expect(new Set(sums), "every atomic reader's sum").to.deep.equal(new Set([1000]));
    expect(new Set(plainSums), "every non-atomic reader's sum (it holds one account's monitor)").to.deep.equal(new Set([1000]));
    expect(seen, "plain reads that saw a write of an aborted thread").to.deep.equal([]);
    const [sa, sb] = [await a.state(), await b.state()];
    expect(sa.balance + sb.balance).to.equal(1000);
    console.log(`      ${sums.length} atomic and ${plainSums.length} monitor-holding sums, ${2 * sums.length} plain reads, ${aborted} aborted threads`);
  });

  for (const victim of ["cs2", "ds1", "ds2"]) {
    it(`should lose no acknowledged transfer across homes and apply none twice across a kill -9 of ${victim === "cs2" ? "the coordinator's compute server" : `data server ${victim}`}`, async () => {
      const accounts = await accountsOnBothHomes(4, 500);
      await transfersAcrossKill(cluster, client, accounts, victim, "cs2");
      // Nothing stays prepared: a part whose coordinator died is resolved with its log home.
      for (const ds of ["ds1", "ds2"]) {
        const deadline = performance.now() + 60_000;
        let left = await cluster.metric(ds, "atomic_parts_prepared_now");
        for (; left > 0 && performance.now() < deadline; left = await cluster.metric(ds, "atomic_parts_prepared_now")) await new Promise((resolve) => setTimeout(resolve, 200));
        expect(left, `parts still prepared at ${ds} a minute later`).to.equal(0);
      }
    });
  }
});

/**
 * Two-phase commit held at its worst moments (CLOUDS_TEST_2PC_PAUSE: every compute server of
 * the cluster waits there), and a server killed -9 right then: the thread must end committed
 * everywhere or aborted everywhere, as Cluster.outcome says, and nothing stays prepared.
 */
for (const point of ["prepared", "decided"] as const) {
  describe(`two-phase commit held once ${point}, a server killed -9 there`, function () {
    this.timeout(240_000);
    let cluster: TestCluster;
    let client: Cluster;
    let made = 0;

    before(async () => {
      process.env.CLOUDS_TEST_2PC_PAUSE = `${point}:4000`; // the servers (and the repairs) inherit it
      cluster = await TestCluster.start({ compute: 2, data: 2 });
      client = await cluster.connect();
      await client.load(ACCOUNT);
    });

    after(async () => {
      delete process.env.CLOUDS_TEST_2PC_PAUSE;
      await cluster?.stop();
    });

    /** Two accounts of 100, one on each data server. */
    async function pair(): Promise<[Account, Account]> {
      const made2: Account[] = [];
      for (let i = 0; i < 20 && new Set(made2.map((m) => homeOf(m.sysname))).size < 2; i++) made2.push(await client.create<AtomicAccount>("AtomicAccount", `held${++made}`, [100], { at: "cs2" }));
      const a = made2[0], b = made2.find((m) => homeOf(m.sysname) !== homeOf(a.sysname));
      if (!b) throw new Error("objects were not spread over both data servers");
      return [a, b];
    }

    const metricSum = async (name: string) => (await cluster.metric("ds1", name)) + (await cluster.metric("ds2", name));

    /** Resolves once the transfer reached `point` (a part prepared; the decision stored). */
    async function reached(before: number): Promise<void> {
      const name = point === "prepared" ? "atomic_parts_prepared_now" : "atomic_decisions_commit_total";
      while ((await metricSum(name)) <= before) await new Promise((resolve) => setTimeout(resolve, 20));
    }

    async function settledEverywhere(): Promise<void> {
      const deadline = Date.now() + 60_000;
      while ((await metricSum("atomic_parts_prepared_now")) > 0) {
        if (Date.now() > deadline) throw new Error("a part is still prepared a minute after the kill");
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }

    it(`should end the thread ${point === "prepared" ? "aborted" : "committed"} everywhere when its coordinator is killed there`, async () => {
      const [a, b] = await pair();
      const before = point === "prepared" ? 0 : await metricSum("atomic_decisions_commit_total");
      const call = a.at("cs1").transfer(b, 10, "k1").then(() => null, (err: Error & { threadId?: string }) => err);
      await reached(before);
      await cluster.kill("cs1");
      const err = await call;
      expect(err, "the caller lost its reply").to.not.equal(null);
      await cluster.repair();
      await settledEverywhere();
      const states = [await a.at("cs2").state(), await b.at("cs2").state()];
      const committed = point === "decided";
      expect(states).to.deep.equal(committed
        ? [{ balance: 90, applied: ["-k1"] }, { balance: 110, applied: ["+k1"] }]
        : [{ balance: 100, applied: [] }, { balance: 100, applied: [] }]);
      expect(await client.outcome(err!.threadId!)).to.equal(committed ? "committed" : "aborted");
      expect(await b.at("cs2").transfer(a, 1, "k2"), "the dead coordinator's monitors came back").to.equal(committed ? 109 : 99);
    });

    it(`should end the thread the same everywhere when the participant holding a prepared part is killed ${point === "prepared" ? "before the decision" : "after it"}`, async () => {
      const [a, b] = await pair();
      const before = point === "prepared" ? 0 : await metricSum("atomic_decisions_commit_total");
      const call = a.at("cs1").transfer(b, 10, "k3").then(() => null, (err: Error & { threadId?: string }) => err);
      await reached(before);
      const victim = (await cluster.metric("ds1", "atomic_parts_prepared_now")) > 0 ? "ds1" : "ds2";
      await cluster.kill(victim);
      await cluster.repair();
      const err = await call;
      await settledEverywhere();
      const states = [await a.at("cs2").state(), await b.at("cs2").state()];
      const said = err === null ? "committed" : await client.outcome(err.threadId!);
      expect(states, `the thread ${said} (${err?.message ?? "acknowledged"})`).to.deep.equal(said === "committed"
        ? [{ balance: 90, applied: ["-k3"] }, { balance: 110, applied: ["+k3"] }]
        : [{ balance: 100, applied: [] }, { balance: 100, applied: [] }]);
      // The decision is durable before the pause: killing a participant after it cannot abort it.
      if (point === "decided") expect(said).to.equal("committed");
      console.log(`      ${victim} killed: the thread ${said}${err ? ` (the caller got ${err.name})` : ""}`);
    });
  });
}
