/**
 * Atomic threads (issue 12): an atomic transfer between two accounts next to the same
 * transfer as plain nested invocations (test/fixtures/atomic-account.ts: `transfer` vs
 * `transferPlain`, each a debit here and a nested deposit there), with the two accounts on
 * two data servers (the issue's figure: two-phase commit) and on one (one segment).
 *
 *   sequential   one client, A -> B then B -> A, p50 / p99 (interleaved rounds)
 *   throughput   32 transfers in flight between random pairs of 64 accounts, three rounds of
 *                2 s each way, interleaved (conflicts: wound-wait and retries count in the
 *                atomic figure; retries and wounds per atomic commit are printed)
 *
 * Targets from the issue: atomic p50 at most 2.5x the plain one; atomic throughput at least
 * 0.5x the plain one.
 */
import * as path from "node:path";
import { connect, type Cluster } from "../../shell/client/cluster.js";
import type { Remote } from "../../shell/client/remote.js";
import type { AtomicAccount } from "../fixtures/atomic-account.js";
import { readFileSync } from "node:fs";
import { REPO_ROOT, withBenchCluster, type BenchCluster } from "./bench-cluster.js";
import { histogramBound, ServerMetrics } from "./server-metrics.js";
import type { BenchReport } from "./bench-report.js";
import { formatLatency, timeInterleaved, warmUp } from "./latency.js";
import { homeOf } from "../../ra-kernel/ids.js";

const WARM_UP = 200;
const ROUNDS = 10;
const PER_ROUND = 100;
const ACCOUNTS = 64;
const IN_FLIGHT = 32;
const THROUGHPUT_MS = 2_000;
const THROUGHPUT_ROUNDS = 3;

type Account = Remote<AtomicAccount>;
type Kind = "transfer" | "transferPlain";

export async function atomicThreads(report: BenchReport): Promise<void> {
  for (const data of [2, 1]) {
    await withBenchCluster({ compute: 2, data }, async (bench) => {
      const cluster = await connect({ dir: bench.dir, workstation: "bench" });
      try {
        await cluster.load(path.join(REPO_ROOT, "test/fixtures/atomic-account.ts"));
        const where = data === 1 ? "one data server" : "two data servers";
        await sequential(cluster, report, where);
        await throughput(cluster, report, where, bench);
        if (data === 2) report.line(`${"two-phase commits (prepare to finish)".padEnd(40)} ${await twoPhaseLatency(bench)}`);
      } finally {
        await cluster.close();
      }
    });
  }
}

/**
 * `n` accounts; on two data servers, alternating between them (so a transfer between
 * neighbours, and half the random pairs, span both homes).
 */
async function accounts(cluster: Cluster, n: number, tag: string): Promise<Account[]> {
  const byHome = new Map<string, Account[]>();
  for (let i = 0, made = 0; made < n; i++) {
    const a = await cluster.create<AtomicAccount>("AtomicAccount", `BenchAtomic-${tag}-${i}`, [1_000_000]);
    const home = homeOf(a.sysname);
    const list = byHome.get(home) ?? [];
    if (list.length >= Math.ceil(n / 2) && byHome.size > 1) continue; // its home has its half: another one
    byHome.set(home, [...list, a]);
    made++;
  }
  const homes = [...byHome.values()];
  if (homes.length === 1) return homes[0];
  return Array.from({ length: n }, (_, i) => homes[i % 2][Math.floor(i / 2)]);
}

/** The p50 / p99 bucket bounds of the compute servers' two-phase commits (prepare to finish), from /metrics. */
async function twoPhaseLatency(bench: BenchCluster): Promise<string> {
  const token = readFileSync(path.join(bench.dir, "token"), "utf8").trim();
  const out: string[] = [];
  for (const s of bench.info.servers.filter((x: { role: string }) => x.role === "compute")) {
    const h = (await ServerMetrics.fetch(s.address, token)).histogram("atomic_two_phase_latency_us");
    out.push(`${s.id}: ${h[h.length - 1]?.count ?? 0} commits, p50 <= ${histogramBound(h, 0.5)} µs, p99 <= ${histogramBound(h, 0.99)} µs`);
  }
  return out.join("; ");
}

/** A transfer back and forth between two accounts: `i` even A -> B, odd B -> A. */
function pingPong(kind: Kind, a: Account, b: Account) {
  return (i: number) => (i % 2 === 0 ? a[kind](b, 1, "x") : b[kind](a, 1, "x"));
}

async function sequential(cluster: Cluster, report: BenchReport, where: string): Promise<void> {
  const [a, b, c, d] = await accounts(cluster, 4, `seq-${process.pid}`);
  const ops = { atomic: pingPong("transfer", a, b), plain: pingPong("transferPlain", c, d) };
  for (const op of Object.values(ops)) await warmUp(WARM_UP, op);
  const s = await timeInterleaved(ops, ROUNDS, PER_ROUND);
  const ratio = s.atomic.p50 / s.plain.p50;
  report.line(formatLatency(`plain nested transfer (${where})`, s.plain));
  report.line(`${formatLatency(`atomic transfer (${where})`, s.atomic)}   ratio p50 ${ratio.toFixed(2)}x plain, p99 ${(s.atomic.p99 / s.plain.p99).toFixed(2)}x`);
  report.target(`atomic transfer p50 <= 2.5x plain, ${where} (issue 12)`, ratio <= 2.5, `${ratio.toFixed(2)}x (${s.atomic.p50.toFixed(0)} / ${s.plain.p50.toFixed(0)} µs)`);
}

/** Atomic commits and retries on the compute servers, wounds on the data servers, from /metrics. */
async function contention(bench: BenchCluster): Promise<{ commits: number; retries: number; wounds: number }> {
  const token = readFileSync(path.join(bench.dir, "token"), "utf8").trim();
  const out = { commits: 0, retries: 0, wounds: 0 };
  for (const s of bench.info.servers) {
    if (s.role !== "compute" && s.role !== "data") continue;
    const m = await ServerMetrics.fetch(s.address, token);
    out.commits += m.value("atomic_commits_total") ?? 0;
    out.retries += m.value("atomic_retries_total") ?? 0;
    out.wounds += m.value("locks_wounds_total") ?? 0;
  }
  return out;
}

async function throughput(cluster: Cluster, report: BenchReport, where: string, bench: BenchCluster): Promise<void> {
  const all = await accounts(cluster, ACCOUNTS, `tp-${process.pid}`);
  const rate = async (kind: Kind): Promise<number> => {
    let done = 0, seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % ACCOUNTS;
    const end = performance.now() + THROUGHPUT_MS;
    await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
      while (performance.now() < end) {
        const from = next();
        const to = (from + 1 + (next() % (ACCOUNTS - 1))) % ACCOUNTS;
        await all[from][kind](all[to], 1, "x");
        done++;
      }
    }));
    return done / (THROUGHPUT_MS / 1000);
  };
  // Interleaved rounds: the machine's drift weighs on both alike.
  let plain = 0, atomic = 0;
  const before = await contention(bench);
  for (let round = 0; round < THROUGHPUT_ROUNDS; round++) {
    plain += (await rate("transferPlain")) / THROUGHPUT_ROUNDS;
    atomic += (await rate("transfer")) / THROUGHPUT_ROUNDS;
  }
  const after = await contention(bench);
  const ratio = atomic / plain;
  const perCommit = (n: number) => (n / Math.max(1, after.commits - before.commits)).toFixed(2);
  report.line(`${`${IN_FLIGHT} in flight over ${ACCOUNTS} accounts, ${where}`.padEnd(40)} plain ${plain.toFixed(0)}/s   atomic ${atomic.toFixed(0)}/s   ratio ${ratio.toFixed(2)}x` +
    `   (${after.commits - before.commits} atomic commits; per commit ${perCommit(after.retries - before.retries)} retries, ${perCommit(after.wounds - before.wounds)} wounds)`);
  report.target(`atomic transfers, 32 in flight >= 0.5x plain, ${where} (issue 12)`, ratio >= 0.5, `${ratio.toFixed(2)}x (${atomic.toFixed(0)} / ${plain.toFixed(0)} /s)`);
}
